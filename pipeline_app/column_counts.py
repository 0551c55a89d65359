"""The board's column totals without counting the columns.

Each change of an opportunity that moves it between (team, stage, status) groups or changes its
amounts adds signed rows to Pipeline Column Count in the same transaction: -1 and its amounts where
it was, +1 where it is. A group's total is the sum of its rows, so a reader's snapshot sees totals
that agree with the cards it reads, a rollback (or a savepoint's) takes its rows with it, and
writers only insert: no row is shared between two moves, nothing is locked for long or deadlocks.

Every minute the rows of each group are folded into one (`fold`). Folding and rebuilding only
replace rows their own snapshot sees by the sum of those rows (or, rebuilding, by what the
opportunities in the same snapshot add up to): rows of transactions that commit later stay and add
their change on top. One fold or rebuild runs at a time (a MariaDB named lock).

Writes that bypass the document API (an administrator's SQL) leave the totals behind until
`bench --site SITE pipeline-rebuild-column-counts` is run.
"""

from collections import defaultdict

import frappe
from frappe import _
from frappe.utils import flt

from pipeline_app.bulk import insert_rows

DOCTYPE = "Pipeline Column Count"
FIELDS = ("team", "stage", "status", "count", "amount", "weighted_amount")
LOCK = "pipeline_column_counts"


def group_of(doc) -> tuple | None:
	"""(team, stage, status) of an opportunity with its amounts, or None without a team."""
	if doc is None or not doc.get("team"):
		return None
	return (doc.team, doc.stage, doc.status, flt(doc.amount), flt(doc.weighted_amount))


def record_change(doc, deleted: bool = False) -> None:
	"""From the opportunity's on_update (an insert or a save) and on_trash."""
	before = group_of(doc) if deleted else group_of(doc.get_doc_before_save())
	after = None if deleted else group_of(doc)
	if before == after:
		return
	rows = defaultdict(lambda: [0, 0.0, 0.0])
	for state, sign in ((before, -1), (after, 1)):
		if state:
			team, stage, status, amount, weighted = state
			row = rows[(team, stage, status)]
			row[0] += sign
			row[1] += sign * amount
			row[2] += sign * weighted
	insert(rows)


def insert(rows: dict) -> None:
	"""Signed rows: {(team, stage, status): [count, amount, weighted_amount]}; nothing-rows skipped."""
	values = [(frappe.generate_hash(length=12), *group, *sums) for group, sums in rows.items() if any(sums)]
	if values:
		insert_rows(DOCTYPE, ("name", *FIELDS), values)


def record_status_change(names: list[str], old_status: str, new_status: str) -> None:
	"""For a bulk statement that moved the opportunities `names` from `old_status` to `new_status`
	(their team, stage and amounts unchanged): read in the same transaction."""
	if not names:
		return
	opportunity = frappe.qb.DocType("Pipeline Opportunity")
	fn = frappe.query_builder.functions
	groups = (
		frappe.qb.from_(opportunity)
		.select(
			opportunity.team,
			opportunity.stage,
			fn.Count(opportunity.name),
			fn.Sum(fn.Coalesce(opportunity.amount, 0)),
			fn.Sum(fn.Coalesce(opportunity.weighted_amount, 0)),
		)
		.where(opportunity.name.isin(names) & opportunity.team.isnotnull())
		.groupby(opportunity.team, opportunity.stage)
		.run()
	)
	rows = {}
	for team, stage, count, amount, weighted in groups:
		rows[(team, stage, old_status)] = [-count, -flt(amount), -flt(weighted)]
		rows[(team, stage, new_status)] = [count, flt(amount), flt(weighted)]
	insert(rows)


def column_totals(team: str, statuses: list[str]) -> dict[str, dict]:
	"""Count, amount and weighted amount per stage of the team's opportunities in `statuses`."""
	# on every board load: written out, not built through the query builder
	rows = frappe.db.sql(
		f"""select stage, sum(count) as count, sum(amount) as amount,
			sum(weighted_amount) as weighted_amount
		from `tab{DOCTYPE}` where team = %(team)s and status in %(statuses)s group by stage""",
		{"team": team, "statuses": list(statuses)},
		as_dict=True,
	)
	return {row.stage: row for row in rows if row["count"]}


def fold(team: str | None = None) -> None:
	"""Scheduler, every minute: each team's rows become one per group. Commits per team."""
	with named_lock() as locked:
		if not locked:
			return
		counts = frappe.qb.DocType(DOCTYPE)
		teams = [team] if team else frappe.get_all(DOCTYPE, pluck="team", distinct=True)
		for name in teams:
			frappe.db.commit()  # a snapshot of its own for each team
			rows = frappe.db.sql(
				f"select name, {', '.join(FIELDS)} from `tab{DOCTYPE}` where team = %s", name, as_dict=True
			)
			groups = defaultdict(list)
			for row in rows:
				groups[(row.team, row.stage, row.status)].append(row)
			replace, sums = [], {}
			for group, members in groups.items():
				if len(members) == 1 and members[0]["count"]:
					continue  # already folded
				replace.extend(row.name for row in members)
				count = sum(row["count"] for row in members)
				# no opportunity left in the group: what its amounts add up to is rounding
				sums[group] = [
					count,
					sum(flt(row.amount) for row in members) if count else 0,
					sum(flt(row.weighted_amount) for row in members) if count else 0,
				]
			if replace:
				frappe.qb.from_(counts).delete().where(counts.name.isin(replace)).run()
				insert(sums)
			frappe.db.commit()


def rebuild(teams: list[str] | None = None) -> None:
	"""The rows of `teams` (None: all) counted again from the opportunities. Commits."""
	with named_lock(wait=60) as locked:
		if not locked:
			frappe.throw(_("The board's column totals are being folded or rebuilt: try again"))
		frappe.db.commit()  # the opportunities and the rows below are read from one snapshot
		opportunity = frappe.qb.DocType("Pipeline Opportunity")
		counts = frappe.qb.DocType(DOCTYPE)
		fn = frappe.query_builder.functions
		query = frappe.qb.from_(opportunity).select(
			opportunity.team,
			opportunity.stage,
			opportunity.status,
			fn.Count(opportunity.name),
			fn.Sum(fn.Coalesce(opportunity.amount, 0)),
			fn.Sum(fn.Coalesce(opportunity.weighted_amount, 0)),
		)
		existing = frappe.qb.from_(counts).select(counts.name)
		if teams is not None:
			query = query.where(opportunity.team.isin(teams or [""]))
			existing = existing.where(counts.team.isin(teams or [""]))
		totals = (
			query.where(opportunity.team.isnotnull())
			.groupby(opportunity.team, opportunity.stage, opportunity.status)
			.run()
		)
		names = existing.run(pluck=True)
		for start in range(0, len(names), 10_000):
			frappe.qb.from_(counts).delete().where(counts.name.isin(names[start : start + 10_000])).run()
		insert({(team, stage, status): [n, flt(a), flt(w)] for team, stage, status, n, a, w in totals})
		frappe.db.commit()


class named_lock:
	"""MariaDB's GET_LOCK for the length of a block: one fold or rebuild at a time on the site."""

	def __init__(self, wait: int = 0):
		self.wait = wait
		self.name = f"{frappe.conf.db_name}:{LOCK}"

	def __enter__(self) -> bool:
		self.locked = bool(frappe.db.sql("select get_lock(%s, %s)", (self.name, self.wait))[0][0])
		return self.locked

	def __exit__(self, *exc):
		if self.locked:
			frappe.db.sql("select release_lock(%s)", self.name)
