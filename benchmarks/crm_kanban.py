"""Side by side with Frappe CRM (issue 10): the Pipeline Board's data call and Frappe CRM's Kanban data
call for the same opportunities, timed in the same run, over HTTP, for the same seller.

First copies the site's Pipeline Opportunities into CRM Deals (once: bulk insert, same count, statuses
mapped onto CRM's deal statuses, deal_owner and owner the opportunity owners) and gives the demo
sellers CRM's Sales User role. Then times, as the browser calls them:
    ours  GET  pipeline_app.api.get_board  team=<the seller's team>
    CRM   POST crm.api.doc.get_data  with the body the Deals page's Kanban view sends (ViewControls.vue)
sequentially (1 user: p50 / p95, payload, cards per column) and with N concurrent users, and prints the
ratios. scripts/benchmark (BENCHMARKS=crm) installs CRM on its own site and serves it with gunicorn.

Run with the bench's Python from the bench's sites directory:
    ../env/bin/python ../apps/pipeline_app/benchmarks/crm_kanban.py --site pipeline-crm.localhost \
        --url http://127.0.0.1:8200
"""

import argparse
import json
import os
import threading
import time

import frappe
import requests

# the load benchmark's helpers (this directory is on the path when a benchmark runs as a script)
from load import demo_sellers, login, pct

from pipeline_app.demo import DEMO_DOMAIN, DEMO_PASSWORD

BOARD_CALL = "/api/method/pipeline_app.api.get_board"
CRM_CALL = "/api/method/crm.api.doc.get_data"
# what CRM's frontend sends for /crm/deals/view/kanban with no saved view (getParams in
# frontend/src/components/ViewControls.vue; undefined values are left out of the JSON body)
CRM_KANBAN_BODY = {
	"doctype": "CRM Deal",
	"filters": {},
	"order_by": "modified desc",
	"view": {"custom_view_name": "", "view_type": "kanban", "group_by_field": "owner"},
	"column_field": "status",
	"title_field": "",
	"kanban_columns": "",
	"kanban_fields": "",
	"columns": "",
	"rows": "",
}
DEAL_SERIES = "CRM-DEAL-.YYYY.-"


def crm_statuses() -> dict[str, list[str]]:
	"""CRM's deal statuses by type, in board order: {"Open": [...], "Won": [...], "Lost": [...]}."""
	by_type: dict[str, list[str]] = {}
	for row in frappe.get_all("CRM Deal Status", fields=["name", "type"], order_by="position asc"):
		kind = row.type if row.type in ("Won", "Lost") else "Open"
		by_type.setdefault(kind, []).append(row.name)
	return by_type


def status_of(opportunity, statuses: dict, open_rank: dict) -> str:
	"""Won and Lost as they are (Abandoned is Lost); an open or held opportunity goes to the CRM open
	status at the same relative place as its stage among its team's open stages."""
	if opportunity.status == "Won":
		return statuses["Won"][0]
	if opportunity.status in ("Lost", "Abandoned"):
		return statuses["Lost"][0]
	place, size = open_rank.get(opportunity.stage, (0, 1))
	return statuses["Open"][place * len(statuses["Open"]) // size]


def open_stage_ranks() -> dict[str, tuple[int, int]]:
	stages = frappe.get_all(
		"Funnel Stage", {"stage_type": "Open"}, ["name", "team"], order_by="team, sequence"
	)
	sizes: dict[str, int] = {}
	for stage in stages:
		sizes[stage.team] = sizes.get(stage.team, 0) + 1
	ranks, seen = {}, {}
	for stage in stages:
		ranks[stage.name] = (seen.get(stage.team, 0), sizes[stage.team])
		seen[stage.team] = seen.get(stage.team, 0) + 1
	return ranks


def copy_opportunities_to_deals(batch: int = 10_000) -> int:
	"""CRM Deals for the site's Pipeline Opportunities, unless as many are there already (bulk insert,
	keyset batches on name, no document hooks: this is benchmark data)."""
	total = frappe.db.count("Pipeline Opportunity")
	if frappe.db.count("CRM Deal") == total:
		return total
	started = time.monotonic()
	frappe.db.delete("CRM Deal")
	statuses, ranks = crm_statuses(), open_stage_ranks()
	year = frappe.utils.nowdate()[:4]
	prefix = DEAL_SERIES.replace(".YYYY.", year).replace(".", "")
	columns = (
		"name",
		"naming_series",
		"creation",
		"modified",
		"modified_by",
		"owner",
		"docstatus",
		"status",
		"deal_owner",
		"lead_name",
		"first_name",
		"email",
		"mobile_no",
		"deal_value",
		"currency",
		"probability",
		"expected_closure_date",
	)
	opportunity = frappe.qb.DocType("Pipeline Opportunity")
	last, number = "", 0
	while True:
		rows = (
			frappe.qb.from_(opportunity)
			.select(
				opportunity.name,
				opportunity.creation,
				opportunity.modified,
				opportunity.title,
				opportunity.contact_name,
				opportunity.contact_email,
				opportunity.contact_phone,
				opportunity.stage,
				opportunity.status,
				opportunity.opportunity_owner,
				opportunity.amount,
				opportunity.currency,
				opportunity.probability,
				opportunity.expected_close_date,
			)
			.where(opportunity.name > last)
			.orderby(opportunity.name)
			.limit(batch)
			.run(as_dict=True)
		)
		if not rows:
			break
		values = []
		for row in rows:
			number += 1
			owner = row.opportunity_owner or "Administrator"
			values.append(
				(
					f"{prefix}{number:05d}",
					DEAL_SERIES,
					row.creation,
					row.modified,
					owner,
					owner,
					0,
					status_of(row, statuses, ranks),
					row.opportunity_owner,
					row.title,
					row.contact_name,
					row.contact_email,
					row.contact_phone,
					row.amount,
					row.currency,
					row.probability,
					row.expected_close_date,
				)
			)
		frappe.db.bulk_insert("CRM Deal", columns, values)
		frappe.db.commit()
		last = rows[-1].name
	# deals made later through CRM continue the series
	series = frappe.qb.DocType("Series")
	frappe.db.delete("Series", {"name": prefix})
	frappe.qb.into(series).insert(prefix, number).run()
	frappe.db.commit()
	print(f"copied {number:,} opportunities into CRM Deals in {time.monotonic() - started:.1f} s")
	return number


def give_sales_user_role(users: list[str]) -> None:
	for user in sorted(set(users)):
		if "Sales User" not in frappe.get_roles(user):
			frappe.get_doc("User", user).add_roles("Sales User")
	frappe.db.commit()


def same_login(session: requests.Session) -> requests.Session:
	"""Another connection with the same login: Frappe keeps two sessions per user, so the concurrent
	users share the seller's one session rather than log in ten times."""
	copy = requests.Session()
	copy.headers.update(session.headers)
	copy.cookies.update(session.cookies)
	return copy


class Call:
	def __init__(self, label: str, url: str, team: str):
		self.label, self.url, self.team = label, url, team

	def send(self, session: requests.Session) -> requests.Response:
		if self.label == "ours":
			return session.get(self.url + BOARD_CALL, params={"team": self.team}, timeout=300)
		return session.post(self.url + CRM_CALL, json=CRM_KANBAN_BODY, timeout=300)

	def timed(self, session: requests.Session) -> tuple[float, requests.Response]:
		started = time.perf_counter()
		response = self.send(session)
		elapsed = time.perf_counter() - started
		response.raise_for_status()
		return elapsed, response


def columns_shown(label: str, message: dict) -> list[tuple[str, int, int]]:
	"""(column, cards sent, cards in the column) for each column of the answer."""
	if label == "ours":
		return [(c["name"], len(c["cards"]), int(c["count"])) for c in message["columns"]]
	return [
		(c["column"]["name"], len(c["data"]), int(c["column"].get("all_count") or 0)) for c in message["data"]
	]


def sequential(calls: list[Call], session: requests.Session, runs: int) -> dict:
	"""One user, the two calls alternating so both see the same machine."""
	times: dict[str, list[float]] = {call.label: [] for call in calls}
	sizes: dict[str, int] = {}
	shown: dict[str, list] = {}
	for call in calls:  # warm the caches a running server has warm
		_elapsed, response = call.timed(session)
		sizes[call.label] = len(response.content)
		shown[call.label] = columns_shown(call.label, response.json()["message"])
	for _ in range(runs):
		for call in calls:
			elapsed, _response = call.timed(session)
			times[call.label].append(elapsed)
	return {"times": times, "sizes": sizes, "shown": shown}


def concurrent(call: Call, session: requests.Session, users: int, seconds: int) -> dict:
	samples: list[float] = []
	errors = [0]
	lock = threading.Lock()
	deadline = time.monotonic() + seconds

	def work():
		own = same_login(session)
		while time.monotonic() < deadline:
			try:
				elapsed, _response = call.timed(own)
			except requests.RequestException:
				with lock:
					errors[0] += 1
				continue
			with lock:
				samples.append(elapsed)

	threads = [threading.Thread(target=work, daemon=True) for _ in range(users)]
	started = time.monotonic()
	for thread in threads:
		thread.start()
	for thread in threads:
		thread.join()
	elapsed = time.monotonic() - started
	return {"samples": samples, "errors": errors[0], "rps": len(samples) / elapsed}


def main():
	parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	parser.add_argument("--site", required=True)
	parser.add_argument("--url", required=True)
	parser.add_argument("--user", default=f"carla@{DEMO_DOMAIN}")
	parser.add_argument("--runs", type=int, default=30, help="sequential calls of each")
	parser.add_argument("--users", type=int, default=10, help="concurrent users")
	parser.add_argument("--seconds", type=int, default=20, help="length of each concurrent run")
	args = parser.parse_args()

	frappe.init(site=args.site, sites_path=".")
	frappe.connect()
	if "crm" not in frappe.get_installed_apps():
		print(f"Frappe CRM could not be installed: it is not installed on {args.site}")
		return
	sellers = demo_sellers()
	team = dict(sellers).get(args.user)
	if not team:
		raise SystemExit(f"{args.user} is not a demo seller of {args.site}")
	deals = copy_opportunities_to_deals()
	give_sales_user_role([user for user, _team in sellers])
	in_team = frappe.db.count("Pipeline Opportunity", {"team": team})
	crm_version = frappe.get_attr("crm.__version__")
	frappe.destroy()

	print(
		f"Pipeline Board vs Frappe CRM {crm_version} Kanban on {args.site}: {deals:,} opportunities = "
		f"{deals:,} CRM Deals, {os.cpu_count()} cores; seller {args.user}, team {team} ({in_team:,})"
	)
	print("  ours: GET pipeline_app.api.get_board team=" + team)
	print(f"  CRM:  POST crm.api.doc.get_data {json.dumps(CRM_KANBAN_BODY)}")
	print("  (CRM has no teams: a Sales User's Kanban holds every deal, ours the seller's team)")
	session = login(args.url, args.site, args.user)
	calls = [Call("ours", args.url, team), Call("CRM", args.url, team)]

	result = sequential(calls, session, args.runs)
	print(f"\n1 user, {args.runs} calls each (alternating):")
	for call in calls:
		times = result["times"][call.label]
		shown = result["shown"][call.label]
		print(
			f"  {call.label:5} p50 {pct(times, 0.5):7.1f} ms  p95 {pct(times, 0.95):7.1f} ms  "
			f"{result['sizes'][call.label] / 1024:7.1f} KiB  {len(shown)} columns, "
			f"{sum(n for _c, n, _t in shown)} cards shown of {sum(t for _c, _n, t in shown):,}"
		)
		print("        " + ", ".join(f"{column} {n}/{total:,}" for column, n, total in shown))
	ours, theirs = (pct(result["times"][label], 0.5) for label in ("ours", "CRM"))
	print(f"  CRM p50 / ours p50: {theirs / ours:.1f}x")

	runs = {call.label: concurrent(call, session, args.users, args.seconds) for call in calls}
	print(f"\n{args.users} concurrent users, {args.seconds} s each:")
	for label, run in runs.items():
		print(
			f"  {label:5} n={len(run['samples']):4}  p50 {pct(run['samples'], 0.5):7.1f} ms  "
			f"p95 {pct(run['samples'], 0.95):7.1f} ms  {run['rps']:5.1f} loads/s  errors {run['errors']}"
		)
	ours, theirs = (pct(runs[label]["samples"], 0.5) for label in ("ours", "CRM"))
	if ours and theirs:
		print(
			f"  CRM p50 / ours p50: {theirs / ours:.1f}x; "
			f"throughput ours / CRM: {runs['ours']['rps'] / runs['CRM']['rps']:.1f}x"
		)


if __name__ == "__main__":
	main()
