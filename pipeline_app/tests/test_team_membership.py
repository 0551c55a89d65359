"""Leaving a team: the removed member's opportunities of that team become unassigned (owner cleared,
to-do cancelled, a timeline note), in bulk, and stay saveable; the team's boards reload."""

import frappe
from frappe.desk.form import assign_to
from frappe.tests.utils import FrappeTestCase

from pipeline_app.realtime import BOARD_EVENT
from pipeline_app.tests.counters import forget_queued_events, queued_events
from pipeline_app.tests.factories import make_opportunity, make_team, make_user

DOCTYPE = "Pipeline Opportunity"


class TestTeamMembership(FrappeTestCase):
	def setUp(self):
		self.seller = make_user()
		self.colleague = make_user()
		self.team = make_team(members=[self.seller, self.colleague])
		self.other_team = make_team(members=[self.seller])

	def remove(self, user):
		team = frappe.get_doc("Pipeline Team", self.team.name)
		team.members = [member for member in team.members if member.user != user]
		team.save()

	def owner(self, name):
		return frappe.db.get_value(DOCTYPE, name, "opportunity_owner")

	def todos(self, name, user):
		return frappe.get_all(
			"ToDo", {"reference_type": DOCTYPE, "reference_name": name, "allocated_to": user}, pluck="status"
		)

	def notes(self, name):
		return frappe.get_all(
			"Comment",
			{"reference_doctype": DOCTYPE, "reference_name": name, "comment_type": "Info"},
			pluck="content",
		)

	def test_removed_member_opportunities_are_unassigned_and_saveable(self):
		mine = [make_opportunity(self.team.name, opportunity_owner=self.seller) for _ in range(2)]
		self.assertEqual(self.todos(mine[0].name, self.seller), ["Open"])
		self.remove(self.seller)
		for doc in mine:
			self.assertIsNone(self.owner(doc.name))
			self.assertEqual(self.todos(doc.name, self.seller), ["Cancelled"])
			self.assertEqual(frappe.parse_json(frappe.db.get_value(DOCTYPE, doc.name, "_assign")), [])
			notes = self.notes(doc.name)
			self.assertEqual(len(notes), 1)
			self.assertIn(self.seller, notes[0])
			self.assertIn(self.team.name, notes[0])
		# the owner-must-be-member rule no longer refuses the save
		doc = frappe.get_doc(DOCTYPE, mine[0].name)
		doc.description = "still workable"
		doc.save()
		self.assertEqual(frappe.db.get_value(DOCTYPE, doc.name, "description"), "still workable")

	def test_others_and_other_teams_are_left_alone(self):
		colleagues = make_opportunity(self.team.name, opportunity_owner=self.colleague)
		elsewhere = make_opportunity(self.other_team.name, opportunity_owner=self.seller)
		self.remove(self.seller)
		self.assertEqual(self.owner(colleagues.name), self.colleague)
		self.assertEqual(self.owner(elsewhere.name), self.seller)
		self.assertEqual(self.todos(elsewhere.name, self.seller), ["Open"])
		self.assertEqual(self.notes(colleagues.name), [])
		self.assertEqual(self.notes(elsewhere.name), [])

	def test_a_removed_member_follows_none_of_the_teams_opportunities(self):
		"""Frappe's Document Follow digest would keep mailing the team's changes to someone outside it."""
		theirs = make_opportunity(self.team.name)
		elsewhere = make_opportunity(self.other_team.name)
		for doc in (theirs, elsewhere):
			frappe.get_doc(
				{
					"doctype": "Document Follow",
					"ref_doctype": DOCTYPE,
					"ref_docname": doc.name,
					"user": self.seller,
				}
			).insert(ignore_permissions=True)
		self.remove(self.seller)
		followed = frappe.get_all(
			"Document Follow", {"user": self.seller, "ref_doctype": DOCTYPE}, pluck="ref_docname"
		)
		self.assertEqual(followed, [elsewhere.name])

	def test_a_save_that_removes_no_one_unassigns_nothing(self):
		doc = make_opportunity(self.team.name, opportunity_owner=self.seller)
		team = frappe.get_doc("Pipeline Team", self.team.name)
		team.description = "renamed nothing"
		team.append("members", {"user": make_user()})
		team.save()
		self.assertEqual(self.owner(doc.name), self.seller)
		self.assertEqual(self.notes(doc.name), [])

	def test_other_assignees_stay_assigned(self):
		doc = make_opportunity(self.team.name, opportunity_owner=self.seller)
		assign_to.add(
			{"assign_to": [self.colleague], "doctype": DOCTYPE, "name": doc.name}, ignore_permissions=True
		)
		self.remove(self.seller)
		self.assertEqual(
			frappe.parse_json(frappe.db.get_value(DOCTYPE, doc.name, "_assign")), [self.colleague]
		)
		self.assertEqual(self.todos(doc.name, self.colleague), ["Open"])

	def test_the_team_boards_reload(self):
		make_opportunity(self.team.name, opportunity_owner=self.seller)
		forget_queued_events()  # only what the removal publishes
		self.remove(self.seller)
		refreshes = [
			room
			for event, message, room in queued_events()
			if event == BOARD_EVENT and message["action"] == "refresh" and message["team"] == self.team.name
		]
		self.assertIn(f"user:{self.colleague}", refreshes)

	def test_thousands_of_opportunities_are_unassigned_in_bulk(self):
		stage = frappe.db.get_value("Funnel Stage", {"team": self.team.name}, "name")
		now = frappe.utils.now_datetime()
		names = [f"MEMBER-{frappe.generate_hash(length=8)}-{i:04d}" for i in range(2500)]
		frappe.db.bulk_insert(
			DOCTYPE,
			[
				"name",
				"title",
				"team",
				"stage",
				"status",
				"opportunity_owner",
				"creation",
				"modified",
				"owner",
			],
			[(n, n, self.team.name, stage, "Open", self.seller, now, now, "Administrator") for n in names],
		)
		team = frappe.get_doc("Pipeline Team", self.team.name)
		team.members = [member for member in team.members if member.user != self.seller]
		with self.assertQueryCount(80):  # batches of statements, not a query per opportunity
			team.save()
		self.assertEqual(
			frappe.db.count(DOCTYPE, {"team": self.team.name, "opportunity_owner": self.seller}), 0
		)
		self.assertEqual(
			frappe.db.count("Comment", {"reference_doctype": DOCTYPE, "reference_name": ("in", names)}),
			len(names),
		)
