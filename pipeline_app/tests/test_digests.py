"""Digests: what a user follows (owned, followed one by one, whole teams), once per period, only what
they may read, the off switch and the weekday, by email through a real SMTP server, and the follow
endpoints' permissions."""

import email

import frappe
from frappe.tests.utils import FrappeTestCase, change_settings
from frappe.utils import add_days, add_to_date, get_datetime, now_datetime

from pipeline_app.api import follow_opportunity, follow_team, get_following
from pipeline_app.automation.digests import WEEKDAYS, period_key, send_digests
from pipeline_app.tests.counters import forget_queued_events, queued_events
from pipeline_app.tests.factories import (
	make_opportunity,
	make_team,
	make_user,
	other_connection,
	purge_team,
	stage_named,
)
from pipeline_app.tests.http_client import Client, message
from pipeline_app.tests.mail import LoopbackSmtp


class TestDigests(FrappeTestCase):
	def setUp(self):
		self.seller = make_user()
		self.colleague = make_user()
		self.outsider = make_user()
		self.team = make_team(members=[self.seller, self.colleague]).name
		self.other = make_team(members=[self.outsider]).name
		self.now = get_datetime(f"{add_days(now_datetime(), 2).date()} 00:05:00")
		for user in (self.seller, self.colleague, self.outsider):
			self.subscribe(user, "Daily")
		frappe.db.commit()

	def tearDown(self):
		frappe.set_user("Administrator")
		users = (self.seller, self.colleague, self.outsider)
		frappe.db.delete("Pipeline Digest", {"user": ("in", users)})
		frappe.db.delete("Pipeline Digest Subscription", {"user": ("in", users)})
		frappe.db.delete("Pipeline Digest Team", {"parent": ("in", users)})
		frappe.db.delete("Document Follow", {"user": ("in", users)})
		purge_team(self.team, self.other)

	def subscribe(self, user, frequency, weekday="Monday", teams=()):
		frappe.set_user(user)
		doc = frappe.get_doc(
			{
				"doctype": "Pipeline Digest Subscription",
				"user": user,
				"frequency": frequency,
				"weekday": weekday,
				"teams": [{"team": team} for team in teams],
			}
		)
		if frappe.db.exists("Pipeline Digest Subscription", user):
			doc = frappe.get_doc("Pipeline Digest Subscription", user)
			doc.update({"frequency": frequency, "weekday": weekday, "teams": [{"team": t} for t in teams]})
		doc.save()
		frappe.set_user("Administrator")

	def digest(self, user):
		names = frappe.get_all("Pipeline Digest", {"user": user}, pluck="name")
		self.assertLessEqual(len(names), 1)
		return frappe.get_doc("Pipeline Digest", names[0]) if names else None

	def at(self, hours_before):
		return self.freeze_time(add_to_date(self.now, hours=-hours_before))

	def busy_day(self):
		"""In the day before `self.now`: a move, a win and a loss of the seller's opportunities, a
		colleague's move; an overdue follow-up, an appointment tomorrow, one about to be abandoned."""
		with self.at(30):  # before the period
			moved = make_opportunity(self.team, title="Moved <b>deal</b>", opportunity_owner=self.seller)
			won = make_opportunity(self.team, title="Won deal", opportunity_owner=self.seller)
			lost = make_opportunity(self.team, title="Lost deal", opportunity_owner=self.seller)
			theirs = make_opportunity(self.team, title="Colleague's deal", opportunity_owner=self.colleague)
			due = make_opportunity(
				self.team,
				title="Call back",
				opportunity_owner=self.seller,
				follow_up_on=add_to_date(self.now, hours=-20),
			)
		reason = frappe.get_all("Pipeline Lost Reason", pluck="name")[0]
		with self.at(10):
			for doc, values in (
				(moved, {"stage": stage_named(self.team, "Qualification")}),
				(won, {"status": "Won"}),
				(lost, {"status": "Lost", "lost_reason": reason}),
				(theirs, {"stage": stage_named(self.team, "Proposal")}),
			):
				doc.reload()
				doc.update(values)
				doc.save()
			frappe.get_doc(
				{
					"doctype": "Pipeline Appointment",
					"opportunity": due.name,
					"starts_at": add_to_date(self.now, hours=10),
				}
			).insert()
		frappe.db.set_value("Pipeline Opportunity", won.name, "abandons_on", None)
		silent = make_opportunity(self.team, title="Silent lead", opportunity_owner=self.seller)
		frappe.db.set_value("Pipeline Opportunity", silent.name, "abandons_on", add_days(self.now, 2))
		frappe.db.commit()
		return frappe._dict(moved=moved, won=won, lost=lost, theirs=theirs, due=due, silent=silent)

	def test_owners_hear_of_their_own_opportunities_in_the_desk_and_once_per_period(self):
		docs = self.busy_day()
		self.assertGreaterEqual(send_digests(run_at=self.now), 1)
		digest = self.digest(self.seller)
		self.assertEqual(digest.period, str(self.now.date()))
		self.assertEqual(
			(
				digest.moved_count,
				digest.won_count,
				digest.lost_count,
				digest.overdue_count,
				digest.appointment_count,
				digest.abandoning_count,
			),
			(1, 1, 1, 1, 1, 1),
		)
		for doc in (docs.moved, docs.won, docs.lost, docs.due, docs.silent):
			self.assertIn(f"/app/pipeline-opportunity/{doc.name}", digest.content)
		self.assertNotIn(docs.theirs.name, digest.content)  # not the seller's, not followed
		self.assertIn("Moved &lt;b&gt;deal&lt;/b&gt;", digest.content)  # escaped
		self.assertIn("New → Qualification", digest.content)  # stage names, not record names
		bell = frappe.get_all(
			"Notification Log",
			{"for_user": self.seller, "document_type": "Pipeline Digest"},
			pluck="document_name",
		)
		self.assertEqual(bell, [digest.name])
		# the colleague owns one that moved
		self.assertEqual(self.digest(self.colleague).moved_count, 1)
		# the outsider has nothing: no empty digest
		self.assertIsNone(self.digest(self.outsider))

		# the job again, the same day: nothing more
		self.assertEqual(send_digests(run_at=add_to_date(self.now, hours=5)), 0)
		self.assertEqual(frappe.db.count("Pipeline Digest", {"user": self.seller}), 1)

	def test_a_run_that_loses_the_race_sends_nothing(self):
		self.busy_day()
		other = other_connection()
		try:  # another worker sends the seller's digest for the same period first
			other.sql(
				"""insert into `tabPipeline Digest` (name, user, period, frequency, creation, modified)
				values ('race', %s, %s, 'Daily', now(), now())""",
				(self.seller, period_key("Daily", self.now)),
			)
			other.commit()
		finally:
			other.close()
		send_digests(run_at=self.now)
		self.assertEqual(frappe.get_all("Pipeline Digest", {"user": self.seller}, pluck="name"), ["race"])
		self.assertFalse(
			frappe.db.exists(
				"Notification Log", {"for_user": self.seller, "document_type": "Pipeline Digest"}
			)
		)

	def test_followers_of_a_team_or_an_opportunity_hear_only_what_they_may_read(self):
		docs = self.busy_day()
		# the colleague follows the seller's won deal, the outsider tries to follow the team
		frappe.set_user(self.colleague)
		follow_opportunity(docs.won.name)
		self.assertTrue(get_following(name=docs.won.name)["opportunity"])
		frappe.set_user(self.outsider)
		with self.assertRaises(frappe.DoesNotExistError):
			follow_team(self.team)
		with self.assertRaises(frappe.DoesNotExistError):
			follow_opportunity(docs.won.name)
		with self.assertRaises(frappe.ValidationError):
			self.subscribe(self.outsider, "Daily", teams=[self.team])
		frappe.set_user("Administrator")
		frappe.db.commit()
		send_digests(run_at=self.now)
		colleague = self.digest(self.colleague)
		self.assertEqual((colleague.won_count, colleague.moved_count), (1, 1))  # the win, their own move
		self.assertIn(docs.won.name, colleague.content)
		self.assertNotIn(docs.lost.name, colleague.content)
		self.assertIsNone(self.digest(self.outsider))

		# following the whole team: the next day's digest tells of everything in it
		frappe.db.delete("Pipeline Digest")
		frappe.set_user(self.colleague)
		follow_team(self.team)
		self.assertTrue(get_following(team=self.team)["team"])
		frappe.set_user("Administrator")
		frappe.db.commit()
		send_digests(run_at=self.now)
		colleague = self.digest(self.colleague)
		self.assertEqual((colleague.won_count, colleague.lost_count, colleague.overdue_count), (1, 1, 1))
		self.assertIn(docs.lost.name, colleague.content)

		# a follower who leaves the team hears nothing more of it, whatever they follow
		frappe.db.delete("Pipeline Digest")
		team = frappe.get_doc("Pipeline Team", self.team)
		team.members = [row for row in team.members if row.user != self.colleague]
		team.save()
		frappe.db.commit()
		send_digests(run_at=self.now)
		self.assertIsNone(self.digest(self.colleague))

	def test_a_follower_restricted_beyond_the_team_rule_hears_only_what_they_may_read(self):
		docs = self.busy_day()
		self.subscribe(self.colleague, "Daily", teams=[self.team])
		frappe.get_doc(
			{
				"doctype": "User Permission",
				"user": self.colleague,
				"allow": "Pipeline Opportunity",
				"for_value": docs.won.name,
				"apply_to_all_doctypes": 1,
			}
		).insert(ignore_permissions=True)
		frappe.db.commit()
		try:
			send_digests(run_at=self.now)
			colleague = self.digest(self.colleague)
			self.assertIn(docs.won.name, colleague.content)
			for doc in (docs.lost, docs.moved, docs.due, docs.silent, docs.theirs):
				self.assertNotIn(doc.name, colleague.content)
			self.assertEqual(
				(colleague.won_count, colleague.lost_count, colleague.moved_count, colleague.overdue_count),
				(1, 0, 0, 0),
			)
		finally:
			frappe.db.delete("User Permission", {"user": self.colleague})
			frappe.db.commit()

	def test_the_off_switch_the_weekday_and_the_default(self):
		self.busy_day()
		self.subscribe(self.seller, "Off")
		self.subscribe(self.colleague, "Weekly", weekday=WEEKDAYS[(self.now.weekday() + 1) % 7])
		frappe.db.commit()
		send_digests(run_at=self.now)
		self.assertIsNone(self.digest(self.seller))
		self.assertIsNone(self.digest(self.colleague))
		# on their weekday: the week's news, under the week's period
		tomorrow = add_days(self.now, 1)
		send_digests(run_at=tomorrow)
		weekly = self.digest(self.colleague)
		self.assertEqual((weekly.frequency, weekly.period), ("Weekly", period_key("Weekly", tomorrow)))
		self.assertEqual(weekly.moved_count, 1)
		# without a subscription: the site's default
		frappe.db.delete("Pipeline Digest Subscription", {"user": self.seller})
		frappe.db.commit()
		with change_settings("Pipeline Settings", digest_default_frequency="Daily"):
			send_digests(run_at=self.now)
		self.assertTrue(self.digest(self.seller))

	def test_the_digest_is_emailed_through_smtp_where_outgoing_mail_is_set_up(self):
		smtp = LoopbackSmtp().start()
		try:
			smtp.set_up_outgoing_mail()
			frappe.db.commit()
			docs = self.busy_day()
			before = len(smtp.received)
			send_digests(run_at=self.now)
			for name in frappe.get_all(
				"Email Queue", {"reference_doctype": "Pipeline Digest", "status": "Not Sent"}, pluck="name"
			):
				frappe.get_doc("Email Queue", name).send()
			mails = [
				email.message_from_string(raw)
				for recipients, raw in smtp.received[before:]
				if recipients == [self.seller]
			]
			self.assertEqual(len(mails), 1)
			self.assertIn("daily pipeline digest", mails[0]["Subject"])
			html = next(part for part in mails[0].walk() if part.get_content_type() == "text/html")
			body = html.get_payload(decode=True).decode()
			self.assertIn(f"/app/pipeline-opportunity/{docs.silent.name}", body)
			self.assertIn(f"/app/pipeline-digest-subscription/{self.seller}", body)  # the off switch
		finally:
			smtp.stop()

	def test_their_list_updates_go_to_their_user_only(self):
		"""Frappe would send a save's list_update to the doctype's room, which every Pipeline User may
		join: a subscription's name is its user's email, so it goes to that user's room instead."""
		forget_queued_events()
		self.subscribe(self.seller, "Daily", teams=[self.team])
		frappe.get_doc(
			{"doctype": "Pipeline Digest", "user": self.seller, "period": "test", "frequency": "Daily"}
		).insert(ignore_permissions=True)
		logged = queued_events()
		self.assertFalse(
			[
				room
				for event, message, room in logged
				if event == "list_update" and "Digest" in message["doctype"]
			]
		)
		queued = {  # emitted by after-commit callbacks (functools.partial)
			(callback.args[1]["doctype"], callback.args[2])
			for callback in frappe.db.after_commit._functions
			if getattr(callback, "args", ("",))[0] == "list_update"
		}
		self.assertEqual(
			{(doctype, room) for doctype, room in queued if "Digest" in doctype},
			{
				("Pipeline Digest Subscription", f"user:{self.seller}"),
				("Pipeline Digest", f"user:{self.seller}"),
			},
		)
		frappe.db.rollback()

	def test_digests_and_subscriptions_are_their_user_s_own(self):
		self.busy_day()
		send_digests(run_at=self.now)
		digest = self.digest(self.seller)
		frappe.set_user(self.colleague)
		self.assertNotIn(digest.name, frappe.get_list("Pipeline Digest", pluck="name"))
		self.assertFalse(frappe.has_permission("Pipeline Digest", doc=digest.name))
		self.assertEqual(frappe.get_list("Pipeline Digest Subscription", pluck="name"), [self.colleague])
		theirs = frappe.get_doc("Pipeline Digest Subscription", self.seller)
		self.assertFalse(theirs.has_permission("write"))
		with self.assertRaises(frappe.PermissionError):
			frappe.get_doc(
				{"doctype": "Pipeline Digest Subscription", "user": self.outsider, "frequency": "Off"}
			).insert()


class TestFollowOverHttp(FrappeTestCase):
	"""The follow endpoints as the desk and integrators reach them: POST only, team-scoped."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.seller = make_user()
		cls.outsider = make_user()
		cls.team = make_team(members=[cls.seller]).name
		cls.other = make_team(members=[cls.outsider]).name
		cls.doc = make_opportunity(cls.team)
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		frappe.db.delete("Document Follow", {"user": ("in", (cls.seller, cls.outsider))})
		frappe.db.delete("Pipeline Digest Team", {"parent": ("in", (cls.seller, cls.outsider))})
		frappe.db.delete("Pipeline Digest Subscription", {"user": ("in", (cls.seller, cls.outsider))})
		purge_team(cls.team, cls.other)
		super().tearDownClass()

	def test_follow_is_post_only_and_for_readers_only(self):
		seller = Client.as_user(self.seller)
		method = "pipeline_app.api.follow_opportunity"
		self.assertEqual(seller.call(method, "GET", name=self.doc.name).status_code, 403)
		self.assertEqual(message(seller.call(method, name=self.doc.name)), {"following": True})
		self.assertEqual(
			message(seller.call("pipeline_app.api.get_following", "GET", name=self.doc.name))["opportunity"],
			True,
		)
		self.assertEqual(
			message(seller.call("pipeline_app.api.follow_team", team=self.team)), {"following": True}
		)
		frappe.db.rollback()
		self.assertEqual(
			frappe.get_all("Pipeline Digest Team", {"parent": self.seller}, pluck="team"), [self.team]
		)
		self.assertTrue(
			frappe.db.exists("Document Follow", {"ref_docname": self.doc.name, "user": self.seller})
		)
		# another team's opportunity and team answer as missing ones, and nothing is written
		outsider = Client.as_user(self.outsider)
		self.assertEqual(outsider.call(method, name=self.doc.name).status_code, 404)
		self.assertEqual(outsider.call("pipeline_app.api.follow_team", team=self.team).status_code, 404)
		frappe.db.rollback()
		self.assertFalse(frappe.db.exists("Document Follow", {"user": self.outsider}))
		self.assertFalse(frappe.db.exists("Pipeline Digest Team", {"parent": self.outsider}))
		# unfollowing
		self.assertEqual(message(seller.call(method, name=self.doc.name, follow=0)), {"following": False})
		frappe.db.rollback()
		self.assertFalse(frappe.db.exists("Document Follow", {"user": self.seller}))

	def test_frappes_own_follow_endpoint_refuses_another_teams_opportunity(self):
		"""frappe.desk.form.document_follow.follow_document writes a Document Follow for any user it is
		given, without checking the document: the reference rule refuses another team's record."""
		method = "frappe.desk.form.document_follow.follow_document"
		for user in (self.seller, self.outsider):
			frappe.db.set_value("User", user, "document_follow_notify", 1)
		frappe.db.commit()
		frappe.clear_cache(user=self.outsider)
		outsider = Client.as_user(self.outsider)
		for target in (self.outsider, self.seller):  # for oneself, or on behalf of a member
			response = outsider.call(
				method, doctype="Pipeline Opportunity", doc_name=self.doc.name, user=target
			)
			self.assertIn(response.status_code, (403, 404), response.text)
		frappe.db.rollback()
		self.assertFalse(frappe.db.exists("Document Follow", {"ref_docname": self.doc.name}))
		# a member of the team may (the rule refuses the other team, not following)
		seller = Client.as_user(self.seller)
		response = seller.call(
			method, doctype="Pipeline Opportunity", doc_name=self.doc.name, user=self.seller
		)
		self.assertEqual(response.status_code, 200, response.text)
		frappe.db.rollback()
		self.assertTrue(
			frappe.db.exists("Document Follow", {"ref_docname": self.doc.name, "user": self.seller})
		)
		frappe.db.delete("Document Follow", {"ref_docname": self.doc.name})
		frappe.db.commit()
