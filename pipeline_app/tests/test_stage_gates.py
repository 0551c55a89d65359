"""Stage gates (pipeline_app/gates.py) on every path: the form's save, the board API, frappe.client,
bulk edits, Data Import and REST; the automations' exemption; what the board is told; the gates'
own validation."""

import csv
import os
import tempfile

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, random_string, today

from pipeline_app import api
from pipeline_app.automation.moves import move_opportunity_by_automation
from pipeline_app.gates import StageGateError
from pipeline_app.tests.factories import (
	make_opportunity,
	make_team,
	make_user,
	purge_team,
	set_gate,
	stage_named,
)
from pipeline_app.tests.http_client import Client


def stored_stage(name: str) -> str:
	return frappe.db.get_value("Pipeline Opportunity", name, "stage")


class TestStageGates(FrappeTestCase):
	def setUp(self):
		suffix = random_string(6).lower()
		self.seller = make_user(f"seller.gates.{suffix}@pipeline.test")
		self.lead = make_user(f"lead.gates.{suffix}@pipeline.test")
		self.manager = make_user(f"manager.gates.{suffix}@pipeline.test", roles=("Pipeline Manager",))
		self.team = make_team(
			f"Gates {suffix}", members=[self.seller], leads=[self.lead], deal_amount_enabled=1
		).name
		self.stage = {name: stage_named(self.team, name) for name in ("New", "Qualification", "Proposal",
			"Negotiation", "Closing", "Won", "Lost")}  # fmt: skip
		self.doc = make_opportunity(self.team, stage=self.stage["Qualification"])

	def committed(self):
		"""For paths that commit or roll back themselves (bulk edit, Data Import): the data is
		committed, and removed afterwards."""
		frappe.db.commit()
		self.addCleanup(purge_team, self.team)

	def as_user(self, user):
		frappe.set_user(user)
		self.addCleanup(frappe.set_user, "Administrator")

	def move(self, stage_name, **values):
		doc = frappe.get_doc("Pipeline Opportunity", self.doc.name)
		doc.update({"stage": self.stage[stage_name], **values})
		doc.save()
		return doc

	def assertRefused(self, call, *words):
		with self.assertRaises(StageGateError) as refused:
			call()
		for word in words:
			self.assertIn(word, str(refused.exception))
		self.assertEqual(stored_stage(self.doc.name), self.stage["Qualification"])  # nothing changed

	# Required on entry

	def test_required_fields_must_be_set_to_enter_the_stage_on_every_path(self):
		set_gate(self.team, "Proposal", required_fields="amount\nexpected_close_date")
		self.as_user(self.seller)
		proposal = self.stage["Proposal"]
		self.assertRefused(lambda: self.move("Proposal"), "Proposal", "Amount", "Expected Close Date")
		self.assertRefused(lambda: self.move("Proposal", amount=500), "Expected Close Date")
		self.assertRefused(lambda: api.move_opportunity(self.doc.name, proposal), "Amount")
		self.assertRefused(
			lambda: api.update_opportunity(self.doc.name, {"stage": proposal, "amount": 5}), "Expected"
		)
		self.assertRefused(
			lambda: frappe.client.set_value("Pipeline Opportunity", self.doc.name, "stage", proposal)
		)
		moved = self.move("Proposal", amount=500, expected_close_date=add_days(today(), 30))
		self.assertEqual(stored_stage(moved.name), proposal)
		# already in the stage: later edits are not gated again
		moved.reload()
		moved.title = "Renamed"
		moved.save()

	def test_a_bulk_edit_moves_only_the_opportunities_that_pass(self):
		from frappe.desk.doctype.bulk_update.bulk_update import submit_cancel_or_update_docs

		set_gate(self.team, "Proposal", required_fields="amount")
		ready = make_opportunity(self.team, stage=self.stage["Qualification"], amount=100)
		self.committed()
		self.as_user(self.seller)
		submit_cancel_or_update_docs(
			"Pipeline Opportunity",
			[self.doc.name, ready.name],
			action="update",
			data={"stage": self.stage["Proposal"]},
		)
		self.assertEqual(stored_stage(ready.name), self.stage["Proposal"])
		self.assertEqual(stored_stage(self.doc.name), self.stage["Qualification"])

	def test_data_import_refuses_rows_that_miss_the_required_fields(self):
		from frappe.core.doctype.data_import.data_import import import_file

		set_gate(self.team, "Proposal", required_fields="amount")
		self.committed()
		prefix = f"Gated import {random_string(6)}"
		with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, newline="") as f:
			writer = csv.writer(f)
			writer.writerow(["Title", "Team", "Stage", "Amount"])
			writer.writerow([f"{prefix} without", self.team, self.stage["Proposal"], ""])
			writer.writerow([f"{prefix} with", self.team, self.stage["Proposal"], "250"])
		try:
			import_file("Pipeline Opportunity", f.name, "Insert", console=True)
		finally:
			os.unlink(f.name)
		self.assertFalse(frappe.db.exists("Pipeline Opportunity", {"title": f"{prefix} without"}))
		self.assertEqual(
			frappe.db.get_value("Pipeline Opportunity", {"title": f"{prefix} with"}, "stage"),
			self.stage["Proposal"],
		)

	# Allowed moves

	def test_allowed_next_stages_limit_where_a_card_goes_from_a_stage(self):
		set_gate(self.team, "Qualification", allowed_next_stages="Proposal\nLost")
		self.as_user(self.seller)
		self.assertRefused(lambda: self.move("Closing"), "Qualification", "Proposal, Lost")
		self.assertRefused(lambda: self.move("New"))
		lost = self.move("Lost", lost_reason=frappe.get_all("Pipeline Lost Reason", pluck="name")[0])
		self.assertEqual(lost.status, "Lost")

	def test_no_skipping_forward_allows_the_next_open_stage_back_and_outcomes(self):
		frappe.db.set_value("Pipeline Team", self.team, "no_skipping_forward", 1)
		frappe.clear_document_cache("Pipeline Team", self.team)
		self.as_user(self.seller)
		self.assertRefused(lambda: self.move("Negotiation"), "Negotiation", "Proposal")
		self.assertEqual(self.move("Proposal").stage, self.stage["Proposal"])
		self.assertEqual(self.move("New").stage, self.stage["New"])  # back: any stage
		won = frappe.get_doc("Pipeline Opportunity", self.doc.name)
		won.status = "Won"
		won.save()
		self.assertEqual(won.stage, self.stage["Won"])  # an outcome from any stage

	# Who may enter

	def test_team_leads_only_keeps_sellers_out_of_won_on_every_path(self):
		set_gate(self.team, "Won", leads_only=1)
		self.as_user(self.seller)
		self.assertRefused(lambda: self.move("Won"), "leads", "Won")
		self.assertRefused(lambda: api.update_opportunity(self.doc.name, {"status": "Won"}), "leads")
		frappe.set_user(self.lead)
		self.assertEqual(self.move("Won").status, "Won")

	def test_pipeline_managers_count_as_leads(self):
		set_gate(self.team, "Won", leads_only=1)
		self.as_user(self.manager)
		self.assertEqual(self.move("Won").status, "Won")

	def test_roles_that_may_enter(self):
		set_gate(self.team, "Closing", entry_roles="Pipeline Manager")
		self.as_user(self.lead)
		self.assertRefused(lambda: self.move("Closing"), "Pipeline Manager", "Closing")
		frappe.set_user(self.manager)
		self.assertEqual(self.move("Closing").stage, self.stage["Closing"])

	def test_the_first_stage_gates_a_new_opportunity_too(self):
		set_gate(self.team, "New", required_fields="source")
		self.as_user(self.seller)
		with self.assertRaises(StageGateError):
			make_opportunity(self.team)
		self.assertEqual(make_opportunity(self.team, source="Website").stage, self.stage["New"])

	# Automations

	def test_named_automations_pass_the_gates_and_others_do_not(self):
		set_gate(self.team, "Proposal", required_fields="amount", leads_only=1)
		self.as_user(self.seller)
		with self.assertRaises(StageGateError):
			move_opportunity_by_automation(self.doc.name, self.stage["Proposal"], "test", "unnamed")
		self.assertEqual(stored_stage(self.doc.name), self.stage["Qualification"])
		self.assertTrue(
			move_opportunity_by_automation(self.doc.name, self.stage["Proposal"], "booked", "appointment")
		)
		self.assertEqual(stored_stage(self.doc.name), self.stage["Proposal"])

	# What the board is told

	def test_the_board_gets_each_stages_gate_for_the_user(self):
		set_gate(self.team, "Proposal", required_fields="amount")
		set_gate(self.team, "Won", leads_only=1)
		frappe.db.set_value("Pipeline Team", self.team, "no_skipping_forward", 1)
		frappe.clear_document_cache("Pipeline Team", self.team)
		self.as_user(self.seller)
		columns = {c["stage_name"]: c for c in api.get_board(self.team)["columns"]}
		self.assertEqual(
			[(f["fieldname"], f["on_board"]) for f in columns["Proposal"]["gate"]["required_fields"]],
			[("amount", True)],
		)
		self.assertFalse(columns["Won"]["gate"]["may_enter"])
		self.assertEqual(columns["Won"]["gate"]["enterable_from"], [])
		negotiation = columns["Negotiation"]["gate"]["enterable_from"]
		self.assertIn(self.stage["Proposal"], negotiation)
		self.assertIn(self.stage["Closing"], negotiation)  # back
		self.assertNotIn(self.stage["Qualification"], negotiation)  # a skip
		self.assertNotIn("required_fields", columns["Proposal"])  # the raw settings stay on the server
		frappe.set_user(self.lead)
		columns = {c["stage_name"]: c for c in api.get_board(self.team)["columns"]}
		self.assertTrue(columns["Won"]["gate"]["may_enter"])

	# The gates' own validation

	def test_gates_name_real_fields_stages_and_roles(self):
		for gate in (
			{"required_fields": "no_such_field"},
			{"required_fields": "weighted_amount"},  # the rules set it
			{"required_fields": "section_break_1"},
			{"allowed_next_stages": "Nowhere"},
			{"entry_roles": "No Such Role"},
		):
			with self.assertRaises(frappe.ValidationError, msg=gate):
				set_gate(self.team, "Proposal", **gate)


class TestStageGatesOverHttp(FrappeTestCase):
	"""REST and the board API refuse a gated move with the gate's message, and change nothing."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		suffix = random_string(6).lower()
		cls.seller = make_user(f"seller.gates.http.{suffix}@pipeline.test")
		cls.team = make_team(f"Gates HTTP {suffix}", members=[cls.seller], deal_amount_enabled=1).name
		cls.proposal = set_gate(cls.team, "Proposal", required_fields="amount")
		cls.name = make_opportunity(cls.team).name
		frappe.db.commit()
		cls.as_seller = Client.as_user(cls.seller)

	@classmethod
	def tearDownClass(cls):
		frappe.set_user("Administrator")
		purge_team(cls.team)
		super().tearDownClass()

	def assertRefused(self, response):
		self.assertEqual(response.status_code, 417, response.text[:500])
		self.assertEqual(response.json().get("exc_type"), "StageGateError")
		self.assertIn("Amount", response.json()["_server_messages"])
		frappe.db.rollback()  # see what the web server committed
		self.assertEqual(stored_stage(self.name), stage_named(self.team, "New"))

	def test_rest_and_the_board_api_are_refused(self):
		self.assertRefused(
			self.as_seller.put(f"/api/resource/Pipeline Opportunity/{self.name}", {"stage": self.proposal})
		)
		self.assertRefused(
			self.as_seller.call("pipeline_app.api.move_opportunity", name=self.name, stage=self.proposal)
		)
		response = self.as_seller.put(
			f"/api/resource/Pipeline Opportunity/{self.name}", {"stage": self.proposal, "amount": 80}
		)
		self.assertEqual(response.status_code, 200, response.text[:500])
		frappe.db.rollback()
		self.assertEqual(stored_stage(self.name), self.proposal)
