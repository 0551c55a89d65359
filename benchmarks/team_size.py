"""Moves in a team of 2 and in a team of 500, side by side (issue 10: a move costs the same whatever
the team's size). In process, as a member of each team, on the benchmark site: the same moves
between two open stages, each committed as a request commits, so that the realtime events go out;
prints p50 / p95, queries and Redis commands per move, and the ratio (target: at most 1.2x).

The teams, their members and their opportunities are made on the first run and kept for the next
(users `size.N@team-size.test`, teams *Team size 2* and *Team size 500*).

Run with the bench's Python from the bench's sites directory:
    ../env/bin/python ../apps/pipeline_app/benchmarks/team_size.py --site pipeline-big.localhost
"""

import argparse
import statistics
import time

import frappe

SIZES = (2, 500)
OPPORTUNITIES = 120


def team_of_size(size: int) -> tuple[str, str]:
	"""(team, a member) for a team of `size` members, made when missing."""
	from pipeline_app.tests.factories import make_opportunity, make_team, make_user

	name = f"Team size {size}"
	members = [make_user(f"size.{i}@team-size.test") for i in range(size)]
	if not frappe.db.exists("Pipeline Team", name):
		make_team(name, members=members)
	missing = OPPORTUNITIES - frappe.db.count("Pipeline Opportunity", {"team": name, "status": "Open"})
	for i in range(max(missing, 0)):
		make_opportunity(name, title=f"Size {size} deal {i}", opportunity_owner=members[i % size])
	frappe.db.commit()
	return name, members[0]


def new_request() -> None:
	"""Empties the per-request caches, as a request starts (Frappe's and the app's)."""
	frappe.local.cache, frappe.local.role_permissions, frappe.local.user_perms = {}, {}, None
	for attribute in (
		"request_cache",
		"pipeline_reading_roles",
		"pipeline_open_rooms",
		"pipeline_reference_fields",
	):
		if hasattr(frappe.local, attribute):
			delattr(frappe.local, attribute)


def time_moves(team: str, member: str, rounds: int) -> dict:
	from pipeline_app import api
	from pipeline_app.tests.counters import count_cache_commands, count_queries

	stages = frappe.get_all(
		"Funnel Stage", {"team": team, "stage_type": "Open"}, pluck="name", order_by="sequence"
	)[:2]
	cards = frappe.get_all("Pipeline Opportunity", {"team": team, "status": "Open"}, pluck="name")
	frappe.set_user(member)
	timings, queries, commands = [], [], []
	try:
		for round_ in range(rounds):
			for name in cards:
				new_request()
				stage = stages[round_ % 2]
				if frappe.db.get_value("Pipeline Opportunity", name, "stage") == stage:
					stage = stages[(round_ + 1) % 2]
				started = time.perf_counter()
				with count_queries() as executed, count_cache_commands() as sent:
					api.move_opportunity(name, stage)
					frappe.db.commit()  # as the request ends: the realtime events go out
				timings.append((time.perf_counter() - started) * 1000)
				queries.append(len(executed))
				commands.append(len(sent))
	finally:
		frappe.set_user("Administrator")
	timings.sort()
	return {
		"p50": statistics.median(timings),
		"p95": timings[int(0.95 * len(timings))],
		"queries": statistics.median(queries),
		"commands": statistics.median(commands),
		"n": len(timings),
	}


def main():
	parser = argparse.ArgumentParser()
	parser.add_argument("--site", required=True)
	parser.add_argument("--rounds", type=int, default=2)
	args = parser.parse_args()
	frappe.init(site=args.site, sites_path=".")
	frappe.connect()
	teams = {size: team_of_size(size) for size in SIZES}
	results = {}
	for team, member in teams.values():
		time_moves(team, member, 1)  # warm the caches a running server has warm
	for size, (team, member) in teams.items():
		results[size] = time_moves(team, member, args.rounds)
		r = results[size]
		print(
			f"a move in a team of {size:3}: n={r['n']}  p50 {r['p50']:6.1f} ms  p95 {r['p95']:6.1f} ms  "
			f"{r['queries']:.0f} queries, {r['commands']:.0f} Redis commands"
		)
	ratio = results[SIZES[-1]]["p50"] / results[SIZES[0]]["p50"]
	print(
		f"a move in a team of {SIZES[-1]} / in a team of {SIZES[0]}: p50 {ratio:.2f}x"
		f"  [target <= 1.2x: {'met' if ratio <= 1.2 else 'NOT met'}]"
	)
	frappe.destroy()


if __name__ == "__main__":
	main()
