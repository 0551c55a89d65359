"""The daily digest job at the site's size (100,000 opportunities on the benchmark site) with 1,000
followers: each is a Pipeline User in one of the demo teams, half follow their whole team, each
follows 20 opportunities one by one and owns none. Prints the job's time, the digests it sent, and
its queries: those that find the news (a constant number, whatever the number of followers) and
those per recipient (their permission check and their digest's writes). The followers and what
the job wrote are removed at the end.

Run with the bench's Python from the bench's sites directory:
    ../env/bin/python ../apps/pipeline_app/benchmarks/digests.py --site pipeline-big.localhost
"""

import argparse
import random
import time

import frappe

DOMAIN = "digest-bench.test"


def add_followers(count: int, per_user: int) -> list[str]:
	"""Users, roles, team memberships, subscriptions and Document Follow rows in bulk statements."""
	from frappe.utils import now_datetime

	now = now_datetime()
	teams = frappe.get_all("Pipeline Team", pluck="name", order_by="name")
	users = [f"follower{i:04d}@{DOMAIN}" for i in range(count)]
	random.seed(7)
	by_team = {
		team: frappe.get_all("Pipeline Opportunity", {"team": team}, pluck="name", limit=5000)
		for team in teams
	}

	def rows(doctype, fields, values):
		frappe.db.bulk_insert(doctype, fields, values, ignore_duplicates=True)

	common = ("name", "creation", "modified", "owner", "modified_by")
	rows(
		"User",
		(*common, "email", "first_name", "enabled", "user_type"),
		[
			(u, now, now, "Administrator", "Administrator", u, u.split("@")[0], 1, "System User")
			for u in users
		],
	)
	rows(
		"Has Role",
		(*common, "parent", "parenttype", "parentfield", "role"),
		[
			(
				frappe.generate_hash(),
				now,
				now,
				"Administrator",
				"Administrator",
				u,
				"User",
				"roles",
				"Pipeline User",
			)
			for u in users
		],
	)
	team_of = {user: teams[i % len(teams)] for i, user in enumerate(users)}
	rows(
		"Pipeline Team Member",
		(*common, "parent", "parenttype", "parentfield", "user", "is_lead", "idx"),
		[
			(
				frappe.generate_hash(),
				now,
				now,
				"Administrator",
				"Administrator",
				team_of[u],
				"Pipeline Team",
				"members",
				u,
				0,
				1000 + i,
			)
			for i, u in enumerate(users)
		],
	)
	rows(
		"Pipeline Digest Subscription",
		(*common, "user", "frequency", "weekday"),
		[(u, now, now, u, u, u, "Daily", "Monday") for u in users],
	)
	rows(
		"Pipeline Digest Team",
		(*common, "parent", "parenttype", "parentfield", "team", "idx"),
		[
			(
				frappe.generate_hash(),
				now,
				now,
				u,
				u,
				u,
				"Pipeline Digest Subscription",
				"teams",
				team_of[u],
				1,
			)
			for i, u in enumerate(users)
			if i % 2 == 0
		],
	)
	rows(
		"Document Follow",
		(*common, "ref_doctype", "ref_docname", "user"),
		[
			(frappe.generate_hash(), now, now, u, u, "Pipeline Opportunity", name, u)
			for u in users
			for name in random.sample(by_team[team_of[u]], min(per_user, len(by_team[team_of[u]])))
		],
	)
	frappe.db.commit()
	frappe.clear_cache()
	clear_user_teams_cache()
	return users


def remove_followers(users: list[str]) -> None:
	for doctype, field in (
		("Pipeline Digest", "user"),
		("Pipeline Digest Subscription", "user"),
		("Pipeline Digest Team", "parent"),
		("Document Follow", "user"),
		("Notification Log", "for_user"),
		("Pipeline Team Member", "user"),
		("Has Role", "parent"),
		("User", "name"),
	):
		frappe.db.delete(doctype, {field: ("in", users)})
	frappe.db.commit()
	frappe.clear_cache()
	clear_user_teams_cache()


def clear_user_teams_cache():
	from pipeline_app.teams import clear_user_teams_cache

	clear_user_teams_cache()


def main() -> None:
	parser = argparse.ArgumentParser()
	parser.add_argument("--site", default="pipeline-big.localhost")
	parser.add_argument("--followers", type=int, default=1000)
	parser.add_argument("--follows", type=int, default=20, help="opportunities each follows one by one")
	args = parser.parse_args()
	frappe.init(site=args.site, sites_path=".")
	frappe.connect()
	from pipeline_app.automation import digests
	from pipeline_app.tests.counters import count_queries

	opportunities = frappe.db.count("Pipeline Opportunity")
	stale = frappe.get_all("User", {"name": ("like", f"%@{DOMAIN}")}, pluck="name")
	if stale:
		remove_followers(stale)
	users = add_followers(args.followers, args.follows)
	try:
		original = digests.send_digest
		per_recipient = []

		def counted_send(*a, **kw):
			with count_queries() as executed:
				sent = original(*a, **kw)
			per_recipient.append(len(executed))
			return sent

		digests.send_digest = counted_send
		started = time.perf_counter()
		with count_queries() as executed:
			sent = digests.send_digests()
		elapsed = time.perf_counter() - started
		digests.send_digest = original
		recipients = len(per_recipient)
		finding = len(executed) - sum(per_recipient)
		print(
			f"digests: {opportunities:,} opportunities, {args.followers:,} followers "
			f"({args.follows} opportunities each, half of them following their whole team)"
		)
		print(
			f"  job: {elapsed:.2f} s, {recipients:,} recipients, {sent:,} digests sent, "
			f"{elapsed / max(recipients, 1) * 1000:.1f} ms per recipient"
		)
		per = sorted(per_recipient) or [0]
		print(
			f"  queries: {finding} to find the news (all recipients), per recipient "
			f"p50 {per[len(per) // 2]} / max {per[-1]} (permission check, digest, bell, email)"
		)
		again = time.perf_counter()
		second = digests.send_digests()
		print(f"  second run the same day: {second} sent in {time.perf_counter() - again:.2f} s")
	finally:
		remove_followers(users)


if __name__ == "__main__":
	main()
