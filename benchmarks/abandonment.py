"""Abandonment benchmark: runs the nightly job over N opportunities of which 10% are due, at
N = 10,000 and 100,000, and prints wall time and peak memory of each run.

Run with the bench's Python from the bench's sites directory (scripts/benchmark does this):
    ../env/bin/python ../apps/pipeline_app/benchmarks/abandonment.py --site pipeline-bench.localhost
"""

import argparse
import resource
import time
import tracemalloc

import frappe
from frappe.utils import add_days, now_datetime

TEAM = "Benchmark Abandonment"


def reset_team():
	for doctype, field in (("Pipeline Stage Change", "team"), ("Pipeline Opportunity", "team")):
		frappe.db.delete(doctype, {field: TEAM})
	frappe.db.delete(
		"Comment", {"reference_doctype": "Pipeline Opportunity", "content": ("like", "Abandoned:%")}
	)
	if frappe.db.exists("Pipeline Team", TEAM):
		frappe.delete_doc("Pipeline Team", TEAM, force=True, ignore_permissions=True)
	frappe.get_doc(
		{
			"doctype": "Pipeline Team",
			"team_name": TEAM,
			"funnel_template": "Appointment funnel",
			"abandon_after_days": 14,
		}
	).insert(ignore_permissions=True)
	frappe.db.commit()


def seed(total: int, due_share: float = 0.1):
	stages = {
		s.stage_name: s.name for s in frappe.get_all("Funnel Stage", {"team": TEAM}, ["name", "stage_name"])
	}
	old, recent = add_days(now_datetime(), -30), add_days(now_datetime(), -2)
	due_every = round(1 / due_share)
	rows = []
	for i in range(total):
		due = i % due_every == 0
		# not due: recent in an abandonable stage, or old in a stage that is not abandonable
		stage = stages["Opt In"] if due or i % 2 else stages["Intake"]
		created = old if due or not i % 2 else recent
		rows.append(
			(
				f"BENCH-{i:07d}",
				f"Benchmark {i}",
				TEAM,
				stage,
				"Open",
				created,
				created,
				"Administrator",
				"Administrator",
			)
		)
	frappe.db.bulk_insert(
		"Pipeline Opportunity",
		["name", "title", "team", "stage", "status", "creation", "modified", "owner", "modified_by"],
		rows,
		chunk_size=10_000,
	)
	frappe.db.commit()
	return sum(1 for i in range(total) if i % due_every == 0)


def measure(total: int):
	from pipeline_app.automation.abandonment import abandon_silent_opportunities

	reset_team()
	due = seed(total)
	frappe.clear_cache()
	tracemalloc.start()
	rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
	started = time.perf_counter()
	abandoned = abandon_silent_opportunities()
	seconds = time.perf_counter() - started
	_, peak = tracemalloc.get_traced_memory()
	tracemalloc.stop()
	rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
	started = time.perf_counter()
	again = abandon_silent_opportunities()
	second_seconds = time.perf_counter() - started
	assert abandoned == due, (abandoned, due)
	assert again == 0, again
	print(
		f"abandonment  opportunities={total:>7}  due={due:>6}  abandoned={abandoned:>6}  "
		f"time={seconds:6.2f}s  python_peak={peak / 2**20:6.1f}MiB  "
		f"max_rss_growth={(rss_after - rss_before) / 1024:6.1f}MiB  second_run={second_seconds:5.2f}s (0 changed)",
		flush=True,
	)


def main():
	parser = argparse.ArgumentParser()
	parser.add_argument("--site", default="pipeline-bench.localhost")
	parser.add_argument("--sizes", default="10000,100000")
	args = parser.parse_args()
	frappe.init(site=args.site, sites_path=".")
	frappe.connect()
	frappe.set_user("Administrator")
	try:
		for size in (int(s) for s in args.sizes.split(",")):
			measure(size)
		reset_team()
	finally:
		frappe.destroy()


if __name__ == "__main__":
	main()
