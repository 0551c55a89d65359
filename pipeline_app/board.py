"""The Pipeline Board's data: card positions, filters, columns and cards.

Every read here goes through a query `frappe.get_list` builds for the session user (the text kept per
process: pipeline_app/list_queries.py), so role permissions, user permissions and the team-scoped
`permission_query_conditions` apply to each card and each count. A board load issues the
same handful of queries whatever the number of opportunities: the cards of all columns come from one
UNION of per-column index range scans on (team, stage, board_rank).

Card order within a column is `board_rank` ascending (then name). A card moved between two others
gets the midpoint of their ranks, so a move writes only the moved row; when twenty moves in a row
have exhausted the gap at one spot, that column is renumbered once (`rebalance_column`).
"""

import hashlib
import pickle
import re

import frappe
from frappe import _
from frappe.utils import cint, cstr, getdate, now_datetime

from pipeline_app.cards import (
	CARD_FIELDS,
	attach_link_titles,
	card_fields,
	card_layout_info,
	field_info,
	required_fields,
)
from pipeline_app.column_counts import column_totals
from pipeline_app.erpnext.linked import attach_documents
from pipeline_app.funnel import get_team_stages
from pipeline_app.gates import board_gates
from pipeline_app.list_queries import permitted_query
from pipeline_app.permissions import may_read_record, opportunity_query
from pipeline_app.teams import get_readable_teams
from pipeline_app.validation import parse_json_argument

RANK_GAP = 1 << 20
# what a column tells of its stage (its gates come as `gate`: pipeline_app/gates.py)
COLUMN_FIELDS = ("name", "stage_name", "stage_type", "sequence", "probability", "color")
DEFAULT_LIMIT = 50  # cards per page of a column when scrolling, unless Pipeline Settings say otherwise
FIRST_SCREEN = 20  # cards per column on a board load
MAX_LIMIT = 200


# statuses a board shows unless the status filter asks for others
ACTIVE_STATUSES = ("Open", "On Hold", "Won", "Lost")
STATUSES = (*ACTIVE_STATUSES, "Abandoned")
OWNER_FILTERS = ("me", "unassigned")
FOLLOW_UP_FILTERS = ("due", "upcoming", "none")
SEARCH_FIELDS = ("title", "contact_name", "contact_email", "contact_phone", "name")
FILTER_KEYS = ("owner", "status", "follow_up", "source", "interest", "q")
# fields the board filters by its own keys (or by its team and columns), not as doctype filters
BUILT_IN_FILTER_FIELDS = frozenset(("team", "stage", "status", "opportunity_owner", "source", "interest"))
DOCTYPE_FILTER_TYPES = frozenset(
	("Select", "Link", "Check", "Data", "Date", "Int", "Float", "Currency", "Percent", "Phone")
)


# Filters
# -------


def normalize_filters(filters: dict | str | None) -> dict:
	"""The board's filters, checked: unknown keys or values are refused with a clear error."""
	filters = parse_json_argument("filters", filters, dict) or {}
	by_field = {df.fieldname: df for df in doctype_filter_fields()}
	unknown = set(filters) - set(FILTER_KEYS) - set(by_field)
	if unknown:
		frappe.throw(
			_("Unknown board filter: {0}").format(", ".join(sorted(unknown))), title=_("Invalid Filter")
		)
	for key, value in filters.items():
		if key in by_field:
			continue  # checked by its field type below
		if value and not isinstance(value, str) and not (key == "status" and isinstance(value, list)):
			frappe.throw(
				_("Board filter {0} must be text").format(frappe.bold(key)), title=_("Invalid Filter")
			)
	normalized = {}
	owner = filters.get("owner")
	if owner:
		if owner not in OWNER_FILTERS and not frappe.db.exists("User", owner):
			frappe.throw(_("Unknown owner filter: {0}").format(owner), title=_("Invalid Filter"))
		normalized["owner"] = owner
	status = filters.get("status")
	if status:
		statuses = [status] if isinstance(status, str) else list(status)
		invalid = [s for s in statuses if not isinstance(s, str) or s not in STATUSES]
		if invalid:
			frappe.throw(
				_("Unknown status: {0}").format(", ".join(map(str, invalid))), title=_("Invalid Filter")
			)
		normalized["status"] = statuses
	follow_up = filters.get("follow_up")
	if follow_up:
		if follow_up not in FOLLOW_UP_FILTERS:
			frappe.throw(_("Unknown follow-up filter: {0}").format(follow_up), title=_("Invalid Filter"))
		normalized["follow_up"] = follow_up
	meta = frappe.get_meta("Pipeline Opportunity")
	for key in ("source", "interest"):
		value = filters.get(key)
		if value:
			options = (meta.get_field(key).options or "").split("\n")
			if value not in options:
				frappe.throw(
					_("Unknown {0}: {1}").format(_(meta.get_label(key)), value), title=_("Invalid Filter")
				)
			normalized[key] = value
	q = (filters.get("q") or "").strip()
	if q:
		normalized["q"] = q[:140]
	for fieldname, df in by_field.items():
		value = filters.get(fieldname)
		if value not in (None, ""):
			normalized[fieldname] = doctype_filter_value(df, value)
	return normalized


def doctype_filter_fields() -> list:
	"""The fields of Pipeline Opportunity an administrator marked In Standard Filter (custom fields
	included) that the board does not filter by its own keys, of a type a filter can compare, and
	that the session user may read (a field of a higher permission level never narrows their board:
	its counts would tell its values)."""
	meta = frappe.get_meta("Pipeline Opportunity")
	readable = set(meta.get_permitted_fieldnames(permission_type="read"))
	return [
		df
		for df in meta.fields
		if df.in_standard_filter
		and df.fieldtype in DOCTYPE_FILTER_TYPES
		and df.fieldname not in BUILT_IN_FILTER_FIELDS
		and df.fieldname in readable
	]


def shared_filter_fields() -> list[str]:
	"""The doctype filters every reader of an opportunity may read (permission level 0): realtime
	cards carry their values (a board filtered by a higher level one reloads on an event instead)."""
	return [
		df.fieldname
		for df in frappe.get_meta("Pipeline Opportunity").fields
		if df.in_standard_filter
		and df.fieldtype in DOCTYPE_FILTER_TYPES
		and df.fieldname not in BUILT_IN_FILTER_FIELDS
		and not df.permlevel
	]


def doctype_filter_info() -> list[dict]:
	"""The doctype filters as the page draws them (the get_board answer and the desk's boot)."""
	return [
		{"fieldname": df.fieldname, "label": _(df.label), "fieldtype": df.fieldtype, "options": df.options}
		for df in doctype_filter_fields()
	]


def doctype_filter_value(df, value):
	"""A doctype filter's value, checked against its field: an option of a Select, an existing record
	of a Link, 0/1 for a Check, a date, a number; text otherwise."""
	label = _(df.label or df.fieldname)

	def refuse():
		frappe.throw(
			_("Invalid value for board filter {0}: {1}").format(
				frappe.bold(label), frappe.bold(cstr(value)[:60])
			),
			title=_("Invalid Filter"),
		)

	if isinstance(value, bool):
		value = int(value)
	if not isinstance(value, str | int | float):
		refuse()
	if df.fieldtype == "Check":
		if cstr(value) not in ("0", "1"):
			refuse()
		return int(value)
	if df.fieldtype in ("Int", "Float", "Currency", "Percent"):
		try:
			return int(value) if df.fieldtype == "Int" else float(value)
		except ValueError:
			refuse()
	value = cstr(value).strip()[:140]
	if df.fieldtype == "Select" and value not in (df.options or "").split("\n"):
		refuse()
	# another team's record is answered as a missing one, as in every link check
	# (permissions.may_read_record): a filter is no way to learn that it exists
	if df.fieldtype == "Link" and not (
		may_read_record(df.options, value) and frappe.db.exists(df.options, value)
	):
		refuse()
	if df.fieldtype == "Date":
		try:
			value = str(getdate(value))
		except Exception:
			refuse()
	return value


def list_filters(team: str, filters: dict) -> tuple[list, list]:
	"""`frappe.get_list` filters and or_filters for a team's board with normalized filters."""
	conditions = [["team", "=", team]]
	conditions.append(["status", "in", filters.get("status") or list(ACTIVE_STATUSES)])
	owner = filters.get("owner")
	if owner == "me":
		conditions.append(["opportunity_owner", "=", frappe.session.user])
	elif owner == "unassigned":
		conditions.append(["opportunity_owner", "is", "not set"])
	elif owner:
		conditions.append(["opportunity_owner", "=", owner])
	follow_up = filters.get("follow_up")
	if follow_up == "due":
		# frappe.get_list compares ifnull(value, '0001-01-01'): exclude the unset ones explicitly
		conditions.append(["follow_up_on", "is", "set"])
		conditions.append(["follow_up_on", "<=", now_datetime()])
	elif follow_up == "upcoming":
		conditions.append(["follow_up_on", ">", now_datetime()])
	elif follow_up == "none":
		conditions.append(["follow_up_on", "is", "not set"])
	for key in ("source", "interest"):
		if filters.get(key):
			conditions.append([key, "=", filters[key]])
	for df in doctype_filter_fields():
		if df.fieldname in filters:
			conditions.append([df.fieldname, "=", filters[df.fieldname]])
	or_filters = []
	if filters.get("q"):
		# Frappe's like filter takes backslashes literally, so `_` and `%` cannot be escaped through
		# it: in a search they match any character (the text itself is always found)
		pattern = "%{}%".format(filters["q"])
		or_filters = [[field, "like", pattern] for field in SEARCH_FIELDS]
	return conditions, or_filters


# Reads
# -----


# Kept columns
# ------------
# A board load reads, per column, the first cards and the totals through queries that
# `frappe.get_list` builds for the session user (role permissions, user permissions and the team rule
# written into the query's text). The rows of each column are kept in Redis under the exact text of
# its query and the column's version: another user whose query reads the same (same permissions,
# same filters) shares them, anyone else has their own. Every change of a card bumps the version of
# its column (both columns for a move; the whole team for a bulk change), at once and again after its
# commit. A load reads the versions before its transaction's snapshot starts (`read_versions`), so a
# row read from a snapshot older than a change is only ever kept under a version that the change's
# commit has already superseded. Rows are kept only for GET requests, whose transaction the load may
# restart; a query that reads another table (a subquery from some app's permission hook) is never kept.
# TTL: a bound for writes that bypass the document API (an administrator's raw SQL).
KEPT_ROWS_TTL_SECONDS = 60
TEAM_VERSION = "*"  # the version field of the whole team, beside one per stage


def versions_key(team: str) -> str:
	return frappe.cache.make_key(f"pipeline_board_versions:{team}")


def bump_board_versions(team: str | None, stages=None) -> None:
	"""Cards of `team` in `stages` (None: in any column) changed: their kept columns go, now and
	once the change is committed."""
	if not team:
		return
	fields = sorted({stage or "" for stage in stages}) if stages is not None else [TEAM_VERSION]
	key = versions_key(team)

	def bump():
		pipe = frappe.cache.pipeline()
		for field in fields:
			pipe.hincrby(key, field, 1)
		pipe.execute()

	bump()
	frappe.db.after_commit.add(bump)


def read_versions(team: str) -> dict[str, int] | None:
	"""The versions of the team's columns, or None where rows may not be kept (not a GET request).
	Restarts the request's transaction right after: every row the load then reads is at least as
	new as these versions. A GET request's transaction is never committed, so nothing is lost."""
	request = getattr(frappe.local, "request", None)
	if request is None or request.method != "GET":
		return None
	versions = frappe.cache.execute_command("HGETALL", versions_key(team)) or {}
	frappe.db.rollback()
	return {frappe.safe_decode(field): int(value) for field, value in versions.items()}


def kept_by_stage(template: str, stages: list[str], versions: dict | None, read) -> dict[str, list]:
	"""Rows per stage of `stages` for the query `template` (its text names the rows it reads): kept
	ones from Redis, the missing ones through `read(missing)` (rows per stage), which are then kept."""
	if versions is None or len(re.findall(r"\bselect\b", template, flags=re.IGNORECASE)) != 1:
		return read(stages)
	digest = hashlib.sha1(template.encode()).hexdigest()
	team_version = versions.get(TEAM_VERSION, 0)
	keys = {
		stage: frappe.cache.make_key(
			f"pipeline_board_rows:{digest}:{team_version}:{versions.get(stage, 0)}:{stage}"
		)
		for stage in stages
	}
	found = dict(zip(stages, frappe.cache.mget(list(keys.values())), strict=True))
	rows = {stage: pickle.loads(value) for stage, value in found.items() if value is not None}
	missing = [stage for stage in stages if stage not in rows]
	if missing:
		fresh = read(missing)  # may read more stages than the missing ones: all are kept
		pipe = frappe.cache.pipeline()
		for stage in stages:
			if stage in fresh or stage in missing:
				rows[stage] = fresh.get(stage, [])
				pipe.set(keys[stage], pickle.dumps(rows[stage]), ex=KEPT_ROWS_TTL_SECONDS)
		pipe.execute()
	return rows


# stands for the stage in the per-column queries built once per board load (replaced by each stage's
# escaped name): Frappe builds the permission-checked query once instead of once per column
STAGE_PLACEHOLDER = "__pipeline_board_stage__"


def per_stage(query: str, stages: list[str]) -> list[str]:
	"""`query` (one STAGE_PLACEHOLDER in it) for each of `stages`."""
	placeholder = frappe.db.escape(STAGE_PLACEHOLDER)
	if query.count(placeholder) != 1:  # the stage condition must be the placeholder's only use
		frappe.throw(_("Could not build the board query"))
	return [query.replace(placeholder, frappe.db.escape(stage)) for stage in stages]


def get_column_totals(
	team: str, stages: list[str], filters: dict, versions: dict | None = None, card_query=None
) -> dict[str, dict]:
	"""Count, amount and weighted amount per stage of the cards the session user may read. A reader
	of the whole team (no restriction beyond the team rule) on a board filtered by status at most
	gets them from the kept column counts (pipeline_app/column_counts.py); anyone else's are counted,
	all stages in one scan of a covering index. Either is kept per stage under the column versions.
	`card_query`: a CardQuery of the same board, which tells a reader of the whole team without
	building the totals' own query."""
	if not stages:
		return {}
	conditions, or_filters = list_filters(team, filters)

	def build(ignore_permissions: bool = False) -> str:
		return permitted_query(
			"Pipeline Opportunity",
			filters=conditions,
			or_filters=or_filters,
			fields=[
				"stage",
				"count(`tabPipeline Opportunity`.`name`) as count",
				"sum(`tabPipeline Opportunity`.`amount`) as amount",
				"sum(`tabPipeline Opportunity`.`weighted_amount`) as weighted_amount",
			],
			group_by="`tabPipeline Opportunity`.`stage`",
			order_by="",
			ignore_permissions=ignore_permissions,
		)

	if set(filters) <= {"status"}:
		whole_team = (
			reads_whole_team(team, card_query.text, card_query.build)
			if card_query
			else reads_whole_team(team, build(), build)
		)
		if whole_team:
			statuses = filters.get("status") or list(ACTIVE_STATUSES)

			def kept_counts(_missing: list[str]) -> dict[str, list]:
				return {stage: [row] for stage, row in column_totals(team, statuses).items()}

			# the same for every reader of the whole team: kept under a text naming team and statuses
			template = f"select column totals of {team!r} in {sorted(statuses)!r}"
			totals = kept_by_stage(template, stages, versions, kept_counts)
			return {stage: rows[0] for stage, rows in totals.items() if rows}

	query = build()

	def read(_missing: list[str]) -> dict[str, list]:
		return {row.stage: [row] for row in frappe.db.sql(query, as_dict=True)}

	totals = kept_by_stage(query, stages, versions, read)
	return {stage: rows[0] for stage, rows in totals.items() if rows}


_whole_team_queries: dict[tuple[str, str], bool] = {}


def reads_whole_team(team: str, query: str, build, user: str | None = None) -> bool:
	"""Whether `query`, built for `user` (default: the session user), is the query that `build(ignore_permissions=True)`
	builds plus the team rule of pipeline_app.permissions alone (a rule that lets the user read
	`team`): then the user reads every opportunity of the team the query reads. Anything else that
	Frappe or another app adds to the query (user permissions, owner-only roles, other permission
	hooks) makes it False. Known answers are kept per process."""
	user = user or frappe.session.user
	key = (user, query)
	known = _whole_team_queries.get(key)
	if known is None:
		teams = get_readable_teams(user)
		rule = opportunity_query(user)
		plain = build(ignore_permissions=True)
		if teams is None:
			known = query == plain
		else:
			clause = f" and ({rule})"
			known = team in teams and query.count(clause) == 1 and query.replace(clause, "", 1) == plain
		if len(_whole_team_queries) >= 4096:
			_whole_team_queries.clear()
		_whole_team_queries[key] = known
	return known


class CardQuery:
	"""The query of the first `limit` cards (from `start`) of one column, built once through
	`frappe.get_list` (list_queries.permitted_query) for the session user (permissions, user
	permissions and the team rule applied), with STAGE_PLACEHOLDER for the stage: `text`.
	`build(ignore_permissions)` builds it again."""

	def __init__(self, team: str, filters: dict, fields, start: int, limit: int):
		self.team, self.filters, self.fields, self.start, self.limit = team, filters, fields, start, limit
		self.text = self.build()

	def build(self, ignore_permissions: bool = False) -> str:
		conditions, or_filters = list_filters(self.team, self.filters)
		return permitted_query(
			"Pipeline Opportunity",
			filters=[*conditions, ["stage", "=", STAGE_PLACEHOLDER]],
			or_filters=or_filters,
			# plain names: Frappe checks their read permission once for all (a table-qualified name it
			# checks one by one, as a joined table's)
			fields=list(self.fields),
			order_by="`tabPipeline Opportunity`.`board_rank` asc, `tabPipeline Opportunity`.`name` asc",
			limit_start=self.start,
			limit_page_length=self.limit,
			ignore_permissions=ignore_permissions,
		)


def get_cards(
	team: str,
	stages: list[str],
	filters: dict,
	start: int = 0,
	limit: int = DEFAULT_LIMIT,
	versions: dict | None = None,
	fields=CARD_FIELDS,
	query: CardQuery | None = None,
) -> list:
	"""The first `limit` cards (from `start`) of each of `stages`, in board order, in one query: a
	UNION of one range scan per column, the column query (`query`, a CardQuery) repeated for each
	stage. `fields`: what a card carries (cards.card_fields: the team's card layout)."""
	if not stages:
		return []
	template = (query or CardQuery(team, filters, fields, start, limit)).text

	def read(wanted: list[str]) -> dict[str, list]:
		queries = per_stage(template, wanted)
		query = queries[0] if len(queries) == 1 else " union all ".join(f"({q})" for q in queries)
		by_stage = {}
		for card in frappe.db.sql(query, as_dict=True):
			by_stage.setdefault(card.stage, []).append(card)
		return by_stage

	by_stage = kept_by_stage(template, stages, versions, read)
	cards = [card for stage in stages for card in by_stage.get(stage, [])]
	attach_link_titles(cards, fields)
	return cards


def get_board_data(team_doc, filters: dict, limit: int, versions: dict | None = None) -> dict:
	"""Columns, totals and first cards of a team the caller may read (checked by the caller);
	`versions` (read_versions) lets kept columns serve."""
	team = team_doc.name
	stages = get_team_stages(team)  # the order the rules use: the first column is where new cards land
	stage_names = [stage.name for stage in stages]
	fields = card_fields(team_doc)
	query = CardQuery(team, filters, fields, 0, limit)
	totals = get_column_totals(team, stage_names, filters, versions, card_query=query)
	cards = get_cards(team, stage_names, filters, 0, limit, versions, fields, query=query)
	attach_documents(cards)
	by_stage = {}
	for card in cards:
		by_stage.setdefault(card.stage, []).append(card)
	members = [{"user": member.user, "is_lead": member.is_lead} for member in team_doc.members]
	gates = board_gates(team_doc, stages)
	columns = []
	for stage in stages:
		total = totals.get(stage.name) or {}
		columns.append(
			{
				**{key: stage[key] for key in COLUMN_FIELDS},
				"gate": gates[stage.name],
				"count": total.get("count") or 0,
				"amount": total.get("amount") or 0,
				"weighted_amount": total.get("weighted_amount") or 0,
				"cards": by_stage.get(stage.name, []),
			}
		)
	return {
		"team": {
			"name": team,
			"currency": team_doc.currency,
			"deal_amount_enabled": team_doc.deal_amount_enabled,
			# with ERPNext, the Won dialog says whether an order will decide the win
			"win_on_sales_order": team_doc.win_on_sales_order,
			"members": members,
			# the fields an administrator made mandatory: Add New and quick edits ask for them
			"required_fields": [field_info(df) for df in required_fields()],
			# the team's card layout (None: the standard card): what cards show, what the panel edits
			"card_fields": card_layout_info(team_doc),
		},
		"columns": columns,
		"users": get_user_details([m["user"] for m in members] + [card.opportunity_owner for card in cards]),
		"filters": filters,
		"limit": limit,
		# what the page would otherwise have to know on its own
		"page_size": page_size(),
		"filter_keys": FILTER_KEYS,
		# the administrator's In Standard Filter fields, filtered by fieldname like the built-in ones
		"doctype_filters": doctype_filter_info(),
		"active_statuses": ACTIVE_STATUSES,
		"server_time": frappe.utils.now(),
	}


def get_cards_after(team: str, stage: str, after: str, filters: dict, limit: int, fields=CARD_FIELDS) -> list:
	"""The cards of a column that follow card `after` (keyset: no offset to scan, and no card skipped
	or repeated when others move cards above it meanwhile)."""
	rank = readable_ranks(team, stage, [after]).get(after)
	if rank is None:
		frappe.throw(_("Card {0} is not in this column").format(frappe.bold(after)), title=_("Invalid Card"))
	conditions, or_filters = list_filters(team, filters)
	rows = frappe.get_list(
		"Pipeline Opportunity",
		filters=[*conditions, ["stage", "=", stage], ["board_rank", ">=", rank]],
		or_filters=or_filters,
		fields=list(fields),  # plain names, as in CardQuery
		order_by="`tabPipeline Opportunity`.`board_rank` asc, `tabPipeline Opportunity`.`name` asc",
		limit_page_length=limit + 20,
	)
	# equal ranks (two moves to one spot at the same instant) continue by name
	rows = [row for row in rows if row.board_rank > rank or row.name > after][:limit]
	attach_link_titles(rows, fields)
	return rows


def get_user_details(users) -> dict[str, dict]:
	users = sorted({user for user in users if user})
	if not users:
		return {}
	rows = frappe.db.sql(
		"select name, full_name, user_image from `tabUser` where name in %(users)s",
		{"users": users},
		as_dict=True,
	)
	return {row.name: {"full_name": row.full_name or row.name, "image": row.user_image} for row in rows}


def client_constants() -> dict:
	"""What the board page needs to know before its first load (in the desk's boot, pipeline_app/boot.py):
	the filters `get_board` takes, the statuses it shows unless filtered, its first screen and page."""
	return {
		"filter_keys": FILTER_KEYS,
		# the administrator's In Standard Filter fields, filtered by fieldname like the built-in ones
		"doctype_filters": doctype_filter_info(),
		"active_statuses": ACTIVE_STATUSES,
		"first_screen": FIRST_SCREEN,
		"page_size": page_size(),
	}


def page_size() -> int:
	"""Cards per page of a column when scrolling: Pipeline Settings' Board Cards per Column."""
	# from the document cache (Redis, cleared when the settings are saved): no query on a board load
	return clamp_limit(frappe.get_cached_doc("Pipeline Settings").board_page_size)


def clamp_limit(limit) -> int:
	return min(max(cint(limit) or DEFAULT_LIMIT, 1), MAX_LIMIT)


# Positions
# ---------


def rank_for_position(doc, above: str | None = None, below: str | None = None) -> int:
	"""The board_rank that places `doc` after card `above` and before card `below` in the column of
	doc.team / doc.stage. Either neighbour may be missing (or belong to another column, or be a card
	the user may not read: then it is ignored): the other neighbour's adjacent card is looked up.
	Neither means the top of the column."""
	names = [name for name in (above, below) if name and name != doc.name]
	neighbours = readable_ranks(doc.team, doc.stage, names) if names else {}
	upper = (above, neighbours[above]) if above in neighbours else None
	lower = (below, neighbours[below]) if below in neighbours else None
	if upper and lower and upper[1] >= lower[1]:
		lower = None  # stale or tied neighbours: trust the card above
	if upper and not lower:
		lower = _adjacent(doc, upper, after=True)
		if not lower:
			return upper[1] + RANK_GAP
	elif lower and not upper:
		upper = _adjacent(doc, lower, after=False)
		if not upper:
			return lower[1] - RANK_GAP
	elif not upper:
		return top_rank(doc.team, doc.stage, exclude=doc.name)
	if lower[1] - upper[1] < 2:
		rebalance_column(doc.team, doc.stage)
		doc.flags.rebalanced_column = (doc.team, doc.stage)
		return rank_for_position(doc, above, below)
	return (upper[1] + lower[1]) // 2


def readable_ranks(team: str, stage: str, names: list[str]) -> dict[str, int]:
	"""The board_rank of each of `names` that is a card of the column and that the session user may
	read (through frappe.get_list): a card they may not read counts as missing, so where a card lands,
	or whether a scroll is refused, never tells them it is there."""
	rows = frappe.get_list(
		"Pipeline Opportunity",
		filters=[["name", "in", names], ["team", "=", team], ["stage", "=", stage]],
		fields=["name", "board_rank"],
		order_by="",
		limit_page_length=len(names),
	)
	return {row.name: row.board_rank for row in rows if row.board_rank is not None}


def _adjacent(doc, card: tuple[str, int], after: bool) -> tuple[str, int] | None:
	opportunity = frappe.qb.DocType("Pipeline Opportunity")
	name, rank = card
	if after:
		beyond = (opportunity.board_rank > rank) | (
			(opportunity.board_rank == rank) & (opportunity.name > name)
		)
	else:
		beyond = (opportunity.board_rank < rank) | (
			(opportunity.board_rank == rank) & (opportunity.name < name)
		)
	order = frappe.qb.asc if after else frappe.qb.desc
	rows = (
		frappe.qb.from_(opportunity)
		.select(opportunity.name, opportunity.board_rank)
		.where(
			(opportunity.team == doc.team)
			& (opportunity.stage == doc.stage)
			& (opportunity.name != doc.name)
			& beyond
		)
		.orderby(opportunity.board_rank, order=order)
		.orderby(opportunity.name, order=order)
		.limit(1)
		.run()
	)
	return tuple(rows[0]) if rows else None


def top_rank(team: str, stage: str, exclude: str | None = None) -> int:
	"""A rank above every card of the column."""
	opportunity = frappe.qb.DocType("Pipeline Opportunity")
	query = (
		frappe.qb.from_(opportunity)
		.select(opportunity.board_rank)
		.where((opportunity.team == team) & (opportunity.stage == stage) & opportunity.board_rank.isnotnull())
		.orderby(opportunity.board_rank)
		.limit(1)
	)
	if exclude:
		query = query.where(opportunity.name != exclude)
	rows = query.run()
	return rows[0][0] - RANK_GAP if rows else 0


def rebalance_column(team: str, stage: str) -> int:
	"""Renumbers one column's ranks evenly, keeping the order; returns how many cards it renumbered.
	Runs only when repeated moves to one spot have used up the gap there; the caller tells the boards
	showing the column to reload it (api.move_opportunity, through doc.flags.rebalanced_column)."""
	frappe.db.sql(
		"""update `tabPipeline Opportunity` opportunity
		join (
			select name, row_number() over (order by board_rank, name) as position
			from `tabPipeline Opportunity`
			where team = %(team)s and stage = %(stage)s
		) ranked on ranked.name = opportunity.name
		set opportunity.board_rank = ranked.position * %(gap)s""",
		{"team": team, "stage": stage, "gap": RANK_GAP},
	)
	return frappe.db._cursor.rowcount


def set_board_rank(doc) -> None:
	"""Called from validate: a card entering a column goes on top of it, unless the board placed it
	(doc.flags.board_rank set by move_opportunity)."""
	before = doc.get_doc_before_save()
	if doc.flags.board_rank is not None:
		doc.board_rank = doc.flags.board_rank
	elif before is None or before.stage != doc.stage or before.team != doc.team or doc.board_rank is None:
		doc.board_rank = top_rank(doc.team, doc.stage, exclude=None if doc.is_new() else doc.name)
