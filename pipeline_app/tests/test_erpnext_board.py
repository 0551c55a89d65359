"""With ERPNext, the deal's documents where people work: the Won dialog's server side (a Quotation, a
Sales Order, a Project or just close), the card badges of the latest Quotation and Sales Order on
board loads and in realtime events (each user seeing only what ERPNext lets them read), and the
opportunity form's Connections and document list. Over HTTP on the ERPNext site (marker `erpnext`)."""

import frappe
import pytest
from frappe.tests.utils import FrappeTestCase

from pipeline_app.erpnext import linked
from pipeline_app.erpnext.documents import make_document
from pipeline_app.realtime import BOARD_EVENT
from pipeline_app.tests.counters import forget_queued_events, queued_events
from pipeline_app.tests.erpnext_factories import make_erpnext_team, make_seller
from pipeline_app.tests.factories import make_user, stage_named
from pipeline_app.tests.http_client import Client
from pipeline_app.tests.test_erpnext_loop import ErpnextHttpCase, fresh

pytestmark = pytest.mark.erpnext

WIN = "pipeline_app.erpnext.documents.win_opportunity"


def board_card(client, team: str, name: str) -> dict:
	response = client.call("pipeline_app.api.get_board", "GET", team=team)
	assert response.status_code == 200, response.text[:300]
	for column in response.json()["message"]["columns"]:
		for card in column["cards"]:
			if card["name"] == name:
				return card
	raise AssertionError(f"{name} not on the board")


def linked_names(doctype: str, opportunity: str) -> list[str]:
	frappe.db.rollback()
	return frappe.get_all(doctype, {"pipeline_opportunity": opportunity}, pluck="name")


class TestWonDialog(ErpnextHttpCase):
	def win(self, deal, document=None, client=None, **args):
		return (client or self.client).call(
			WIN, opportunity=deal.name, document=document, expected_modified=str(deal.modified), **args
		)

	def test_quotation_made_and_the_deal_stays_open_until_ordered(self):
		deal = self.deal()
		response = self.win(deal, "Quotation")
		self.assertEqual(response.status_code, 200, response.text[:500])
		result = response.json()["message"]
		self.assertEqual(result["document"]["doctype"], "Quotation")
		self.assertFalse(result["won"])
		self.assertEqual(result["card"]["status"], "Open")
		self.assertEqual(
			result["card"]["documents"],
			[{"doctype": "Quotation", "name": result["document"]["name"], "status": "Draft", "docstatus": 0}],
		)
		quotation = fresh("Quotation", result["document"]["name"])
		self.assertEqual(
			(quotation.pipeline_opportunity, quotation.items[0].item_code), (deal.name, self.item)
		)
		self.assertEqual(fresh("Pipeline Opportunity", deal.name).status, "Open")

		# ordered in ERPNext: won without anyone touching the pipeline
		self.submit("Quotation", quotation.name)
		order = self.order_from_quotation(quotation.name)
		self.submit("Sales Order", order)
		self.assertEqual(fresh("Pipeline Opportunity", deal.name).status, "Won")
		self.assertEqual(
			[
				(d["doctype"], d["name"], d["status"])
				for d in board_card(self.client, self.team, deal.name)["documents"]
			],
			[("Quotation", quotation.name, "Ordered"), ("Sales Order", order, "To Deliver and Bill")],
		)

	def test_where_the_order_does_not_decide_the_deal_is_won_now(self):
		team = make_erpnext_team(members=[self.seller], win_on_sales_order=0).name
		frappe.db.commit()
		deal = self.deal(team=team, opportunity_owner=self.seller)
		result = self.win(deal, "Sales Order").json()["message"]
		self.assertTrue(result["won"])
		self.assertEqual(fresh("Pipeline Opportunity", deal.name).status, "Won")
		self.assertEqual(linked_names("Sales Order", deal.name), [result["document"]["name"]])

	def test_project_made_and_won(self):
		deal = self.deal()
		result = self.win(deal, "Project").json()["message"]
		self.assertTrue(result["won"])
		opportunity = fresh("Pipeline Opportunity", deal.name)
		self.assertEqual((opportunity.status, opportunity.stage), ("Won", stage_named(self.team, "Won")))
		self.assertEqual(linked_names("Project", deal.name), [result["document"]["name"]])

	def test_just_close(self):
		deal = self.deal()
		result = self.win(deal).json()["message"]
		self.assertEqual((result["won"], result["document"]), (True, None))
		self.assertEqual(fresh("Pipeline Opportunity", deal.name).status, "Won")
		self.assertEqual(linked_names("Quotation", deal.name), [])

	def test_a_lost_deal_won_with_a_quotation(self):
		deal = self.deal()
		frappe.db.set_value("Pipeline Opportunity", deal.name, {"status": "Lost", "lost_reason": None})
		frappe.db.commit()
		deal.reload()
		result = self.win(deal, "Quotation").json()["message"]
		self.assertEqual((result["card"]["status"], len(linked_names("Quotation", deal.name))), ("Open", 1))

	def test_refused_and_conflicting_wins_make_nothing(self):
		deal = self.deal()
		bad = self.win(deal, "Sales Invoice")
		self.assertEqual(bad.status_code, 417, bad.text[:300])
		self.assertIn("Choose what to make", bad.text)

		stale = self.client.call(
			WIN, opportunity=deal.name, document="Quotation", expected_modified="2020-01-01 00:00:00"
		)
		self.assertEqual(stale.status_code, 409, stale.text[:300])
		self.assertEqual(stale.json()["message"]["card"]["name"], deal.name)

		theirs = self.deal(self.other_team)
		foreign = self.win(theirs, "Quotation")
		self.assertEqual(foreign.status_code, 404, foreign.text[:300])

		get = self.client.call(WIN, "GET", opportunity=deal.name)
		self.assertEqual(get.status_code, 403, get.text[:300])

		self.assertEqual(linked_names("Quotation", deal.name) + linked_names("Quotation", theirs.name), [])
		self.assertEqual(fresh("Pipeline Opportunity", deal.name).status, "Open")
		self.assertEqual(fresh("Pipeline Opportunity", theirs.name).status, "Open")


class TestCardBadges(ErpnextHttpCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		# in the team, but ERPNext does not let this member read quotations or orders
		cls.pipeline_only = make_user(roles=("Pipeline User",))
		team = frappe.get_doc("Pipeline Team", cls.team)
		team.append("members", {"user": cls.pipeline_only})
		team.save(ignore_permissions=True)
		frappe.db.commit()
		cls.pipeline_only_client = Client.as_user(cls.pipeline_only)

	def test_board_cards_show_the_latest_quotation_and_order_the_user_may_read(self):
		deal = self.deal()
		self.assertEqual(board_card(self.client, self.team, deal.name)["documents"], [])
		first = self.make("quotation", deal.name).json()["message"]["name"]
		latest = self.make("quotation", deal.name).json()["message"]["name"]
		self.assertEqual(
			board_card(self.client, self.team, deal.name)["documents"],
			[{"doctype": "Quotation", "name": latest, "status": "Draft", "docstatus": 0}],
		)
		self.assertNotEqual(first, latest)
		# cancelled or deleted, the badge goes back to the one before
		self.assertEqual(self.client.delete(f"/api/resource/Quotation/{latest}").status_code, 202)
		self.assertEqual(
			[d["name"] for d in board_card(self.client, self.team, deal.name)["documents"]], [first]
		)
		self.assertEqual(board_card(self.pipeline_only_client, self.team, deal.name)["documents"], [])

		# scrolling a column brings the same badges
		response = self.client.call(
			"pipeline_app.api.get_stage_cards", "GET", team=self.team, stage=deal.stage, limit=200
		)
		cards = {card["name"]: card for card in response.json()["message"]["cards"]}
		self.assertEqual([d["name"] for d in cards[deal.name]["documents"]], [first])


class TestBadgesInRealtime(FrappeTestCase):
	"""In-process: events are queued per user room until commit (counters.queued_events)."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.seller = make_seller()
		cls.pipeline_only = make_user(roles=("Pipeline User",))
		cls.team = make_erpnext_team(members=[cls.seller, cls.pipeline_only]).name

	def events(self, name):
		return {
			room: message["card"]
			for event, message, room in queued_events()
			if event == BOARD_EVENT and message["name"] == name
		}

	def test_a_new_quotation_sends_the_card_with_its_badge_to_those_who_may_read_it(self):
		from pipeline_app.tests.erpnext_factories import default_company, make_deal, make_item

		deal = make_deal(
			self.team, organisation="Realtime buyer", items=[(make_item(), 1, 10)], company=default_company()
		)
		forget_queued_events()
		made = make_document(deal.name, "Quotation")
		events = self.events(deal.name)
		self.assertEqual([d["name"] for d in events[f"user:{self.seller}"]["documents"]], [made["name"]])
		self.assertEqual(events[f"user:{self.pipeline_only}"]["documents"], [])

	def test_documents_linked_to_no_opportunity_cost_no_query(self):
		quotation, order = frappe.new_doc("Quotation"), frappe.new_doc("Sales Order")
		with self.assertQueryCount(0):
			linked.on_document_change(quotation)
			linked.on_document_change(order)


class TestFormConnections(ErpnextHttpCase):
	def test_the_form_counts_and_lists_the_documents_made_for_the_deal(self):
		deal = self.deal()
		quotation = self.make("quotation", deal.name).json()["message"]["name"]
		project = self.make("project", deal.name).json()["message"]["name"]
		response = self.client.call(
			"frappe.desk.notifications.get_open_count",
			"GET",
			doctype="Pipeline Opportunity",
			name=deal.name,
			items=["Quotation", "Sales Order", "Project", "Pipeline Appointment"],
		)
		self.assertEqual(response.status_code, 200, response.text[:300])
		found = {
			e["doctype"]: e["count"] for e in response.json()["message"]["count"]["external_links_found"]
		}
		self.assertEqual(found, {"Quotation": 1, "Sales Order": 0, "Project": 1, "Pipeline Appointment": 0})

		meta = self.client.call("frappe.desk.form.load.getdoctype", "GET", doctype="Pipeline Opportunity")
		dashboard = meta.json()["docs"][0]["__dashboard"]
		self.assertEqual(
			[group["items"] for group in dashboard["transactions"]],
			[["Quotation", "Sales Order"], ["Project"], ["Pipeline Appointment", "Pipeline Stage Change"]],
		)

		listed = self.client.call(
			"pipeline_app.erpnext.linked.get_opportunity_documents", "GET", opportunity=deal.name
		)
		self.assertEqual(listed.status_code, 200, listed.text[:300])
		self.assertEqual(
			{(d["doctype"], d["name"], d["status"]) for d in listed.json()["message"]},
			{("Quotation", quotation, "Draft"), ("Project", project, "Open")},
		)
		foreign = self.other_client.call(
			"pipeline_app.erpnext.linked.get_opportunity_documents", "GET", opportunity=deal.name
		)
		self.assertEqual(foreign.status_code, 404, foreign.text[:300])
