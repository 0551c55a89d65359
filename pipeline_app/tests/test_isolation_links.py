"""Team isolation on fields read through a Link (`fields=["pipeline_opportunity.title"]`), over HTTP
against the running bench (pipeline_app/link_joins.py). Frappe v15 joins the linked doctype checking
only the role on it: a seller of team A who may read every Quotation (Sales User) read team B's
opportunity through B's quotations. Now a linked row the user may not read joins as NULL, exactly as
an empty link, on every path that lists (REST, frappe.client.get_list / get_value, validate_link's
fields, reportview); the quotation itself stays listed. Controls: the same join of
A's own opportunity, B's seller on B's, a System Manager on both. HTTP tests commit their data (the
web server is another process); removed in tearDownClass."""

import json

import frappe
import pytest
from frappe.tests.utils import FrappeTestCase
from frappe.utils import random_string

from pipeline_app.tests.factories import make_opportunity, make_team, make_user, purge_team
from pipeline_app.tests.http_client import Client, message

JOINED = {
	"opportunity_title": "pipeline_opportunity.title",
	"opportunity_email": "pipeline_opportunity.contact_email",
	"opportunity_amount": "pipeline_opportunity.amount",
}
FIELDS = ["name", *(f"{field} as {alias}" for alias, field in JOINED.items())]
NOTHING = dict.fromkeys(JOINED)


@pytest.mark.erpnext
class TestQuotationJoins(FrappeTestCase):
	"""Teams A and B with a seller each (Pipeline User and Sales User), a deal each with a draft
	Quotation made for it, and a System Manager who may read Quotations."""

	@classmethod
	def setUpClass(cls):
		from pipeline_app.erpnext.documents import make_document
		from pipeline_app.tests.erpnext_factories import (
			default_company,
			make_deal,
			make_erpnext_team,
			make_item,
		)

		super().setUpClass()
		suffix = random_string(6).lower()
		roles = ("Pipeline User", "Sales User")
		cls.seller_a = make_user(f"alice.links.{suffix}@pipeline.test", roles=roles)
		cls.seller_b = make_user(f"bob.links.{suffix}@pipeline.test", roles=roles)
		cls.manager = make_user(f"sam.links.{suffix}@pipeline.test", roles=("System Manager", "Sales User"))
		cls.team_a = make_erpnext_team(members=[cls.seller_a]).name
		cls.team_b = make_erpnext_team(members=[cls.seller_b]).name
		item = make_item()
		cls.deals, cls.quotations = {}, {}
		for key, team, amount in (("a", cls.team_a, 100), ("b", cls.team_b, 4242)):
			deal = make_deal(
				team,
				organisation=f"Links buyer {key} {suffix}",
				items=[(item, 1, amount)],
				company=default_company(),
			)
			cls.deals[key] = frappe.get_doc("Pipeline Opportunity", deal.name)
			cls.quotations[key] = make_document(deal.name, "Quotation")["name"]
		frappe.db.commit()
		cls.client_a = Client.as_user(cls.seller_a)
		cls.client_b = Client.as_user(cls.seller_b)
		cls.client_manager = Client.as_user(cls.manager)

	@classmethod
	def tearDownClass(cls):
		frappe.db.rollback()
		for name in cls.quotations.values():
			frappe.delete_doc("Quotation", name, force=True, ignore_permissions=True)
		purge_team(cls.team_a, cls.team_b)
		super().tearDownClass()

	def joined_values(self, key: str) -> dict:
		deal = self.deals[key]
		self.assertTrue(deal.title and deal.contact_email and deal.amount)
		return {
			"opportunity_title": deal.title,
			"opportunity_email": deal.contact_email,
			"opportunity_amount": deal.amount,
		}

	def quotation_filters(self) -> list:
		return [["Quotation", "name", "in", list(self.quotations.values())]]

	def by_quotation(self, rows: list) -> dict:
		return {row.pop("name"): row for row in rows}

	def rest_list(self, client: Client) -> dict:
		response = client.get(
			"/api/resource/Quotation",
			fields=json.dumps(FIELDS),
			filters=json.dumps(self.quotation_filters()),
			limit_page_length=0,
		)
		self.assertEqual(response.status_code, 200, response.text[:300])
		return self.by_quotation(response.json()["data"])

	def test_rest_list_joins_nothing_of_another_teams_opportunity(self):
		rows = self.rest_list(self.client_a)
		self.assertEqual(rows[self.quotations["b"]], NOTHING)
		self.assertEqual(rows[self.quotations["a"]], self.joined_values("a"))

	def test_client_get_list_joins_nothing_of_another_teams_opportunity(self):
		response = self.client_a.call(
			"frappe.client.get_list",
			doctype="Quotation",
			fields=FIELDS,
			filters=self.quotation_filters(),
			limit_page_length=0,
		)
		rows = self.by_quotation(message(response))
		self.assertEqual(rows[self.quotations["b"]], NOTHING)
		self.assertEqual(rows[self.quotations["a"]], self.joined_values("a"))

	def test_client_get_value_reads_nothing_of_another_teams_opportunity(self):
		for key, expected in (("b", NOTHING), ("a", self.joined_values("a"))):
			response = self.client_a.call(
				"frappe.client.get_value",
				doctype="Quotation",
				fieldname=[f"{field} as {alias}" for alias, field in JOINED.items()],
				filters={"name": self.quotations[key]},
			)
			self.assertEqual(message(response), expected)

	def test_validate_link_fields_read_nothing_of_another_teams_opportunity(self):
		for key, title in (("b", None), ("a", self.deals["a"].title)):
			response = self.client_a.call(
				"frappe.client.validate_link",
				doctype="Quotation",
				docname=self.quotations[key],
				fields=["pipeline_opportunity.title"],
			)
			self.assertEqual(message(response), {"name": self.quotations[key], "title": title})

	def test_report_view_joins_nothing_of_another_teams_opportunity(self):
		response = self.client_a.call(
			"frappe.desk.reportview.get",
			doctype="Quotation",
			fields=["`tabQuotation`.`name`", *JOINED.values()],
			filters=self.quotation_filters(),
		)
		result = message(response)
		rows = {row[0]: row[1:] for row in result["values"]}
		self.assertEqual(rows[self.quotations["b"]], [None, None, None])
		self.assertEqual(rows[self.quotations["a"]], list(self.joined_values("a").values()))

	def test_quotation_lists_without_joins_still_list_every_teams_quotations(self):
		response = self.client_a.get(
			"/api/resource/Quotation", filters=json.dumps(self.quotation_filters()), limit_page_length=0
		)
		self.assertEqual(response.status_code, 200, response.text[:300])
		self.assertEqual({row["name"] for row in response.json()["data"]}, set(self.quotations.values()))

	def test_the_other_teams_seller_joins_their_own_opportunity(self):
		rows = self.rest_list(self.client_b)
		self.assertEqual(rows[self.quotations["b"]], self.joined_values("b"))
		self.assertEqual(rows[self.quotations["a"]], NOTHING)

	def test_a_system_manager_joins_every_teams_opportunity(self):
		rows = self.rest_list(self.client_manager)
		self.assertEqual(rows[self.quotations["a"]], self.joined_values("a"))
		self.assertEqual(rows[self.quotations["b"]], self.joined_values("b"))


class TestStageHistoryJoins(FrappeTestCase):
	"""Bare Frappe: an opportunity moved from team A to team B leaves its stage history with A, whose
	seller still lists it; its `opportunity` link no longer joins B's opportunity for them."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		suffix = random_string(6).lower()
		cls.seller_a = make_user(f"alice.history.{suffix}@pipeline.test")
		cls.manager = make_user(f"pam.history.{suffix}@pipeline.test", roles=("Pipeline Manager",))
		cls.team_a = make_team(f"History Alpha {suffix}", members=[cls.seller_a]).name
		cls.team_b = make_team(f"History Beta {suffix}").name
		cls.moved = make_opportunity(
			cls.team_a, title=f"Moved {suffix}", contact_email=f"moved.{suffix}@example.test"
		)
		cls.kept = make_opportunity(
			cls.team_a, title=f"Kept {suffix}", contact_email=f"kept.{suffix}@example.test"
		)
		cls.moved.reload()
		cls.moved.team = cls.team_b
		cls.moved.save()
		frappe.db.commit()
		cls.client_a = Client.as_user(cls.seller_a)
		cls.client_manager = Client.as_user(cls.manager)

	@classmethod
	def tearDownClass(cls):
		purge_team(cls.team_a, cls.team_b)
		super().tearDownClass()

	def history(self, client: Client, opportunity: str) -> list[dict]:
		response = client.get(
			"/api/resource/Pipeline Stage Change",
			fields=json.dumps(
				[
					"team",
					"opportunity.title as opportunity_title",
					"opportunity.contact_email as opportunity_email",
				]
			),
			filters=json.dumps({"opportunity": opportunity, "team": self.team_a}),
			limit_page_length=0,
		)
		self.assertEqual(response.status_code, 200, response.text[:300])
		return response.json()["data"]

	def test_a_moved_opportunity_joins_as_nothing_in_the_old_teams_history(self):
		rows = self.history(self.client_a, self.moved.name)
		self.assertTrue(rows)
		self.assertEqual(
			rows, [{"team": self.team_a, "opportunity_title": None, "opportunity_email": None}] * len(rows)
		)

	def test_the_teams_own_opportunity_still_joins_in_its_history(self):
		rows = self.history(self.client_a, self.kept.name)
		self.assertTrue(rows)
		expected = {
			"team": self.team_a,
			"opportunity_title": self.kept.title,
			"opportunity_email": self.kept.contact_email,
		}
		self.assertEqual(rows, [expected] * len(rows))

	def test_a_manager_joins_the_moved_opportunity_in_every_history(self):
		rows = self.history(self.client_manager, self.moved.name)
		self.assertTrue(rows)
		expected = {
			"team": self.team_a,
			"opportunity_title": self.moved.title,
			"opportunity_email": self.moved.contact_email,
		}
		self.assertEqual(rows, [expected] * len(rows))
