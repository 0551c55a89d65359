"""The ERPNext loop end to end over HTTP, as sellers and ERPNext users work: documents made from an
opportunity (Quotation, Sales Order, Project, the Customer), and the opportunity following them
(quotation submitted, ordered, lost; sales order submitted and cancelled). Runs on the ERPNext site
only (marker `erpnext`). HTTP tests commit their data (the web server is another process)."""

import json
import re
from concurrent.futures import ThreadPoolExecutor

import frappe
import pytest
from frappe.tests.utils import FrappeTestCase

from pipeline_app.erpnext import outcomes
from pipeline_app.tests.erpnext_factories import (
	default_company,
	make_deal,
	make_erpnext_team,
	make_item,
	make_seller,
)
from pipeline_app.tests.factories import stage_named
from pipeline_app.tests.http_client import Client

pytestmark = pytest.mark.erpnext

LOOP = "pipeline_app.erpnext.documents"


def fresh(doctype, name):
	frappe.db.rollback()
	return frappe.get_doc(doctype, name)


def causes(opportunity: str) -> list[tuple]:
	return [
		(row.change_type, row.to_value, row.caused_by_doctype, row.caused_by)
		for row in frappe.get_all(
			"Pipeline Stage Change",
			{"opportunity": opportunity},
			["change_type", "to_value", "caused_by_doctype", "caused_by"],
			order_by="creation",
		)
	]


def comments(opportunity: str) -> list[str]:
	return frappe.get_all(
		"Comment",
		{"reference_doctype": "Pipeline Opportunity", "reference_name": opportunity, "comment_type": "Info"},
		pluck="content",
		order_by="creation",
	)


class ErpnextHttpCase(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.company = default_company()
		cls.seller = make_seller()
		cls.other_seller = make_seller()
		cls.team = make_erpnext_team(members=[cls.seller]).name
		cls.other_team = make_erpnext_team(members=[cls.other_seller]).name
		cls.item = make_item()
		frappe.db.commit()
		cls.client = Client.as_user(cls.seller)
		cls.other_client = Client.as_user(cls.other_seller)

	def deal(self, team=None, **fields):
		fields.setdefault("opportunity_owner", self.seller if (team or self.team) == self.team else None)
		doc = make_deal(
			team or self.team,
			organisation=f"Buyer {frappe.generate_hash(length=6)}",
			items=[(self.item, 2, 150)],
			company=self.company,
			**fields,
		)
		frappe.db.commit()
		return doc

	def make(self, what: str, opportunity: str, client=None):
		return (client or self.client).call(f"{LOOP}.make_{what}", opportunity=opportunity)

	def submit(self, doctype: str, name: str, client=None):
		doc = (client or self.client).get(f"/api/resource/{doctype}/{name}").json()["data"]
		response = (client or self.client).call("frappe.client.submit", doc=json.dumps(doc))
		self.assertEqual(response.status_code, 200, response.text)
		frappe.db.rollback()

	def order_from_quotation(self, quotation: str, client=None) -> str:
		client = client or self.client
		mapped = client.call(
			"erpnext.selling.doctype.quotation.quotation.make_sales_order", source_name=quotation
		).json()["message"]
		for row in mapped["items"]:
			row["delivery_date"] = frappe.utils.today()
		mapped["delivery_date"] = frappe.utils.today()
		response = client.call("frappe.client.insert", doc=json.dumps(mapped))
		self.assertEqual(response.status_code, 200, response.text)
		return response.json()["message"]["name"]


class TestDocumentsFromAnOpportunity(ErpnextHttpCase):
	def test_quotation_carries_items_customer_contact_and_company_and_links_back(self):
		deal = self.deal()
		response = self.make("quotation", deal.name)
		self.assertEqual(response.status_code, 200, response.text)
		name = response.json()["message"]["name"]
		quotation = fresh("Quotation", name)
		opportunity = frappe.get_doc("Pipeline Opportunity", deal.name)
		self.assertTrue(opportunity.customer)
		self.assertEqual(
			(quotation.quotation_to, quotation.party_name, quotation.company, quotation.contact_person),
			("Customer", opportunity.customer, self.company, deal.contact),
		)
		self.assertEqual(quotation.pipeline_opportunity, deal.name)
		self.assertEqual([(r.item_code, r.qty, r.rate) for r in quotation.items], [(self.item, 2, 150)])
		self.assertEqual(quotation.grand_total, 300)
		self.assertEqual(opportunity.company, self.company)

	def test_customer_is_made_from_the_organisation_once_per_contact(self):
		deal = self.deal()
		self.make("quotation", deal.name)
		customer = fresh("Pipeline Opportunity", deal.name).customer
		organisation = frappe.db.get_value("Contact", deal.contact, "company_name")
		self.assertEqual(
			frappe.db.get_value("Customer", customer, ["customer_name", "customer_type"]),
			(organisation, "Company"),
		)
		# a second opportunity of the same contact gets the same customer
		second = make_deal(self.team, items=[(self.item, 1, 10)], company=self.company)
		frappe.db.set_value("Pipeline Opportunity", second.name, "contact", deal.contact)
		frappe.db.commit()
		self.assertEqual(self.make("sales_order", second.name).status_code, 200)
		self.assertEqual(fresh("Pipeline Opportunity", second.name).customer, customer)
		self.assertEqual(frappe.db.count("Customer", {"customer_name": organisation}), 1)
		self.assertTrue(
			frappe.db.exists(
				"Dynamic Link",
				{
					"parenttype": "Contact",
					"parent": deal.contact,
					"link_doctype": "Customer",
					"link_name": customer,
				},
			)
		)

	def test_simultaneous_documents_for_one_contact_make_one_customer(self):
		first = self.deal()
		others = [make_deal(self.team, items=[(self.item, 1, 10)], company=self.company) for _ in range(2)]
		for doc in others:
			frappe.db.set_value("Pipeline Opportunity", doc.name, "contact", first.contact)
		frappe.db.commit()
		names = [first.name] + [doc.name for doc in others]
		clients = [Client(self.client.session.headers["Authorization"]) for _ in names]

		with ThreadPoolExecutor(max_workers=len(names)) as pool:
			responses = list(
				pool.map(
					lambda pair: pair[0].call(f"{LOOP}.make_quotation", opportunity=pair[1]),
					zip(clients, names, strict=True),
				)
			)
		for response in responses:
			self.assertEqual(response.status_code, 200, response.text[:500])
		frappe.db.rollback()
		customers = {frappe.db.get_value("Pipeline Opportunity", name, "customer") for name in names}
		self.assertEqual(len(customers), 1)
		self.assertEqual(
			frappe.db.count(
				"Dynamic Link", {"parenttype": "Contact", "parent": first.contact, "link_doctype": "Customer"}
			),
			1,
		)

	def test_sales_order_and_project_from_an_opportunity(self):
		deal = self.deal(expected_close_date=frappe.utils.add_days(frappe.utils.today(), 30))
		order = self.make("sales_order", deal.name).json()["message"]["name"]
		response = self.make("project", deal.name)
		self.assertEqual(response.status_code, 200, response.text)
		project = response.json()["message"]["name"]
		frappe.db.rollback()
		order = frappe.get_doc("Sales Order", order)
		self.assertEqual(
			(order.pipeline_opportunity, order.company, order.grand_total), (deal.name, self.company, 300)
		)
		self.assertEqual(str(order.delivery_date), str(deal.expected_close_date))
		project = frappe.get_doc("Project", project)
		customer = frappe.db.get_value("Pipeline Opportunity", deal.name, "customer")
		self.assertEqual(
			(project.pipeline_opportunity, project.customer, project.company, project.estimated_costing),
			(deal.name, customer, self.company, 300),
		)

	def test_another_teams_opportunity_answers_as_a_missing_one(self):
		theirs = self.deal(team=self.other_team)
		foreign = self.make("quotation", theirs.name)
		missing = self.make("quotation", "OPP-99999999")
		self.assertEqual(foreign.status_code, missing.status_code)
		self.assertEqual(foreign.status_code, 404)
		self.assertEqual(foreign.json().get("exc_type"), missing.json().get("exc_type"))
		frappe.db.rollback()
		self.assertFalse(frappe.db.exists("Quotation", {"pipeline_opportunity": theirs.name}))
		self.assertFalse(frappe.db.get_value("Pipeline Opportunity", theirs.name, "customer"))

	def test_a_seller_cannot_link_a_quotation_to_another_teams_opportunity(self):
		theirs = self.deal(team=self.other_team)
		mine = self.deal()
		name = self.make("quotation", mine.name).json()["message"]["name"]

		def relink(target):
			return self.client.put(f"/api/resource/Quotation/{name}", {"pipeline_opportunity": target})

		foreign, missing = relink(theirs.name), relink("OPP-99999999")
		self.assertEqual(foreign.status_code, missing.status_code)
		self.assertNotEqual(foreign.status_code, 200)

		# the whole answers match once the name is swapped (no traceback for sellers)
		def answer(response, name):
			return re.sub(r"__frappe_exc_id[^,}]*", "", response.text.replace(name, "X"))

		self.assertEqual(answer(foreign, theirs.name), answer(missing, "OPP-99999999"), foreign.text)
		self.assertEqual(fresh("Quotation", name).pipeline_opportunity, mine.name)


class TestOutcomesFollowTheDocuments(ErpnextHttpCase):
	def test_quotation_submitted_ordered_then_order_cancelled(self):
		deal = self.deal()
		quotation = self.make("quotation", deal.name).json()["message"]["name"]
		self.submit("Quotation", quotation)
		opportunity = frappe.get_doc("Pipeline Opportunity", deal.name)
		self.assertEqual(
			(opportunity.stage, opportunity.status), (stage_named(self.team, "Proposal"), "Open")
		)

		order = self.order_from_quotation(quotation)
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value("Sales Order", order, "pipeline_opportunity"), deal.name)
		self.submit("Sales Order", order)
		opportunity = frappe.get_doc("Pipeline Opportunity", deal.name)
		self.assertEqual((opportunity.stage, opportunity.status), (stage_named(self.team, "Won"), "Won"))
		self.assertEqual(frappe.db.get_value("Quotation", quotation, "status"), "Ordered")
		self.assertIn(("Status", "Won", "Sales Order", order), causes(deal.name))
		self.assertIn(
			("Stage", stage_named(self.team, "Proposal"), "Quotation", quotation), causes(deal.name)
		)

		# submitting again changes nothing: one Won row
		outcomes.on_sales_order_submit(frappe.get_doc("Sales Order", order))
		self.assertEqual([c for c in causes(deal.name) if c[1] == "Won"].__len__(), 1)

		response = self.client.call("frappe.client.cancel", doctype="Sales Order", name=order)
		self.assertEqual(response.status_code, 200, response.text)
		frappe.db.rollback()
		opportunity = frappe.get_doc("Pipeline Opportunity", deal.name)
		self.assertEqual(
			(opportunity.status, opportunity.stage), ("Open", stage_named(self.team, "Proposal"))
		)
		self.assertIn(("Status", "Open", "Sales Order", order), causes(deal.name))
		self.assertTrue(
			frappe.db.exists(
				"Notification Log",
				{
					"for_user": self.seller,
					"document_type": "Pipeline Opportunity",
					"document_name": deal.name,
				},
			)
		)
		notes = comments(deal.name)
		self.assertTrue(any(quotation in note for note in notes), notes)
		self.assertTrue(any(order in note and "cancelled" in note for note in notes), notes)

	def test_quotation_declared_lost_makes_the_opportunity_lost_with_its_reason(self):
		if not frappe.db.exists("Quotation Lost Reason", "Too expensive"):
			frappe.get_doc(
				{"doctype": "Quotation Lost Reason", "order_lost_reason": "Too expensive"}
			).insert()
			frappe.db.commit()
		deal = self.deal()
		quotation = self.make("quotation", deal.name).json()["message"]["name"]
		self.submit("Quotation", quotation)
		response = self.client.post(
			"/api/method/run_doc_method",
			{
				"dt": "Quotation",
				"dn": quotation,
				"method": "declare_enquiry_lost",
				"args": json.dumps(
					{
						"lost_reasons_list": [{"lost_reason": "Too expensive"}],
						"competitors": [],
						"detailed_reason": "Went elsewhere",
					}
				),
			},
		)
		self.assertEqual(response.status_code, 200, response.text)
		opportunity = fresh("Pipeline Opportunity", deal.name)
		self.assertEqual(
			(opportunity.status, opportunity.stage, opportunity.lost_reason, opportunity.lost_detail),
			("Lost", stage_named(self.team, "Lost"), "Too expensive", "Went elsewhere"),
		)
		self.assertIn(("Status", "Lost", "Quotation", quotation), causes(deal.name))

		# reopened by the seller, it stays open when the lost quotation is saved again
		opportunity.status = "Open"
		opportunity.save(ignore_permissions=True)
		outcomes.on_quotation_update_after_submit(frappe.get_doc("Quotation", quotation))
		self.assertEqual(frappe.db.get_value("Pipeline Opportunity", deal.name, "status"), "Open")

	def test_an_erpnext_user_outside_the_team_ordering_wins_the_opportunity(self):
		deal = self.deal()
		quotation = self.make("quotation", deal.name).json()["message"]["name"]
		self.submit("Quotation", quotation)
		clerk = make_seller(roles=("Sales User", "Sales Manager"))
		frappe.db.commit()
		clerk_client = Client.as_user(clerk)
		order = self.order_from_quotation(quotation, client=clerk_client)
		self.submit("Sales Order", order, client=clerk_client)
		self.assertEqual(frappe.db.get_value("Pipeline Opportunity", deal.name, "status"), "Won")
		self.assertIn(("Status", "Won", "Sales Order", order), causes(deal.name))

	def test_a_team_switch_turns_an_outcome_off(self):
		team = make_erpnext_team(members=[self.seller], win_on_sales_order=0).name
		frappe.db.commit()
		deal = self.deal(team=team, opportunity_owner=self.seller)
		order = self.make("sales_order", deal.name).json()["message"]["name"]
		self.submit("Sales Order", order)
		self.assertEqual(frappe.db.get_value("Pipeline Opportunity", deal.name, "status"), "Open")


class TestOutcomeHooksCostNothingUnlinked(FrappeTestCase):
	def test_no_query_for_documents_linked_to_no_opportunity(self):
		quotation = frappe.new_doc("Quotation")
		quotation.status = "Lost"
		order = frappe.new_doc("Sales Order")
		with self.assertQueryCount(0):
			outcomes.check_opportunity_link(quotation)
			outcomes.on_quotation_submit(quotation)
			outcomes.on_quotation_update_after_submit(quotation)
			outcomes.on_sales_order_submit(order)
			outcomes.on_sales_order_cancel(order)
			outcomes.check_opportunity_link(order)


class TestCustomerConnections(ErpnextHttpCase):
	def test_a_customers_connections_count_only_the_users_teams_opportunities(self):
		"""Frappe counts the documents of any doctype the caller names in `items` without permission."""
		theirs = self.deal(self.other_team)
		customer = frappe.get_doc(
			{"doctype": "Customer", "customer_name": f"Shared {frappe.generate_hash(length=6)}"}
		).insert(ignore_permissions=True)
		frappe.db.set_value("Pipeline Opportunity", theirs.name, "customer", customer.name)
		frappe.db.commit()

		def count(client):
			response = client.call(
				"frappe.desk.notifications.get_open_count",
				"GET",
				doctype="Customer",
				name=customer.name,
				items=["Pipeline Opportunity"],
			)
			self.assertEqual(response.status_code, 200, response.text[:300])
			found = response.json()["message"]["count"]["external_links_found"]
			return next(entry["count"] for entry in found if entry["doctype"] == "Pipeline Opportunity")

		self.assertEqual(count(self.client), 0)
		self.assertEqual(count(self.other_client), 1)
