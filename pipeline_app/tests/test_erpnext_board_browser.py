"""With ERPNext, in a real browser (Debian's Chromium, headless): a seller wins a deal on the Pipeline
Board with the Won dialog, gets a Quotation with the deal's items and customer, and sees its badge on
the card; when an ERPNext user outside the team orders that Quotation, the card turns Won on every
open board, with nobody touching the pipeline. Runs on the ERPNext site (markers erpnext, browser)."""

import json
import time

import frappe
import pytest
from frappe.utils import random_string, today

from pipeline_app.tests.erpnext_factories import (
	default_company,
	make_deal,
	make_erpnext_team,
	make_item,
	make_seller,
)
from pipeline_app.tests.http_client import Client
from pipeline_app.tests.test_board_browser import (  # the browser fixtures
	REALTIME_SECONDS,
	browser,
	card,
	open_board,
	site_url,
)
from pipeline_app.tests.test_erpnext_conversion_browser import CREATE, open_form

pytestmark = [pytest.mark.erpnext, pytest.mark.browser]


@pytest.fixture(scope="module")
def world():
	suffix = random_string(5).lower()
	alice = make_seller()
	bob = make_seller()
	# an ERPNext user who is in no pipeline team
	clerk = make_seller(roles=("Sales User", "Sales Manager"))
	team = make_erpnext_team(members=[alice, bob]).name
	item = make_item(rate=250)
	frappe.db.commit()
	data = frappe._dict(alice=alice, bob=bob, clerk=clerk, team=team, item=item, suffix=suffix)
	yield data
	frappe.db.rollback()


def submit(client, doctype: str, name: str):
	doc = client.get(f"/api/resource/{doctype}/{name}").json()["data"]
	response = client.call("frappe.client.submit", doc=json.dumps(doc))
	assert response.status_code == 200, response.text[:500]


def test_won_on_the_board_makes_a_quotation_and_its_order_wins_the_card_everywhere(world, open_board):  # noqa: F811
	deal = make_deal(
		world.team,
		organisation=f"Browser Buyer {world.suffix}",
		items=[(world.item, 3, 250)],
		company=default_company(),
		opportunity_owner=world.alice,
		title=f"Browser deal {world.suffix}",
	)
	frappe.db.commit()
	alice = open_board(world.alice, world.team)
	bob = open_board(world.bob, world.team)
	card(bob, deal.name).wait_for()

	card(alice, deal.name).click()
	panel = alice.locator(".pb-panel")
	panel.locator(".pb-outcome-won").click()
	dialog = alice.locator(".modal.show")
	dialog.locator(".pb-win-outcome").wait_for()
	assert "stays open" in dialog.locator(".pb-win-outcome").inner_text()
	assert dialog.locator("select").input_value() == "Quotation"
	dialog.locator(".btn-primary").click()

	badge = '.pb-doc[data-doctype="Quotation"]'
	card(alice, deal.name).locator(badge).wait_for(timeout=10000)
	frappe.db.rollback()
	quotation = frappe.get_doc("Quotation", {"pipeline_opportunity": deal.name})
	assert [(row.item_code, row.qty, row.rate) for row in quotation.items] == [(world.item, 3, 250)]
	assert quotation.party_name == frappe.db.get_value("Pipeline Opportunity", deal.name, "customer")
	assert (
		frappe.db.get_value("Customer", quotation.party_name, "customer_name")
		== f"Browser Buyer {world.suffix}"
	)
	assert card(alice, deal.name).locator(badge).get_attribute("data-document") == quotation.name
	assert "Draft" in card(alice, deal.name).locator(badge).inner_text()
	# the other seller's board got the badge through realtime
	card(bob, deal.name).locator(badge).wait_for(timeout=REALTIME_SECONDS * 1000)
	assert frappe.db.get_value("Pipeline Opportunity", deal.name, "status") == "Open"
	assert not card(alice, deal.name).get_attribute("class").count("pb-status-won")

	# ERPNext's side: someone outside the team submits and orders the quotation
	clerk = Client.as_user(world.clerk)
	submit(clerk, "Quotation", quotation.name)
	mapped = clerk.call(
		"erpnext.selling.doctype.quotation.quotation.make_sales_order", source_name=quotation.name
	).json()["message"]
	mapped["delivery_date"] = today()
	for row in mapped["items"]:
		row["delivery_date"] = today()
	order = clerk.call("frappe.client.insert", doc=json.dumps(mapped)).json()["message"]["name"]
	started = time.monotonic()
	submit(clerk, "Sales Order", order)
	for page in (alice, bob):
		page.locator(f'.pb-card.pb-status-won[data-name="{deal.name}"]').wait_for(
			timeout=REALTIME_SECONDS * 1000
		)
		page.locator(f'.pb-card[data-name="{deal.name}"] .pb-doc[data-document="{order}"]').wait_for(
			timeout=REALTIME_SECONDS * 1000
		)
	print(f"card turned Won on both boards {time.monotonic() - started:.2f} s after the order was submitted")
	assert "Ordered" in card(bob, deal.name).locator(badge).inner_text()
	assert not alice.errors and not bob.errors, alice.errors + bob.errors


def test_the_form_makes_documents_lists_them_and_wins_with_a_project(world, open_form):  # noqa: F811
	"""The opportunity form: Create > Quotation opens the new quotation; back on the deal its documents
	are listed with their status; the workflow's Win opens the Won dialog, and Project makes one and
	marks the deal Won."""
	deal = make_deal(
		world.team,
		organisation=f"Form Buyer {world.suffix}",
		items=[(world.item, 1, 250)],
		company=default_company(),
		opportunity_owner=world.alice,
	)
	frappe.db.commit()
	page = open_form(world.alice, "Pipeline Opportunity", deal.name)
	page.locator(f"{CREATE} > button").first.click()
	page.locator(f'{CREATE} .dropdown-item[data-label="Quotation"]').click()
	page.wait_for_url("**/app/quotation/**", timeout=15000)
	quotation = page.url.rsplit("/", 1)[1]
	frappe.db.rollback()
	assert frappe.db.get_value("Quotation", quotation, "pipeline_opportunity") == deal.name

	page.goto(f"{site_url()}/app/pipeline-opportunity/{deal.name}")
	listed = page.locator(".pipeline-erpnext-documents")
	listed.wait_for(timeout=15000)
	assert quotation in listed.inner_text() and "Draft" in listed.inner_text()

	page.locator(".actions-btn-group > button").click()
	page.locator(".actions-btn-group .dropdown-item", has_text="Win").click()
	dialog = page.locator(".modal.show")
	dialog.locator(".pb-win-outcome").wait_for()
	dialog.locator("select").select_option("Project")
	assert "Project is made" in dialog.locator(".pb-win-outcome").inner_text()
	dialog.locator(".btn-primary").click()
	page.wait_for_function("() => cur_frm && cur_frm.doc.status === 'Won'", timeout=15000)
	frappe.db.rollback()
	assert frappe.db.get_value("Pipeline Opportunity", deal.name, "status") == "Won"
	assert frappe.db.exists("Project", {"pipeline_opportunity": deal.name})
	assert not page.errors, page.errors
