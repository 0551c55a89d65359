"""The outcome Workflow as an administrator edited it: the actions offered and the status changes
accepted follow its transitions and roles on every path, automations pass by name, and its states
stay the opportunity's statuses. Each test works on an active copy of the Workflow (restricted or
renamed) and leaves the installed one active and untouched."""

import frappe
from frappe.model.workflow import WorkflowPermissionError, apply_workflow
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, now_datetime, random_string, today

from pipeline_app import api
from pipeline_app.outcome_workflow import (
	WORKFLOW_EXEMPT_AUTOMATIONS,
	get_outcome_actions,
	validate_outcome_workflow,
)
from pipeline_app.tests.factories import (
	make_opportunity,
	make_team,
	make_user,
	outcome_workflow_copy,
	purge_team,
	restrict_action,
	stage_named,
)
from pipeline_app.tests.http_client import Client, message

OPP = "/api/resource/Pipeline Opportunity"
MANAGER = "Pipeline Manager"


def stored(name):
	return frappe.db.get_value("Pipeline Opportunity", name, ["status", "stage", "modified"], as_dict=True)


def offered(name):
	return {a["action"]: a["next_state"] for a in get_outcome_actions(name)["actions"]}


class TestOutcomeWorkflowIsHonoured(FrappeTestCase):
	def setUp(self):
		self.seller = make_user()
		self.manager = make_user(roles=("Pipeline Manager",))
		self.team = make_team(members=[self.seller]).name
		self.won_stage = stage_named(self.team, "Won")
		self.doc = make_opportunity(self.team)

	def restrict_win(self):
		workflow = outcome_workflow_copy(restrict_action("Win", MANAGER))
		workflow.__enter__()
		self.addCleanup(workflow.__exit__, None, None, None)

	def assertRefusedForSeller(self, change):
		"""`change()` as the seller raises the Workflow's refusal naming who may win, and the stored
		opportunity is exactly as it was."""
		before = stored(self.doc.name)
		frappe.set_user(self.seller)
		with self.assertRaises(WorkflowPermissionError) as refused:
			change()
		frappe.set_user("Administrator")
		self.assertIn("Pipeline Manager", str(refused.exception))
		self.assertIn("Win", str(refused.exception))
		self.assertEqual(stored(self.doc.name), before)

	def test_a_seller_is_offered_win_by_default(self):
		frappe.set_user(self.seller)
		self.assertEqual(offered(self.doc.name).get("Win"), "Won")

	def test_win_for_managers_is_not_offered_to_a_seller(self):
		self.restrict_win()
		frappe.set_user(self.seller)
		actions = offered(self.doc.name)
		self.assertNotIn("Win", actions)
		self.assertEqual(actions.get("Mark Lost"), "Lost")
		frappe.set_user(self.manager)
		self.assertEqual(offered(self.doc.name).get("Win"), "Won")

	def test_a_seller_cannot_drag_into_a_won_stage_when_win_is_for_managers(self):
		self.restrict_win()
		self.assertRefusedForSeller(lambda: api.move_opportunity(self.doc.name, self.won_stage))

	def test_a_seller_cannot_set_won_from_the_panel_or_form_when_win_is_for_managers(self):
		self.restrict_win()
		self.assertRefusedForSeller(lambda: api.update_opportunity(self.doc.name, {"status": "Won"}))
		self.assertRefusedForSeller(lambda: api.update_opportunity(self.doc.name, {"stage": self.won_stage}))
		with self.assertRaises(frappe.ValidationError):  # the form's action: Frappe's apply_workflow
			frappe.set_user(self.seller)
			apply_workflow(frappe.get_doc("Pipeline Opportunity", self.doc.name), "Win")
		frappe.set_user("Administrator")
		self.assertEqual(stored(self.doc.name).status, "Open")

	def test_the_refusal_escapes_the_title(self):
		self.restrict_win()
		frappe.db.set_value("Pipeline Opportunity", self.doc.name, "title", "<img src=x onerror=alert(1)>")
		frappe.set_user(self.seller)
		with self.assertRaises(WorkflowPermissionError) as refused:
			api.move_opportunity(self.doc.name, self.won_stage)
		self.assertIn("&lt;img", str(refused.exception))
		self.assertNotIn("<img", str(refused.exception))

	def test_a_manager_wins_when_win_is_for_managers(self):
		self.restrict_win()
		frappe.set_user(self.manager)
		card = api.move_opportunity(self.doc.name, self.won_stage)["card"]
		self.assertEqual((card["status"], card["stage"]), ("Won", self.won_stage))

	def test_restricting_win_leaves_other_moves_alone(self):
		self.restrict_win()
		frappe.set_user(self.seller)
		api.move_opportunity(self.doc.name, stage_named(self.team, "Proposal"))
		card = api.update_opportunity(
			self.doc.name, {"status": "On Hold", "on_hold_until": add_days(today(), 5)}
		)
		self.assertEqual(card["card"]["status"], "On Hold")

	def test_a_renamed_action_is_offered_by_its_name_and_applies(self):
		if not frappe.db.exists("Workflow Action Master", "Close as Lost"):
			frappe.get_doc(
				{"doctype": "Workflow Action Master", "workflow_action_name": "Close as Lost"}
			).insert()

		def rename(workflow):
			for transition in workflow.transitions:
				if transition.action == "Mark Lost":
					transition.action = "Close as Lost"

		with outcome_workflow_copy(rename):
			frappe.set_user(self.seller)
			actions = offered(self.doc.name)
			self.assertEqual(actions.get("Close as Lost"), "Lost")
			self.assertNotIn("Mark Lost", actions)
			reason = frappe.get_all("Pipeline Lost Reason", pluck="name", limit=1)[0]
			card = api.update_opportunity(self.doc.name, {"status": "Lost", "lost_reason": reason})["card"]
			self.assertEqual(card["status"], "Lost")

	def test_a_transition_the_workflow_lacks_is_refused_with_why(self):
		def drop_abandon(workflow):
			workflow.transitions = [t for t in workflow.transitions if t.action != "Abandon"]

		with outcome_workflow_copy(drop_abandon):
			frappe.set_user(self.seller)
			self.assertNotIn("Abandon", offered(self.doc.name))
			with self.assertRaises(WorkflowPermissionError) as refused:
				api.update_opportunity(self.doc.name, {"status": "Abandoned"})
			self.assertIn("no such transition", str(refused.exception))
			self.assertEqual(stored(self.doc.name).status, "Open")

	def test_another_teams_opportunity_has_no_actions_to_offer(self):
		frappe.set_user(make_user())  # in no team: the opportunity does not exist for them
		with self.assertRaises(frappe.DoesNotExistError):
			get_outcome_actions(self.doc.name)


class TestAutomationsPassTheWorkflow(FrappeTestCase):
	"""Automations run in a seller's session (an appointment marked No Show, an ERPNext order submitted
	by its seller) still change the outcome when the Workflow reserves Win, Reopen and Resume to
	managers: they pass by name (WORKFLOW_EXEMPT_AUTOMATIONS)."""

	def setUp(self):
		self.seller = make_user()
		self.team = make_team(template="Appointment funnel", members=[self.seller]).name
		self.doc = make_opportunity(self.team)

		def edit(workflow):
			for transition in workflow.transitions:
				if transition.action in ("Win", "Reopen", "Resume"):
					transition.allowed = MANAGER

		workflow = outcome_workflow_copy(edit)
		workflow.__enter__()
		self.addCleanup(workflow.__exit__, None, None, None)

	def test_the_exempt_automations_are_the_ones_that_change_outcomes(self):
		from pipeline_app.automation.appointments import SOURCE_APPOINTMENT
		from pipeline_app.erpnext.outcomes import SOURCE as ERPNEXT

		self.assertEqual(WORKFLOW_EXEMPT_AUTOMATIONS, {SOURCE_APPOINTMENT, ERPNEXT, "hold"})

	def test_an_erpnext_order_wins_for_a_seller_who_may_not_win(self):
		"""The path of the Sales Order submit hook (erpnext/outcomes.py) in the seller's session."""
		from pipeline_app.automation.moves import move_opportunity_by_automation
		from pipeline_app.erpnext.outcomes import SOURCE
		from pipeline_app.permissions import system_access

		frappe.set_user(self.seller)
		with self.assertRaises(WorkflowPermissionError):  # the seller themselves may not
			api.move_opportunity(self.doc.name, stage_named(self.team, "Won"))
		with system_access():
			doc = frappe.get_doc("Pipeline Opportunity", self.doc.name)
			moved = move_opportunity_by_automation(doc, stage_named(self.team, "Won"), "order", SOURCE)
		self.assertTrue(moved)
		self.assertEqual(stored(self.doc.name).status, "Won")

	def test_a_no_show_reopens_a_won_opportunity_for_a_seller_who_may_not_reopen(self):
		frappe.db.set_value("Pipeline Team", self.team, "automate_closed_opportunities", 1)
		frappe.clear_document_cache("Pipeline Team", self.team)
		appointment = frappe.get_doc(
			{
				"doctype": "Pipeline Appointment",
				"opportunity": self.doc.name,
				"starts_at": add_days(now_datetime(), 2),
			}
		).insert()
		self.doc.reload()
		self.doc.status = "Won"
		self.doc.save()  # as Administrator, who holds every role
		frappe.set_user(self.seller)
		appointment = frappe.get_doc("Pipeline Appointment", appointment.name)
		appointment.status = "No Show"
		appointment.save()
		self.assertEqual(
			(stored(self.doc.name).status, stored(self.doc.name).stage),
			("Open", stage_named(self.team, "No Show")),
		)

	def test_an_ended_hold_resumes_when_resume_is_for_managers(self):
		from pipeline_app.automation.follow_ups import resume_opportunity

		self.doc.update({"status": "On Hold", "on_hold_until": add_days(today(), 1)})
		self.doc.save()
		frappe.set_user(self.seller)
		with self.assertRaises(WorkflowPermissionError):
			api.update_opportunity(self.doc.name, {"status": "Open"})
		resume_opportunity(self.doc.name, "Resumed: the hold ended on {0}")
		self.assertEqual(stored(self.doc.name).status, "Open")


class TestAbandonmentPassesTheWorkflow(FrappeTestCase):
	"""The nightly job commits its batches: the restricted copy is committed too, and removed."""

	def setUp(self):
		self.team = make_team(template="Appointment funnel", abandon_after_days=14).name
		frappe.db.commit()
		self.addCleanup(purge_team, self.team)
		workflow = outcome_workflow_copy(restrict_action("Abandon", MANAGER), commit=True)
		workflow.__enter__()
		self.addCleanup(workflow.__exit__, None, None, None)

	def test_silent_leads_are_abandoned_when_abandon_is_for_managers(self):
		from pipeline_app.automation.abandonment import abandon_silent_opportunities

		with self.freeze_time(add_days(now_datetime(), -20)):
			doc = make_opportunity(self.team)
		frappe.db.commit()
		abandon_silent_opportunities()
		self.assertEqual(stored(doc.name).status, "Abandoned")


class TestWorkflowEdits(FrappeTestCase):
	"""What an administrator may change in the outcome Workflow, checked when the Workflow is saved."""

	def workflow(self):
		from frappe.model.workflow import get_workflow_name

		return frappe.get_doc("Workflow", get_workflow_name("Pipeline Opportunity"))

	def assertWorkflowRefused(self, workflow, text):
		with self.assertRaises(frappe.ValidationError) as refused:
			workflow.save()
		self.assertIn(text, str(refused.exception))
		frappe.db.rollback()
		self.assertEqual(len(self.workflow().states), 5)

	def test_a_state_that_is_not_a_status_is_refused(self):
		if not frappe.db.exists("Workflow State", "Negotiating"):
			frappe.get_doc({"doctype": "Workflow State", "workflow_state_name": "Negotiating"}).insert()
		workflow = self.workflow()
		workflow.append("states", {"state": "Negotiating", "doc_status": "0", "allow_edit": "All"})
		workflow.append(
			"transitions",
			{"state": "Open", "action": "Win", "next_state": "Negotiating", "allowed": "All"},
		)
		self.assertWorkflowRefused(workflow, "Negotiating")

	def test_the_first_state_stays_open(self):
		workflow = self.workflow()
		workflow.states = [*workflow.states[1:], workflow.states[0]]
		self.assertWorkflowRefused(workflow, "first state")

	def test_states_stay_drafts(self):
		workflow = self.workflow()
		workflow.states[1].doc_status = "1"
		workflow.transitions = [t for t in workflow.transitions if t.state != workflow.states[1].state]
		self.assertWorkflowRefused(workflow, "Doc Status")

	def test_roles_names_and_transitions_may_change(self):
		workflow = self.workflow()
		for transition in workflow.transitions:
			if transition.action == "Win":
				transition.allowed = MANAGER
		workflow.transitions = [t for t in workflow.transitions if t.action != "Abandon"]
		workflow.save()
		self.assertEqual({t.allowed for t in self.workflow().transitions if t.action == "Win"}, {MANAGER})

	def test_other_doctypes_workflows_are_not_checked(self):
		workflow = frappe.get_doc(
			{
				"doctype": "Workflow",
				"workflow_name": "ToDo approval",
				"document_type": "ToDo",
				"workflow_state_field": "workflow_state",
				"states": [{"state": "Draft", "doc_status": "0"}, {"state": "Approved", "doc_status": "1"}],
			}
		)
		validate_outcome_workflow(workflow)  # no error: not a Workflow on Pipeline Opportunity


class TestOutcomeWorkflowOverHttp(FrappeTestCase):
	"""Integrators' paths, against the running bench, with Win for Pipeline Managers only. Data and the
	restricted copy are committed (the web server is another process) and removed afterwards."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		suffix = random_string(6).lower()
		cls.seller = make_user(f"seller.workflow.{suffix}@pipeline.test")
		cls.manager = make_user(f"manager.workflow.{suffix}@pipeline.test", roles=("Pipeline Manager",))
		cls.team = make_team(f"Workflow {suffix}", members=[cls.seller]).name
		cls.won_stage = stage_named(cls.team, "Won")
		frappe.db.commit()
		cls.as_seller = Client.as_user(cls.seller)
		cls.as_manager = Client.as_user(cls.manager)

	@classmethod
	def tearDownClass(cls):
		frappe.set_user("Administrator")
		purge_team(cls.team)
		super().tearDownClass()

	def setUp(self):
		self.name = make_opportunity(self.team).name
		frappe.db.commit()
		workflow = outcome_workflow_copy(restrict_action("Win", MANAGER), commit=True)
		workflow.__enter__()
		self.addCleanup(workflow.__exit__, None, None, None)

	def assertRefused(self, response):
		"""The Workflow's refusal (417, naming who may win), and the opportunity as it was."""
		self.assertEqual(response.status_code, 417, response.text[:500])
		self.assertEqual(response.json().get("exc_type"), "WorkflowPermissionError")
		self.assertIn("Pipeline Manager", response.json()["_server_messages"])
		frappe.db.rollback()  # see what the web server committed
		self.assertEqual(stored(self.name).status, "Open")
		self.assertNotEqual(stored(self.name).stage, self.won_stage)

	def test_a_seller_cannot_win_through_the_board_api(self):
		self.assertRefused(
			self.as_seller.call("pipeline_app.api.move_opportunity", name=self.name, stage=self.won_stage)
		)
		self.assertRefused(
			self.as_seller.call(
				"pipeline_app.api.update_opportunity", name=self.name, values={"status": "Won"}
			)
		)

	def test_a_seller_cannot_win_through_rest(self):
		self.assertRefused(self.as_seller.put(f"{OPP}/{self.name}", {"status": "Won"}))
		self.assertRefused(self.as_seller.put(f"{OPP}/{self.name}", {"stage": self.won_stage}))

	def test_a_seller_cannot_win_through_client_set_value(self):
		for fieldname, value in (("status", "Won"), ("stage", self.won_stage)):
			self.assertRefused(
				self.as_seller.call(
					"frappe.client.set_value",
					doctype="Pipeline Opportunity",
					name=self.name,
					fieldname=fieldname,
					value=value,
				)
			)

	def test_a_seller_cannot_win_through_the_form_action(self):
		doc = frappe.as_json(frappe.get_doc("Pipeline Opportunity", self.name).as_dict())
		response = self.as_seller.call("frappe.model.workflow.apply_workflow", doc=doc, action="Win")
		self.assertEqual(response.status_code, 417, response.text[:500])
		frappe.db.rollback()
		self.assertEqual(stored(self.name).status, "Open")

	def test_a_manager_wins_through_the_board_api_and_rest(self):
		card = message(
			self.as_manager.call("pipeline_app.api.move_opportunity", name=self.name, stage=self.won_stage)
		)["card"]
		self.assertEqual(card["status"], "Won")
		other = make_opportunity(self.team).name
		frappe.db.commit()
		response = self.as_manager.put(f"{OPP}/{other}", {"status": "Won"})
		self.assertEqual(response.status_code, 200, response.text[:500])
		self.assertEqual(response.json()["data"]["stage"], self.won_stage)

	def test_the_offered_actions_follow_the_workflow(self):
		path = "pipeline_app.outcome_workflow.get_outcome_actions"
		seller = message(self.as_seller.call(path, "GET", name=self.name))
		manager = message(self.as_manager.call(path, "GET", name=self.name))
		self.assertEqual(seller["status"], "Open")
		self.assertNotIn("Win", [a["action"] for a in seller["actions"]])
		self.assertIn("Mark Lost", [a["action"] for a in seller["actions"]])
		self.assertIn({"action": "Win", "label": "Win", "next_state": "Won"}, manager["actions"])


class TestWorkflowActionBookkeeping(FrappeTestCase):
	"""Frappe's Workflow Action pass after each save (`process_workflow_actions`) is skipped for an
	opportunity only while it could do nothing: every state of the outcome Workflow optional and no
	open action on the opportunity. Otherwise Frappe's own pass runs, creating and completing actions."""

	def setUp(self):
		self.seller = make_user()
		self.team = make_team(members=[self.seller]).name
		self.doc = make_opportunity(self.team)
		self.won_stage = stage_named(self.team, "Won")

	def actions(self, status=None):
		filters = {"reference_doctype": "Pipeline Opportunity", "reference_name": self.doc.name}
		if status:
			filters["status"] = status
		return frappe.get_all("Workflow Action", filters=filters, fields=["status", "workflow_state"])

	def test_a_save_with_every_state_optional_asks_one_query_of_workflow_actions(self):
		from pipeline_app.tests.counters import count_queries

		self.doc.reload()
		self.doc.follow_up_on = add_days(today(), 3)
		with count_queries() as queries:
			self.doc.save()
		touching = [q for q in queries if "Workflow Action" in q or "Workflow Transition" in q]
		self.assertEqual(len(touching), 1, touching)  # whether the opportunity has an open action
		self.assertEqual(self.actions(), [])

	def test_a_state_made_mandatory_gets_frappes_actions_again(self):
		def make_won_an_approval(workflow):
			for state in workflow.states:
				if state.state == "Won":
					state.is_optional_state = 0

		with outcome_workflow_copy(make_won_an_approval):
			self.doc.reload()
			self.doc.follow_up_on = add_days(today(), 3)
			self.doc.save()
			# Frappe's pass: an action for the transition into Won, a state that is no longer optional
			self.assertEqual([(a.status, a.workflow_state) for a in self.actions()], [("Open", "Open")])
			self.doc.stage = self.won_stage
			self.doc.save()
			self.assertEqual(self.doc.status, "Won")
			self.assertEqual([(a.status, a.workflow_state) for a in self.actions()], [("Completed", "Open")])

	def test_an_open_action_left_from_before_is_completed_by_frappes_pass(self):
		# an action made while an administrator had a state non-optional, the Workflow optional again
		frappe.get_doc(
			{
				"doctype": "Workflow Action",
				"reference_doctype": "Pipeline Opportunity",
				"reference_name": self.doc.name,
				"workflow_state": "Open",
				"status": "Open",
				"permitted_roles": [{"role": "All"}],
			}
		).insert(ignore_permissions=True)
		self.doc.reload()
		self.doc.stage = self.won_stage
		self.doc.save()
		self.assertEqual([(a.status, a.workflow_state) for a in self.actions()], [("Completed", "Open")])
