"""ERPNext import benchmark: seeds N ERPNext Opportunities (two item lines each, a sales stage, a
fifth of them Lost, a fifth Converted) and imports them into a new team's funnel with
`pipeline_app.erpnext.conversion.import_erpnext_opportunities`, the bench command's function; prints
wall time, queries and time per opportunity, then a second run's (which imports nothing).

Needs a site with ERPNext and its test defaults (a company). Run with the bench's Python from the
bench's sites directory:
    ../env/bin/python ../apps/pipeline_app/benchmarks/erpnext_import.py --site SITE --count 2000
"""

import argparse
import time

import frappe
from frappe.utils import random_string, today

STATUSES = ("Open", "Replied", "Lost", "Converted", "Quotation")
SALES_STAGES = ("Prospecting", "Qualification", "Proposal/Price Quote", "Negotiation/Review")


def seed(count: int) -> list[str]:
	company = frappe.db.get_single_value("Global Defaults", "default_company")
	item = frappe.get_doc(
		{
			"doctype": "Item",
			"item_code": f"BENCH-{random_string(6)}",
			"item_group": frappe.db.get_value("Item Group", {"is_group": 0}),
			"stock_uom": "Nos",
			"is_stock_item": 0,
		}
	).insert(ignore_permissions=True)
	customers = [
		frappe.get_doc({"doctype": "Customer", "customer_name": f"Bench {random_string(6)}"})
		.insert(ignore_permissions=True)
		.name
		for _ in range(50)
	]
	reason = "Benchmark lost reason"
	if not frappe.db.exists("Opportunity Lost Reason", reason):
		frappe.get_doc({"doctype": "Opportunity Lost Reason", "lost_reason": reason}).insert()
	names = []
	for index in range(count):
		status = STATUSES[index % len(STATUSES)]
		doc = frappe.get_doc(
			{
				"doctype": "Opportunity",
				"opportunity_from": "Customer",
				"party_name": customers[index % len(customers)],
				"company": company,
				"transaction_date": today(),
				"sales_stage": SALES_STAGES[index % len(SALES_STAGES)],
				"items": [
					{"item_code": item.name, "qty": 1 + index % 3, "rate": 100},
					{"item_code": item.name, "qty": 1, "rate": 25},
				],
				"lost_reasons": [{"lost_reason": reason}] if status == "Lost" else [],
			}
		).insert(ignore_permissions=True)
		if status != "Open":
			frappe.db.set_value("Opportunity", doc.name, "status", status, update_modified=False)
		names.append(doc.name)
		if index % 500 == 499:
			frappe.db.commit()
	frappe.db.commit()
	return names


def timed_import(team: str) -> tuple[dict, float, int]:
	from pipeline_app.erpnext.conversion import import_erpnext_opportunities

	queries = frappe.db.sql("show session status like 'Questions'")[0][1]
	started = time.perf_counter()
	counts = import_erpnext_opportunities(team)
	seconds = time.perf_counter() - started
	queries = int(frappe.db.sql("show session status like 'Questions'")[0][1]) - int(queries)
	return counts, seconds, queries


def main():
	parser = argparse.ArgumentParser()
	parser.add_argument("--site", required=True)
	parser.add_argument("--count", type=int, default=2000)
	args = parser.parse_args()
	frappe.init(site=args.site, sites_path=".")
	frappe.connect()
	frappe.set_user("Administrator")
	try:
		started = time.perf_counter()
		seed(args.count)
		print(f"seeded {args.count} ERPNext Opportunities in {time.perf_counter() - started:.1f}s")
		team = frappe.get_doc(
			{
				"doctype": "Pipeline Team",
				"team_name": f"Benchmark Import {random_string(5)}",
				"funnel_template": "Sales funnel",
				"deal_amount_enabled": 1,
			}
		).insert(ignore_permissions=True)
		frappe.db.commit()
		for label in ("first run", "second run"):
			counts, seconds, queries = timed_import(team.name)
			done = counts["imported"] + counts["skipped"]
			print(
				f"{label}: imported {counts['imported']}, skipped {counts['skipped']}, failed "
				f"{counts['failed']} in {seconds:.1f}s ({1000 * seconds / max(done, 1):.1f} ms and "
				f"{queries / max(done, 1):.0f} queries per opportunity); stages {counts['stages']}"
			)
	finally:
		frappe.destroy()


if __name__ == "__main__":
	main()
