# Copyright (c) 2026, Pipeline App contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, getdate, today

from pipeline_app.tests.factories import make_contact, make_opportunity, make_team, make_user, stage_named


class TestPipelineOpportunity(FrappeTestCase):
	def setUp(self):
		self.seller = make_user()
		self.team = make_team(members=[self.seller], deal_amount_enabled=1).name
		self.other_team = make_team(template="Deal funnel", members=[self.seller]).name

	def reload(self, doc):
		return frappe.get_doc("Pipeline Opportunity", doc.name)

	def stage_changes(self, doc):
		return frappe.get_all(
			"Pipeline Stage Change",
			filters={"opportunity": doc.name},
			fields=["change_type", "from_value", "to_value", "changed_by", "changed_on"],
			order_by="creation asc",
		)

	def assertRefused(self, doc, exc=frappe.ValidationError, **changes):
		"""Applying `changes` raises and leaves the stored record exactly as it was."""
		before = self.reload(doc).as_dict()
		fresh = self.reload(doc)
		fresh.update(changes)
		with self.assertRaises(exc):
			fresh.save()
		after = self.reload(doc).as_dict()
		for field in (
			"team",
			"stage",
			"status",
			"amount",
			"opportunity_owner",
			"lost_reason",
			"on_hold_until",
			"modified",
		):
			self.assertEqual(before[field], after[field], field)

	# --- landing stage
	def test_new_opportunity_lands_in_first_open_stage(self):
		doc = make_opportunity(self.team)
		self.assertEqual(doc.stage, stage_named(self.team, "New"))
		self.assertEqual(doc.status, "Open")

	def test_first_stage_follows_sequence_not_creation(self):
		frappe.db.set_value("Funnel Stage", stage_named(self.team, "Proposal"), "sequence", 1)
		self.assertEqual(make_opportunity(self.team).stage, stage_named(self.team, "Proposal"))

	def test_given_stage_of_the_team_is_kept(self):
		doc = make_opportunity(self.team, stage=stage_named(self.team, "Negotiation"))
		self.assertEqual(doc.stage, stage_named(self.team, "Negotiation"))
		self.assertEqual(doc.probability, 60)

	def test_stage_of_another_team_is_rejected(self):
		with self.assertRaises(frappe.ValidationError):
			make_opportunity(self.team, title="wrong stage", stage=stage_named(self.other_team, "New Deal"))
		self.assertFalse(frappe.db.exists("Pipeline Opportunity", {"title": "wrong stage"}))

	def test_stage_of_another_team_is_rejected_on_update(self):
		doc = make_opportunity(self.team)
		self.assertRefused(doc, stage=stage_named(self.other_team, "New Deal"))

	def test_team_without_stages_is_refused(self):
		empty = make_team(template=None).name
		with self.assertRaises(frappe.ValidationError):
			make_opportunity(empty)

	# --- team change
	def test_team_change_moves_to_first_stage(self):
		doc = make_opportunity(self.team, stage=stage_named(self.team, "Proposal"))
		doc.team = self.other_team
		doc.save()
		self.assertEqual(self.reload(doc).stage, stage_named(self.other_team, "New Deal"))

	def test_team_change_with_stage_of_new_team_keeps_that_stage(self):
		doc = make_opportunity(self.team)
		doc.team = self.other_team
		doc.stage = stage_named(self.other_team, "Awaiting Payment")
		doc.save()
		self.assertEqual(self.reload(doc).stage, stage_named(self.other_team, "Awaiting Payment"))

	def test_team_change_drops_amount_where_new_team_has_no_amounts(self):
		doc = make_opportunity(self.team, amount=500)
		self.assertEqual(doc.amount, 500)
		doc.team = self.other_team
		doc.save()
		self.assertEqual(self.reload(doc).amount, 0)

	# --- stage drives status
	def test_entering_won_stage_makes_status_won_and_sets_closed_on(self):
		doc = make_opportunity(self.team)
		doc.stage = stage_named(self.team, "Won")
		doc.save()
		doc = self.reload(doc)
		self.assertEqual(doc.status, "Won")
		self.assertIsNotNone(doc.closed_on)
		self.assertEqual(doc.probability, 100)

	def test_entering_lost_stage_makes_status_lost(self):
		doc = make_opportunity(self.team)
		doc.stage = stage_named(self.team, "Lost")
		doc.lost_reason = "Price"
		doc.save()
		self.assertEqual(self.reload(doc).status, "Lost")

	def test_entering_lost_stage_without_reason_is_refused(self):
		doc = make_opportunity(self.team)
		self.assertRefused(doc, frappe.MandatoryError, stage=stage_named(self.team, "Lost"))

	def test_moving_a_won_opportunity_to_an_open_stage_reopens_it(self):
		doc = make_opportunity(self.team, stage=stage_named(self.team, "Closing"))
		doc.stage = stage_named(self.team, "Won")
		doc.save()
		doc.stage = stage_named(self.team, "Proposal")
		doc.save()
		doc = self.reload(doc)
		self.assertEqual(doc.status, "Open")
		self.assertIsNone(doc.closed_on)

	# --- status drives stage
	def test_status_won_moves_to_won_stage(self):
		doc = make_opportunity(self.team, stage=stage_named(self.team, "Closing"))
		doc.status = "Won"
		doc.save()
		doc = self.reload(doc)
		self.assertEqual(doc.stage, stage_named(self.team, "Won"))
		self.assertIsNotNone(doc.closed_on)

	def test_status_lost_moves_to_lost_stage(self):
		doc = make_opportunity(self.team)
		doc.update({"status": "Lost", "lost_reason": "Price", "lost_detail": "Too expensive"})
		doc.save()
		self.assertEqual(self.reload(doc).stage, stage_named(self.team, "Lost"))

	def test_status_lost_without_reason_is_refused(self):
		doc = make_opportunity(self.team)
		self.assertRefused(doc, frappe.MandatoryError, status="Lost")

	def test_reopen_returns_to_the_open_stage_it_left(self):
		doc = make_opportunity(self.team, stage=stage_named(self.team, "Negotiation"))
		doc.status = "Won"
		doc.save()
		doc.status = "Open"
		doc.save()
		doc = self.reload(doc)
		self.assertEqual(doc.stage, stage_named(self.team, "Negotiation"))
		self.assertIsNone(doc.closed_on)

	def test_conflicting_stage_and_status_is_refused(self):
		doc = make_opportunity(self.team)
		self.assertRefused(doc, stage=stage_named(self.team, "Won"), status="Lost", lost_reason="Price")

	def test_status_won_without_a_won_stage_keeps_stage(self):
		frappe.delete_doc("Funnel Stage", stage_named(self.team, "Won"))
		doc = make_opportunity(self.team, stage=stage_named(self.team, "Closing"))
		doc.status = "Won"
		doc.save()
		doc = self.reload(doc)
		self.assertEqual((doc.status, doc.stage), ("Won", stage_named(self.team, "Closing")))

	# --- hold
	def test_on_hold_needs_future_date(self):
		doc = make_opportunity(self.team)
		self.assertRefused(doc, frappe.MandatoryError, status="On Hold")
		self.assertRefused(doc, status="On Hold", on_hold_until=today())
		self.assertRefused(doc, status="On Hold", on_hold_until=add_days(today(), -3))
		doc.status, doc.on_hold_until = "On Hold", add_days(today(), 7)
		doc.save()
		doc = self.reload(doc)
		self.assertEqual((doc.status, getdate(doc.on_hold_until)), ("On Hold", getdate(add_days(today(), 7))))

	def test_leaving_hold_clears_the_hold_date(self):
		doc = make_opportunity(self.team)
		doc.update({"status": "On Hold", "on_hold_until": add_days(today(), 2)})
		doc.save()
		doc.status = "Open"
		doc.save()
		self.assertIsNone(self.reload(doc).on_hold_until)

	# --- amount, owner
	def test_negative_amount_is_refused(self):
		doc = make_opportunity(self.team, amount=10)
		self.assertRefused(doc, amount=-1)

	def test_amount_is_dropped_where_team_has_no_amounts(self):
		doc = make_opportunity(self.other_team, amount=999)
		self.assertEqual(self.reload(doc).amount, 0)

	def test_owner_must_be_team_member(self):
		outsider = make_user()
		doc = make_opportunity(self.team)
		self.assertRefused(doc, opportunity_owner=outsider)
		doc.opportunity_owner = self.seller
		doc.save()
		self.assertEqual(self.reload(doc).opportunity_owner, self.seller)

	def test_team_change_unassigns_owner_who_is_not_in_new_team(self):
		third = make_team(template="Sales funnel").name
		doc = make_opportunity(self.team, opportunity_owner=self.seller)
		doc.team = third
		doc.save()
		self.assertIsNone(self.reload(doc).opportunity_owner)

	# --- contacts
	def test_contact_can_have_many_opportunities_and_survives_deletion(self):
		contact = make_contact(email="many@pipeline.test")
		first = make_opportunity(self.team, contact=contact)
		second = make_opportunity(self.team, contact=contact)
		third = make_opportunity(self.other_team, contact=contact)
		communication = frappe.get_doc(
			{
				"doctype": "Communication",
				"communication_type": "Communication",
				"communication_medium": "Email",
				"sent_or_received": "Received",
				"subject": "Hello",
				"content": "Interested",
				"sender": "many@pipeline.test",
				"reference_doctype": "Pipeline Opportunity",
				"reference_name": first.name,
				"timeline_links": [{"link_doctype": "Contact", "link_name": contact}],
			}
		).insert(ignore_permissions=True)
		frappe.delete_doc("Pipeline Opportunity", first.name)
		self.assertFalse(frappe.db.exists("Pipeline Opportunity", first.name))
		self.assertTrue(frappe.db.exists("Contact", contact))
		self.assertTrue(frappe.db.exists("Communication", communication.name))
		self.assertTrue(frappe.db.exists("Pipeline Opportunity", second.name))
		self.assertTrue(frappe.db.exists("Pipeline Opportunity", third.name))
		self.assertEqual(frappe.db.get_value("Pipeline Opportunity", second.name, "contact"), contact)

	def test_delete_removes_its_appointments_and_history(self):
		doc = make_opportunity(self.team)
		frappe.get_doc(
			{"doctype": "Pipeline Appointment", "opportunity": doc.name, "starts_at": add_days(today(), 1)}
		).insert()
		frappe.delete_doc("Pipeline Opportunity", doc.name)
		self.assertFalse(frappe.db.exists("Pipeline Appointment", {"opportunity": doc.name}))
		self.assertFalse(frappe.db.exists("Pipeline Stage Change", {"opportunity": doc.name}))

	# --- history and timeline
	def test_every_stage_and_status_change_is_recorded(self):
		doc = make_opportunity(self.team)
		frappe.set_user(self.seller)
		doc = self.reload(doc)
		doc.stage = stage_named(self.team, "Won")
		doc.save()
		frappe.set_user("Administrator")
		changes = self.stage_changes(doc)
		self.assertEqual(
			[(c.change_type, c.from_value, c.to_value) for c in changes],
			[
				("Stage", None, stage_named(self.team, "New")),
				("Status", None, "Open"),
				("Stage", stage_named(self.team, "New"), stage_named(self.team, "Won")),
				("Status", "Open", "Won"),
			],
		)
		self.assertEqual(changes[-1].changed_by, self.seller)
		self.assertTrue(all(c.changed_on for c in changes))

	def test_save_without_stage_change_records_nothing(self):
		doc = make_opportunity(self.team)
		doc.description = "just a note"
		doc.save()
		self.assertEqual(len(self.stage_changes(doc)), 2)

	def test_stage_change_shows_on_the_timeline(self):
		doc = make_opportunity(self.team)
		doc.stage = stage_named(self.team, "Proposal")
		doc.save(ignore_version=False)  # Frappe skips versions in tests unless asked
		version = frappe.get_last_doc("Version", filters={"ref_doctype": doc.doctype, "docname": doc.name})
		changed = {row[0]: row[1:] for row in frappe.parse_json(version.data)["changed"]}
		self.assertEqual(
			changed["stage"], [stage_named(self.team, "New"), stage_named(self.team, "Proposal")]
		)
		self.assertEqual(version.owner, "Administrator")


class TestOutcomeWorkflow(FrappeTestCase):
	def setUp(self):
		self.team = make_team().name

	def test_workflow_is_installed_on_status(self):
		from frappe.model.workflow import get_workflow_name

		name = get_workflow_name("Pipeline Opportunity")
		self.assertTrue(name)
		workflow = frappe.get_doc("Workflow", name)
		self.assertEqual(workflow.workflow_state_field, "status")
		self.assertEqual({s.state for s in workflow.states}, {"Open", "Won", "Lost", "On Hold", "Abandoned"})
		reopen = {(t.state, t.next_state) for t in workflow.transitions if t.next_state == "Open"}
		self.assertEqual(
			reopen, {("Won", "Open"), ("Lost", "Open"), ("On Hold", "Open"), ("Abandoned", "Open")}
		)

	def test_apply_workflow_win_moves_to_won_stage(self):
		from frappe.model.workflow import apply_workflow

		doc = make_opportunity(self.team)
		apply_workflow(doc, "Win")
		doc = frappe.get_doc("Pipeline Opportunity", doc.name)
		self.assertEqual((doc.status, doc.stage), ("Won", stage_named(self.team, "Won")))

	def test_transition_the_workflow_does_not_allow_is_refused(self):
		from frappe.model.workflow import WorkflowPermissionError, WorkflowTransitionError

		doc = make_opportunity(self.team)
		doc.update({"status": "On Hold", "on_hold_until": add_days(today(), 3)})
		doc.save()
		doc.status = "Won"  # On Hold -> Won is allowed; remove it to check enforcement
		workflow = frappe.get_doc("Workflow", "Pipeline Opportunity Outcome")
		workflow.transitions = [
			t for t in workflow.transitions if not (t.state == "On Hold" and t.next_state == "Won")
		]
		workflow.save()
		with self.assertRaises((WorkflowTransitionError, WorkflowPermissionError)):
			doc.save()
		self.assertEqual(frappe.db.get_value("Pipeline Opportunity", doc.name, "status"), "On Hold")

	def test_new_opportunity_cannot_start_closed(self):
		with self.assertRaises(frappe.ValidationError):
			make_opportunity(self.team, title="starts won", status="Won")
		self.assertFalse(frappe.db.exists("Pipeline Opportunity", {"title": "starts won"}))
