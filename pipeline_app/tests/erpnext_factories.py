"""Factories for the ERPNext tests (run on a site with ERPNext only). Trusted code."""

import frappe
from frappe.utils import random_string

from pipeline_app.tests.factories import make_contact, make_team, make_user, stage_named

SELLER_ROLES = ("Pipeline User", "Sales User", "Projects User")


def default_company() -> str:
	return (
		frappe.db.get_single_value("Global Defaults", "default_company")
		or frappe.get_all("Company", pluck="name", limit=1)[0]
	)


def make_item(rate: float = 100) -> str:
	code = f"PIPE-{random_string(6)}"
	frappe.get_doc(
		{
			"doctype": "Item",
			"item_code": code,
			"item_name": f"Item {code}",
			"item_group": frappe.db.get_value("Item Group", {"is_group": 0}),
			"stock_uom": "Nos",
			"is_stock_item": 0,
			"standard_rate": rate,
		}
	).insert(ignore_permissions=True)
	return code


def make_erpnext_team(members=(), **fields):
	"""A Sales funnel team whose submitted quotations move to Proposal."""
	team = make_team(members=members, deal_amount_enabled=1, **fields)
	team.quotation_sent_stage = stage_named(team.name, "Proposal")
	team.save(ignore_permissions=True)
	return team


def make_deal(team: str, organisation: str | None = None, items=(), **fields):
	"""An opportunity with a contact (of `organisation`) and item lines [(item, qty, rate)]."""
	contact = make_contact(email=f"{random_string(8)}@buyer.test")
	if organisation:
		frappe.db.set_value("Contact", contact, "company_name", organisation)
	doc = frappe.get_doc(
		{
			"doctype": "Pipeline Opportunity",
			"title": f"Deal {random_string(6)}",
			"team": team,
			"contact": contact,
			"items": [{"item": item, "qty": qty, "rate": rate} for item, qty, rate in items],
			**fields,
		}
	)
	doc.insert(ignore_permissions=True)
	return doc


def make_seller(roles=SELLER_ROLES) -> str:
	return make_user(roles=roles)
