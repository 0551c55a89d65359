"""Item lines take their rate from the team's selling price list (else Selling Settings' default)
where they have none. doc_events: Pipeline Opportunity before_validate, so the amount rules see the
rates; an opportunity without item lines costs no query."""

import frappe
from frappe.utils import flt

from pipeline_app.erpnext import erpnext_installed


def fill_item_rates(opportunity, method=None) -> None:
	rows = [row for row in opportunity.get("items") or [] if row.item and not flt(row.rate)]
	if not rows or not erpnext_installed():
		return
	price_list = frappe.get_cached_value("Pipeline Team", opportunity.team, "selling_price_list") or (
		frappe.db.get_single_value("Selling Settings", "selling_price_list")
	)
	if not price_list:
		return
	for row in rows:
		rate = frappe.db.get_value(
			"Item Price", {"item_code": row.item, "price_list": price_list, "selling": 1}, "price_list_rate"
		)
		if rate is not None:
			row.rate = rate
