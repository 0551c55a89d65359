"""Create > Convert to Pipeline Opportunity on ERPNext's Lead and Opportunity forms, in headless
Chromium: the dialog offers the seller's team, and converting opens the new opportunity. Runs on the
ERPNext site (markers erpnext, browser)."""

import frappe
import pytest
from frappe.utils import random_string

from pipeline_app.demo import skip_setup_wizard
from pipeline_app.tests.browser import browser, logged_in_page
from pipeline_app.tests.erpnext_factories import make_erpnext_team, make_seller
from pipeline_app.tests.factories import make_user
from pipeline_app.tests.test_erpnext_conversion import make_erpnext_opportunity, make_lead

pytestmark = [pytest.mark.erpnext, pytest.mark.browser]

CREATE = '.inner-group-button[data-label="Create"]'
CONVERT = f'{CREATE} .dropdown-item[data-label="{"Convert%20to%20Pipeline%20Opportunity"}"]'


@pytest.fixture(scope="module")
def world():
	skip_setup_wizard()
	seller = make_seller()
	clerk = make_user(f"clerk.{random_string(6).lower()}@pipeline.test", roles=("Sales User",))
	team = make_erpnext_team(members=[seller]).name
	frappe.db.commit()
	return frappe._dict(seller=seller, clerk=clerk, team=team)


@pytest.fixture
def open_form(browser):  # noqa: F811 (the browser fixture)
	contexts = []

	def open_form(user: str, doctype: str, name: str):
		page = logged_in_page(browser, user, f"/app/{frappe.scrub(doctype).replace('_', '-')}/{name}")
		contexts.append(page.context)
		page.wait_for_function(
			"([doctype, name]) => window.cur_frm && cur_frm.doctype === doctype && cur_frm.docname === name"
			" && !cur_frm.is_dirty()",
			arg=[doctype, name],
			timeout=30000,
		)
		page.locator(f"{CREATE} > button").first.wait_for(timeout=15000)
		return page

	yield open_form
	for context in contexts:
		context.close()


def convert(page, team: str) -> str:
	page.locator(f"{CREATE} > button").first.click()
	page.locator(CONVERT).click()
	dialog = page.locator(".modal.show")
	dialog.wait_for()
	assert dialog.locator('input[data-fieldname="team"]').input_value() == team
	dialog.locator(".btn-modal-primary").click()
	page.wait_for_url("**/app/pipeline-opportunity/OPP-*", timeout=15000)
	return page.url.rsplit("/", 1)[1]


@pytest.mark.parametrize("doctype", ["Lead", "Opportunity"])
def test_convert_opens_the_new_opportunity(world, open_form, doctype):
	source = make_lead() if doctype == "Lead" else make_erpnext_opportunity()
	frappe.db.commit()
	page = open_form(world.seller, doctype, source)
	name = convert(page, world.team)
	frappe.db.rollback()
	field = "lead" if doctype == "Lead" else "erpnext_opportunity"
	assert frappe.get_all("Pipeline Opportunity", {field: source}, pluck="name") == [name]
	assert frappe.db.get_value("Pipeline Opportunity", name, "team") == world.team
	assert not page.errors, page.errors


def test_no_button_for_a_user_who_cannot_create_pipeline_opportunities(world, open_form):
	lead = make_lead()
	frappe.db.commit()
	page = open_form(world.clerk, "Lead", lead)
	page.locator(f"{CREATE} > button").first.click()
	page.locator(f'{CREATE} .dropdown-item[data-label="Opportunity"]').wait_for()
	assert page.locator(CONVERT).count() == 0
	assert not page.errors, page.errors
