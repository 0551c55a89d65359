"""The Pipeline Board against Frappe's own Kanban view of the same doctype, on the same data, in
headless Chromium: requests, bytes and server time spent until the first card is painted.

Each run loads the desk (/app) fresh, waits until it is idle, then routes to the view inside the
desk as a user would, and stops the clock when the first card is visible. Frappe's Kanban view needs
a Kanban Board document: one on Pipeline Opportunity's `status` (the only Select field it can use)
is created if missing. Run with the bench's Python from the bench's sites directory, with a web
server serving the site (scripts/benchmark starts one):
    ../env/bin/python ../apps/pipeline_app/benchmarks/board_vs_kanban.py --site pipeline-big.localhost \
        --url http://pipeline-big.localhost:8100
"""

import argparse
import os
import shutil
import statistics
import time

import frappe

KANBAN_BOARD = "Pipeline by status"
CHROMIUM = os.environ.get("PIPELINE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def ensure_kanban_board(site: str) -> None:
	frappe.init(site=site, sites_path=".")
	frappe.connect()
	frappe.set_user("Administrator")
	if not frappe.db.exists("Kanban Board", KANBAN_BOARD):
		from frappe.desk.doctype.kanban_board.kanban_board import quick_kanban_board

		quick_kanban_board("Pipeline Opportunity", KANBAN_BOARD, "status")
		frappe.db.commit()
	frappe.destroy()


def measure(
	browser, url: str, user: str, password: str, route: str, card_selector: str, timeout_s: int
) -> dict:
	context = browser.new_context(viewport={"width": 1600, "height": 1000})
	page = context.new_page()
	page.goto(f"{url}/login")
	page.evaluate(
		"""([usr, pwd]) => fetch('/api/method/login', {method: 'POST',
			headers: {'Content-Type': 'application/json'}, body: JSON.stringify({usr, pwd})})""",
		[user, password],
	)
	page.goto(f"{url}/app")
	page.wait_for_function("window.frappe && frappe.boot && frappe.router")
	page.wait_for_load_state("networkidle")
	calls = []
	started = [None]

	def finished(request):
		if started[0] is None or "/api/" not in request.url:
			return
		timing = request.timing
		sizes = request.sizes()
		calls.append(
			{
				"url": request.url.split("?")[0].rsplit("/", 1)[-1],
				"server_ms": max(0.0, timing["responseStart"] - timing["requestStart"]),
				"bytes": sizes["responseBodySize"],
				"done": time.perf_counter(),
			}
		)

	page.on("requestfinished", finished)
	started[0] = time.perf_counter()
	page.evaluate(f"frappe.set_route({route})")
	page.wait_for_selector(card_selector, timeout=timeout_s * 1000)
	painted = time.perf_counter()
	cards = page.locator(card_selector).count()
	context.close()
	before_paint = [call for call in calls if call["done"] <= painted]
	return {
		"first_card_s": painted - started[0],
		"requests": len(before_paint),
		"server_ms": sum(call["server_ms"] for call in before_paint),
		"kib": sum(call["bytes"] for call in before_paint) / 1024,
		"cards": cards,
		"calls": sorted({call["url"] for call in before_paint}),
	}


def main():
	parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	parser.add_argument("--site", required=True)
	parser.add_argument("--url", required=True, help="as the browser reaches the site, e.g. http://SITE:8100")
	parser.add_argument("--user", default="carla@demo.pipeline.test")
	parser.add_argument("--password", default="demo-pipeline")
	parser.add_argument("--runs", type=int, default=5)
	parser.add_argument(
		"--kanban-runs", type=int, default=None, help="runs of Frappe's Kanban (default: --runs)"
	)
	parser.add_argument("--timeout", type=int, default=900, help="seconds to wait for the first card")
	args = parser.parse_args()
	ensure_kanban_board(args.site)

	from playwright.sync_api import sync_playwright

	views = (
		("Pipeline Board", '"pipeline-board"', ".pb-card", args.runs),
		(
			"Frappe Kanban",
			f'"List", "Pipeline Opportunity", "Kanban", "{KANBAN_BOARD}"',
			".kanban-card-wrapper",
			args.kanban_runs or args.runs,
		),
	)
	results = {}
	with sync_playwright() as playwright:
		browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
		for label, route, selector, count in views:
			runs = [
				measure(browser, args.url, args.user, args.password, route, selector, args.timeout)
				for _ in range(count)
			]
			results[label] = runs
			print(f"{label}: calls before first card: {', '.join(runs[-1]['calls'])}")
		browser.close()

	print(f"\nmedians, user {args.user}, site {args.site}")
	print(
		"| view | requests to first card | server time | transferred | first card painted | cards rendered |"
	)
	print("| --- | --- | --- | --- | --- | --- |")
	for label, runs in results.items():

		def median(key, runs=runs):
			return statistics.median(run[key] for run in runs)

		print(
			f"| {label} ({len(runs)} runs) | {median('requests'):.0f} | {median('server_ms'):.0f} ms | {median('kib'):.0f} KiB "
			f"| {median('first_card_s'):.2f} s | {median('cards'):.0f} |"
		)


if __name__ == "__main__":
	main()
