"""Fields an administrator makes mandatory (issue 14): the board's answer lists them, Add New and the
quick edits refuse to save without them with the fields named in the answer (`missing_fields`, so the
board asks for them) and nothing changed, and accept them as values; in process, over HTTP, and in
the browser (Add New asks for the field)."""

import frappe
import pytest
from frappe.tests.utils import FrappeTestCase
from frappe.utils import random_string

from pipeline_app import api
from pipeline_app.cards import MissingFieldsError, depends_on_holds
from pipeline_app.tests.browser import browser, logged_in_page
from pipeline_app.tests.factories import (
	make_contact,
	make_opportunity,
	make_team,
	make_user,
	purge_team,
	stage_named,
)
from pipeline_app.tests.http_client import Client
from pipeline_app.tests.test_doctype_filters import add_custom_field, remove_custom_field


class TestRequiredFields(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		suffix = random_string(5).lower()
		cls.seller = make_user()
		cls.team = make_team(f"Required {suffix}", members=[cls.seller]).name
		cls.old = make_opportunity(cls.team, title="Before the rule").name  # made before it was mandatory
		cls.contact = make_contact(first_name=f"Req {suffix}")
		cls.field = f"segment_{suffix}"
		add_custom_field(cls.field, fieldtype="Select", options="\nSMB\nEnterprise", reqd=1)

	@classmethod
	def tearDownClass(cls):
		frappe.set_user("Administrator")
		remove_custom_field(cls.field)
		purge_team(cls.team)
		super().tearDownClass()

	def tearDown(self):
		frappe.set_user("Administrator")

	def test_the_board_lists_the_field_and_add_new_asks_for_it(self):
		frappe.set_user(self.seller)
		board = api.get_board(self.team)
		required = {f["fieldname"]: f for f in board["team"]["required_fields"]}
		self.assertEqual(required[self.field]["options"], "\nSMB\nEnterprise")
		self.assertNotIn("team", required)  # set by the board itself
		count = frappe.db.count("Pipeline Opportunity", {"team": self.team})
		with self.assertRaises(MissingFieldsError):
			api.add_opportunity(self.team, title="Without it", contact=self.contact)
		self.assertEqual([f["fieldname"] for f in frappe.response.pop("missing_fields")], [self.field])
		self.assertEqual(frappe.db.count("Pipeline Opportunity", {"team": self.team}), count)
		card = api.add_opportunity(
			self.team, title="With it", contact=self.contact, values={self.field: "SMB"}
		)["card"]
		self.assertEqual(frappe.db.get_value("Pipeline Opportunity", card["name"], self.field), "SMB")

	def test_a_quick_edit_of_an_older_card_asks_for_it(self):
		frappe.set_user(self.seller)
		with self.assertRaises(MissingFieldsError):
			api.update_opportunity(self.old, {"interest": "Hot"})
		self.assertEqual([f["fieldname"] for f in frappe.response.pop("missing_fields")], [self.field])
		self.assertFalse(frappe.db.get_value("Pipeline Opportunity", self.old, "interest"))
		api.update_opportunity(self.old, {"interest": "Hot", self.field: "Enterprise"})
		self.assertEqual(
			frappe.db.get_value("Pipeline Opportunity", self.old, ["interest", self.field]),
			("Hot", "Enterprise"),
		)

	def test_over_http_the_answer_names_the_missing_fields(self):
		frappe.db.commit()
		client = Client.as_user(self.seller)
		response = client.call(
			"pipeline_app.api.add_opportunity", team=self.team, title="Http", contact=self.contact
		)
		self.assertEqual(response.status_code, 417, response.text)
		self.assertEqual([f["fieldname"] for f in response.json()["missing_fields"]], [self.field])
		response = client.call(
			"pipeline_app.api.add_opportunity",
			team=self.team,
			title="Http with it",
			contact=self.contact,
			values={self.field: "SMB"},
		)
		self.assertEqual(response.status_code, 200, response.text)
		# a field the board may not set stays refused
		refused = client.call(
			"pipeline_app.api.add_opportunity", team=self.team, contact=self.contact, values={"board_rank": 5}
		)
		self.assertEqual(refused.status_code, 417, refused.text)


class TestDependsOnMandatory(FrappeTestCase):
	"""A field made *Mandatory Depends On* (in the desk form's JavaScript words): the board asks for it
	where the expression holds for the opportunity as it would be saved, and only there."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		suffix = random_string(5).lower()
		cls.seller = make_user()
		cls.team = make_team(f"Depends {suffix}", members=[cls.seller]).name
		cls.contact = make_contact(first_name=f"Dep {suffix}")
		cls.field = f"hot_reason_{suffix}"
		add_custom_field(
			cls.field,
			fieldtype="Data",
			in_standard_filter=0,
			mandatory_depends_on='eval:doc.interest === "Hot" && !doc.on_hold_until',
		)

	@classmethod
	def tearDownClass(cls):
		frappe.set_user("Administrator")
		remove_custom_field(cls.field)
		purge_team(cls.team)
		super().tearDownClass()

	def tearDown(self):
		frappe.set_user("Administrator")
		frappe.response.pop("missing_fields", None)

	def refused_for_the_field(self, call):
		with self.assertRaises(MissingFieldsError):
			call()
		self.assertEqual([f["fieldname"] for f in frappe.response.pop("missing_fields")], [self.field])

	def test_the_board_lists_the_field_with_its_condition(self):
		frappe.set_user(self.seller)
		required = {f["fieldname"]: f for f in api.get_board(self.team)["team"]["required_fields"]}
		self.assertEqual(
			required[self.field]["mandatory_depends_on"], 'eval:doc.interest === "Hot" && !doc.on_hold_until'
		)
		self.assertFalse(required[self.field]["reqd"])

	def test_a_quick_edit_that_makes_it_mandatory_asks_for_it(self):
		opportunity = make_opportunity(self.team, contact=self.contact).name
		frappe.set_user(self.seller)
		api.update_opportunity(opportunity, {"interest": "Cold"})  # the condition does not hold
		self.refused_for_the_field(lambda: api.update_opportunity(opportunity, {"interest": "Hot"}))
		self.assertEqual(frappe.db.get_value("Pipeline Opportunity", opportunity, "interest"), "Cold")
		api.update_opportunity(opportunity, {"interest": "Hot", self.field: "Budget approved"})
		self.assertEqual(
			frappe.db.get_value("Pipeline Opportunity", opportunity, ["interest", self.field]),
			("Hot", "Budget approved"),
		)

	def test_a_move_of_a_card_it_applies_to_asks_for_it(self):
		# made before the board asked (Frappe's own save does not look at Mandatory Depends On)
		opportunity = make_opportunity(self.team, contact=self.contact, interest="Hot").name
		stage = frappe.db.get_value("Pipeline Opportunity", opportunity, "stage")
		proposal = stage_named(self.team, "Proposal")
		frappe.set_user(self.seller)
		self.refused_for_the_field(lambda: api.move_opportunity(opportunity, proposal))
		self.assertEqual(frappe.db.get_value("Pipeline Opportunity", opportunity, "stage"), stage)
		# the board moves with the values asked through update_opportunity
		api.update_opportunity(opportunity, {"stage": proposal, self.field: "Asked for it"})
		self.assertEqual(
			frappe.db.get_value("Pipeline Opportunity", opportunity, ["stage", self.field]),
			(proposal, "Asked for it"),
		)

	def test_add_new_asks_for_it_where_it_applies(self):
		frappe.set_user(self.seller)
		count = frappe.db.count("Pipeline Opportunity", {"team": self.team})
		self.refused_for_the_field(
			lambda: api.add_opportunity(self.team, contact=self.contact, values={"interest": "Hot"})
		)
		self.assertEqual(frappe.db.count("Pipeline Opportunity", {"team": self.team}), count)
		filled = api.add_opportunity(
			self.team, contact=self.contact, values={"interest": "Hot", self.field: "Referral"}
		)["card"]["name"]
		self.assertEqual(frappe.db.get_value("Pipeline Opportunity", filled, self.field), "Referral")
		api.add_opportunity(self.team, contact=self.contact, values={"interest": "Warm"})  # not asked
		self.assertEqual(frappe.db.count("Pipeline Opportunity", {"team": self.team}), count + 2)

	def test_expressions_are_read_as_the_desk_form_reads_them(self):
		doc = frappe.get_doc({"doctype": "Pipeline Opportunity", "interest": "Hot", "amount": 0})
		for expression, holds in (
			("interest", True),  # a fieldname: the field has a value
			("source", False),
			('eval:doc.interest === "Hot" && !doc.source', True),
			("eval:doc.interest !== 'Hot' || doc.amount > 0", False),
			("eval:doc.interest == 'a!==b'", False),  # operators inside strings are text
			("eval:doc.source === null", True),
			("fn:check_in_form_script", False),  # a form script's function: not on the server
			("eval:[1, 2].includes(1)", False),  # JavaScript beyond the operators: not asked
			("", False),
		):
			self.assertEqual(depends_on_holds(expression, doc), holds, expression)


@pytest.mark.browser
def test_add_new_asks_for_a_mandatory_custom_field(browser):  # noqa: F811 (the browser fixture)
	from pipeline_app.demo import skip_setup_wizard

	skip_setup_wizard()
	suffix = random_string(5).lower()
	seller = make_user()
	team = make_team(f"Required browser {suffix}", members=[seller]).name
	contact = make_contact(first_name=f"Asked {suffix}")
	field = f"tier_{suffix}"
	add_custom_field(field, fieldtype="Select", options="\nGold\nSilver", reqd=1)
	page = logged_in_page(browser, seller, f"/app/pipeline-board?team={team}")
	try:
		page.locator(".pb-column").first.wait_for(timeout=30000)
		page.locator(".page-actions .primary-action").click()
		dialog = page.locator(".modal.show")
		dialog.locator(f'[data-fieldname="{field}"] select').wait_for(timeout=10000)
		page.wait_for_function(f"() => window.cur_dialog && cur_dialog.fields_dict['{field}']")
		page.evaluate(
			"([title, contact]) => cur_dialog.set_values({title, contact})", [f"Deal {suffix}", contact]
		)
		# asked as mandatory: the dialog does not add without it
		assert page.evaluate(f"() => cur_dialog.fields_dict['{field}'].df.reqd") == 1
		dialog.locator(f'[data-fieldname="{field}"] select').select_option("Silver")
		dialog.locator(".modal-footer .btn-primary").click()
		page.locator(".pb-card", has_text=f"Deal {suffix}").wait_for(timeout=30000)
		frappe.db.rollback()
		assert frappe.db.get_value("Pipeline Opportunity", {"title": f"Deal {suffix}"}, field) == "Silver"
		assert not page.errors, page.errors
	finally:
		page.context.close()
		remove_custom_field(field)
		purge_team(team)
