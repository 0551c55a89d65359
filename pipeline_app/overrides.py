"""Whitelisted methods that replace Frappe's where Frappe's are unsafe for team-scoped records (see
hooks.override_whitelisted_methods). Each either replaces a method outright (get_count,
validate_link, get_group_by_count, and the reads Frappe makes with frappe.get_all / get_value: workflow
state counts, Heatmap charts, link titles, tagged records, previous / next) or runs Frappe's own after
checking the record it names (`guarded`, the Kanban moves) or before filtering what it returns; the
README's security section lists them."""

import inspect
from collections import Counter

import frappe
from frappe import _
from frappe.client import validate_link as frappe_validate_link
from frappe.desk.doctype.dashboard_chart.dashboard_chart import get as frappe_dashboard_chart
from frappe.desk.doctype.kanban_board.kanban_board import update_order as frappe_update_order
from frappe.desk.listview import get_group_by_count as frappe_group_by_count
from frappe.desk.notifications import get_dynamic_link_filters, get_filters_for
from frappe.desk.notifications import get_open_count as frappe_get_open_count
from frappe.model.workflow import get_workflow_name, get_workflow_state_field
from frappe.query_builder import DocType
from frappe.realtime import can_subscribe_doctype as frappe_can_subscribe_doctype
from frappe.utils import cint, get_safe_filters, getdate

from pipeline_app.permissions import (
	TEAM_FIELD,
	may_read_record,
	raise_not_found,
	reference_fields,
	restricted_teams,
)
from pipeline_app.validation import DATE_FIELDTYPES, NUMBER_FIELDTYPES, check_filters

TEAM_SCOPED_DOCTYPES = frozenset(TEAM_FIELD)
BAD_INPUT_ERRORS = (TypeError, ValueError, AttributeError, LookupError, ImportError, NameError)


def database_input_errors() -> tuple:
	"""What MariaDB answers to a query built from bad input (no such table or column, bad syntax,
	a value out of range); deadlocks and timeouts among them are re-raised where caught."""
	return (frappe.db.ProgrammingError, frappe.db.DataError, frappe.db.OperationalError)


@frappe.whitelist()
def get_count(
	doctype: str, filters: str | dict | list | None = None, debug: bool = False, cache: bool = False
) -> int:
	"""`frappe.client.get_count` with the permission checks Frappe v15 leaves out: the user must be
	able to read the doctype, and only rows they may read are counted (permission query conditions
	and user permissions apply, as in `frappe.get_list`). `cache` is ignored: a shared cached count
	would leak between users. Filters name only columns of the doctype or of its child tables."""
	if frappe.is_table(doctype):
		if "System Manager" not in frappe.get_roles():
			frappe.throw(_("Not permitted to count {0}").format(_(doctype)), frappe.PermissionError)
		return frappe.db.count(doctype, check_filters(doctype, filters))
	frappe.has_permission(doctype, "read", throw=True)
	result = frappe.get_list(
		doctype,
		filters=check_filters(doctype, filters),
		fields=[f"count(`tab{doctype}`.`name`) as total_count"],
		order_by=None,
		limit_page_length=0,
		as_list=True,
	)
	return result[0][0] if result else 0


@frappe.whitelist()
def validate_link(doctype: str, docname: str, fields: str | list | None = None) -> dict:
	"""`frappe.client.validate_link` without its existence oracle: Frappe v15 answers whether any
	name exists to whoever may read the doctype. For team-scoped doctypes a record the user may not
	read is answered as missing, the same answer as for a name that does not exist."""
	if doctype in TEAM_SCOPED_DOCTYPES and not may_read_record(doctype, docname):
		return frappe._dict(name=None)
	return frappe_validate_link(doctype, docname, fields)


def filter_list(filters) -> list:
	"""Filters as a list Frappe's get_list takes with more appended (a dict's items become one-item
	dicts, which get_list reads as filters too)."""
	if isinstance(filters, dict):
		return [{key: value} for key, value in filters.items()]
	return list(filters or [])


@frappe.whitelist()
def get_group_by_count(doctype: str, current_filters: str, field: str) -> list[dict]:
	"""The list sidebar's counts. Frappe's *Assigned To* count selects the doctype's names without
	permission and counts the to-dos of any doctype with those names (a Tag named like another team's
	opportunity gives its assignees): here, for every doctype, only the to-dos of this doctype's
	records the user may read (frappe.get_list) are counted. Other fields: Frappe's count, which goes
	through frappe.get_list."""
	try:
		filters = frappe.parse_json(current_filters)
	except ValueError:
		frappe.throw(_("The filters are not valid JSON"), title=_("Invalid Filters"))
	if field != "assigned_to":
		return frappe_group_by_count(doctype=doctype, current_filters=current_filters, field=field)
	frappe.has_permission(doctype, "read", throw=True)
	todo, user = DocType("ToDo"), DocType("User")
	todos = (
		frappe.qb.from_(todo)
		.from_(user)
		.select(todo.reference_name, todo.allocated_to)
		.where(
			(todo.status != "Cancelled")
			& (todo.allocated_to == user.name)
			& (user.user_type == "System User")
			& (todo.reference_type == doctype)
		)
		.run(as_dict=True)
	)
	if not todos:
		return []
	names = list({row.reference_name for row in todos})
	readable = set(
		frappe.get_list(
			doctype,
			filters=[*filter_list(filters), [doctype, "name", "in", names]],
			pluck="name",
			limit_page_length=0,
		)
	)
	counts = Counter(row.allocated_to for row in todos if row.reference_name in readable)
	return [{"name": assignee, "count": count} for assignee, count in counts.most_common(50)]


@frappe.whitelist()
def get_open_count(doctype: str, name: str, items: str | list | None = None) -> dict:
	"""The form's Connections counts. Frappe counts the linked documents of the doctypes the caller
	names (`items`) with no permission check: with ERPNext, a Customer's count of opportunities would
	cover every team. Team-scoped doctypes are counted over the user's readable rows only."""
	try:
		result = frappe_get_open_count(doctype, name, items)
	except BAD_INPUT_ERRORS:
		frappe.throw(_("Invalid arguments for {0}").format("get_open_count"), title=_("Invalid Request"))
	if restricted_teams() is None:
		return result
	links = frappe.get_meta(doctype).get_dashboard_data()
	for entry in result["count"]["external_links_found"]:
		linked = entry.get("doctype")
		if linked not in TEAM_SCOPED_DOCTYPES:
			continue
		fieldname = links.get("non_standard_fieldnames", {}).get(linked, links.get("fieldname"))
		filters = {fieldname: name, **(get_dynamic_link_filters(linked, links, fieldname) or {})}
		entry["count"] = len(frappe.get_list(linked, filters=filters, pluck="name", limit=100))
		if open_filters := get_filters_for(linked):
			entry["open_count"] = len(
				frappe.get_list(linked, filters={**filters, **open_filters}, pluck="name", limit=100)
			)
	return result


# Frappe's endpoints that name a record and then do not check it
# ---------------------------------------------------------------


def require_record(doctype, name, ptype: str = "read") -> None:
	"""Loads a team-scoped record and checks `ptype` on it: another team's record fails to load as a
	missing one does (TeamScopedDocument), whatever Frappe's endpoint would have done with it."""
	if doctype in TEAM_SCOPED_DOCTYPES and restricted_teams() is not None:
		frappe.get_doc(doctype, name).check_permission(ptype)


def guarded(original: str, check=None, after=None):
	"""A whitelisted stand-in for Frappe's `original` (same signature, HTTP methods and guest rule):
	`check(args)` may refuse or adjust the arguments first, Frappe's own method runs, and
	`after(result)` may filter what it returns."""
	method = frappe.get_attr(original)

	def stand_in(**kwargs):
		args = frappe._dict(kwargs)
		args.pop("cmd", None)
		try:
			if check:
				check(args)
			result = frappe.call(method, **args)
		except (*BAD_INPUT_ERRORS, *database_input_errors()) as e:
			# Frappe's own method took arguments it cannot use (a doctype or column that does not
			# exist, text that is not JSON): a clear 4xx, as for every method of the app, not a 500,
			# and without the failed query Frappe logs for the answer
			if isinstance(e, frappe.db.OperationalError) and (
				frappe.db.is_deadlocked(e) or frappe.db.is_timedout(e)
			):
				raise
			frappe.db.rollback()
			frappe.local.debug_log = []
			frappe.throw(
				_("Invalid arguments for {0}").format(original),
				frappe.ValidationError,
				title=_("Invalid Request"),
			)
		return after(result) if after else result

	# Frappe passes the request's arguments by this signature (and the app's argument check reads it)
	stand_in.__signature__ = inspect.signature(method)
	stand_in.__name__ = method.__name__
	stand_in.__doc__ = f"{original}, made safe for team-scoped records (pipeline_app.overrides)."
	stand_in.frappe_original = original  # its signature, annotations included, is Frappe's
	return frappe.whitelist(
		allow_guest=method in frappe.guest_methods,
		methods=frappe.allowed_http_methods_for_whitelisted_func.get(method),
	)(stand_in)


def _liked(args):
	require_record(args.doctype, args.name, "read")


def _tagged(args):
	names = frappe.parse_json(args.docs) if args.docs is not None else [args.dn]
	for name in names if isinstance(names, list) else [names]:
		require_record(args.dt, name, "write")


def _followed(args):
	require_record(args.doctype, args.doc_name, "read")
	follower = args.user or frappe.session.user
	if args.doctype in TEAM_SCOPED_DOCTYPES and not may_read_record(args.doctype, args.doc_name, follower):
		# the digest would mail the record's changes to someone outside its team
		frappe.throw(
			_("{0} cannot follow {1} {2}").format(follower, _(args.doctype), args.doc_name),
			frappe.PermissionError,
		)


def _searched(args):
	"""Link search with `ignore_user_permissions` skips every permission check in Frappe: not for
	doctypes whose rows are team-scoped or attached to team-scoped records."""
	doctype = args.doctype
	if (
		args.ignore_user_permissions
		and restricted_teams() is not None
		and (doctype in TEAM_SCOPED_DOCTYPES or any(reference_fields(doctype)))
	):
		frappe.form_dict.ignore_user_permissions = False
		args.ignore_user_permissions = False


toggle_like = guarded("frappe.desk.like.toggle_like", _liked)
add_tag = guarded("frappe.desk.doctype.tag.tag.add_tag", _tagged)
add_tags = guarded("frappe.desk.doctype.tag.tag.add_tags", _tagged)
remove_tag = guarded("frappe.desk.doctype.tag.tag.remove_tag", _tagged)
follow_document = guarded("frappe.desk.form.document_follow.follow_document", _followed)
unfollow_document = guarded("frappe.desk.form.document_follow.unfollow_document", _followed)


search_link = guarded("frappe.desk.search.search_link", _searched)
search_widget = guarded("frappe.desk.search.search_widget", _searched)


# Frappe's endpoints that read records unchecked (frappe.get_all, frappe.get_value, raw queries):
# the same reads through frappe.get_list, so only rows the user may read count
# -----------------------------------------------------------------------------------------------


@frappe.whitelist()
def get_workflow_state_count(doctype: str, workflow_state_field: str, states: str | list) -> list[dict]:
	"""The list's workflow state counts. Frappe counts with frappe.get_all grouped by any column the
	caller names (another team's contact emails): only the doctype's active Workflow's state field,
	counted over readable rows."""
	frappe.has_permission(doctype=doctype, ptype="read", throw=True)
	states = frappe.parse_json(states)
	workflow = get_workflow_name(doctype)
	if not workflow or workflow_state_field != get_workflow_state_field(workflow):
		return []
	result = frappe.get_list(
		doctype,
		fields=[workflow_state_field, "count(*) as count"],
		filters={workflow_state_field: ["not in", states]},
		group_by=workflow_state_field,
		limit_page_length=0,
	)
	return [row for row in result if row[workflow_state_field]]


@frappe.whitelist()
def get_dashboard_chart(
	chart_name: str | None = None,
	chart: str | dict | None = None,
	no_cache: str | int | None = None,
	filters: str | list | dict | None = None,
	from_date: str | None = None,
	to_date: str | None = None,
	timespan: str | None = None,
	time_interval: str | None = None,
	heatmap_year: str | int | None = None,
	refresh: str | int | None = None,
) -> dict | None:
	"""A Dashboard Chart's data. Frappe takes a chart described in the request (`chart`) with no
	check and counts a Heatmap with frappe.get_all (every team's rows, any doctype), and answers a saved
	chart from one cache shared by all users unless asked to refresh. Here a described chart needs read
	permission on its doctype, Heatmaps, saved or described, count readable rows only, and saved charts
	are computed for the user every time; other charts are Frappe's, which reads through
	frappe.get_list."""
	if chart_name:
		saved = frappe.get_doc("Dashboard Chart", chart_name)
		if is_heatmap(saved):
			filters = frappe.parse_json(filters) or frappe.parse_json(saved.filters_json)
			return readable_heatmap(saved, filters, heatmap_year or saved.heatmap_year)
		# always computed for this user: Frappe's cache_source keeps one answer per chart name for
		# everyone and serves it when `refresh` is not asked for (another team's counts)
		return frappe_dashboard_chart(
			chart_name=chart_name,
			filters=filters,
			from_date=from_date,
			to_date=to_date,
			timespan=timespan,
			time_interval=time_interval,
			heatmap_year=heatmap_year,
			refresh=1,
		)
	described = frappe._dict(frappe.parse_json(chart) or {})
	if not isinstance(described.document_type, str) or not described.document_type:
		frappe.throw(_("The chart names no Document Type"), title=_("Invalid Request"))
	frappe.has_permission(described.document_type, "read", throw=True)
	if is_heatmap(described):
		return readable_heatmap(described, frappe.parse_json(described.filters_json), described.heatmap_year)
	# Frappe computes a described chart from the chart alone, afresh (no_cache), as its get does
	return frappe_dashboard_chart(chart=described, no_cache=1)


def is_heatmap(chart) -> bool:
	return chart.chart_type != "Group By" and chart.type == "Heatmap"


def readable_heatmap(chart, filters, heatmap_year) -> dict:
	"""Frappe's get_heatmap_chart_config through frappe.get_list, its date and value fields checked
	against the doctype."""
	doctype, datefield, value_field = chart.document_type, chart.based_on, chart.value_based_on
	meta = frappe.get_meta(doctype)
	date_df, value_df = meta.get_field(datefield), meta.get_field(value_field) if value_field else None
	aggregate = {"Sum": "SUM", "Count": "COUNT", "Average": "AVG"}.get(chart.chart_type)
	if (
		not aggregate
		or not (datefield in ("creation", "modified") or (date_df and date_df.fieldtype in DATE_FIELDTYPES))
		or (value_field and not (value_df and value_df.fieldtype in NUMBER_FIELDTYPES))
	):
		frappe.throw(
			_("The chart's fields are not valid for {0}").format(_(doctype)), title=_("Invalid Chart")
		)
	year = cint(heatmap_year) or getdate().year
	# bare column names, as Frappe writes them (get_list reads `tab<doctype>`.… in a function as another
	# table): both checked against the doctype above
	column, value = f"`{datefield}`", f"`{value_field}`" if value_field else "1"
	filters = [
		*filter_list(filters),
		[doctype, "docstatus", "<", 2, False],
		[doctype, datefield, ">", f"{year}-01-01", False],
		[doctype, datefield, "<", f"{year + 1}-01-01", False],
	]
	rows = frappe.get_list(
		doctype,
		fields=[f"unix_timestamp({column})", f"{aggregate}({value})"],
		filters=filters,
		group_by=f"date({column})",
		order_by=f"{column} asc",
		as_list=True,
		limit_page_length=0,
		ignore_ifnull=True,
		parent_doctype=chart.parent_document_type,
	)
	return {"labels": [], "dataPoints": dict(rows)}


@frappe.whitelist()
def get_link_title(doctype: str, docname: str) -> str | None:
	"""A link's title. Frappe reads it with no check: here through frappe.get_list, and a record the
	user may not read answers None, as a missing one does."""
	meta = frappe.get_meta(doctype)
	if not meta.show_title_field_in_link:
		return docname
	titles = frappe.get_list(doctype, filters={"name": docname}, pluck=meta.title_field, limit_page_length=1)
	return titles[0] if titles else None


@frappe.whitelist()
def get_tagged_docs(doctype: str, tag: str) -> list:
	"""Names of the records with a tag like `tag`. Frappe matches every row of the doctype (tag=% lists
	every team's tagged records): here only readable ones, as [[name], ...] like Frappe's."""
	frappe.has_permission(doctype, throw=True)
	return frappe.get_list(
		doctype,
		filters=[[doctype, "_user_tags", "like", tag]],
		fields=["name"],
		as_list=True,
		limit_page_length=0,
		ignore_ddl=True,
	)


@frappe.whitelist()
def get_next(
	doctype: str,
	value: str,
	prev: str | int,
	filters: str | list | dict | None = None,
	sort_order: str = "desc",
	sort_field: str = "modified",
) -> str | None:
	"""The form's previous / next record. Frappe reads the starting record's `sort_field` with
	frappe.get_value, unchecked (the neighbours of another team's record tell its values): here through
	frappe.get_list, so a record the user may not read starts like a missing one."""
	if sort_field not in frappe.get_meta(doctype).get_valid_columns() or sort_order.lower() not in (
		"asc",
		"desc",
	):
		frappe.throw(_("Invalid sort for {0}").format(_(doctype)), title=_("Invalid Request"))
	start = frappe.get_list(doctype, filters={"name": value}, pluck=sort_field, limit_page_length=1)
	condition = ">" if sort_order.lower() == "asc" else "<"
	if cint(prev):
		sort_order = "asc" if sort_order.lower() == "desc" else "desc"
		condition = "<" if condition == ">" else ">"
	filters = [
		*filter_list(frappe.parse_json(filters)),
		[doctype, sort_field, condition, start[0] if start else None],
	]
	result = frappe.get_list(
		doctype,
		filters=filters,
		pluck="name",
		order_by=f"`tab{doctype}`.`{sort_field}` {sort_order}",
		limit_page_length=1,
	)
	if not result:
		frappe.msgprint(_("No further records"))
		return None
	return result[0]


# Frappe's Kanban Board: not for team-scoped doctypes (the app has the Pipeline Board)
# -----------------------------------------------------------------------------------


def may_keep_kanban(doctype: str) -> bool:
	"""Frappe's Kanban Board saves whole column orders (the names of every card its user sees) on a
	board every Desk User may read: not for team-scoped doctypes, except for System Managers (the
	benchmark against the Pipeline Board keeps one, made as Administrator)."""
	return doctype not in TEAM_SCOPED_DOCTYPES or "System Manager" in frappe.get_roles()


def refuse_team_scoped_kanban(doc, method=None) -> None:
	"""doc_events Kanban Board validate: every save of a board, whichever endpoint makes it."""
	if not may_keep_kanban(doc.reference_doctype):
		frappe.throw(
			_("Kanban Boards of {0} are not available: use the Pipeline Board instead.").format(
				_(doc.reference_doctype)
			),
			frappe.ValidationError,
			title=_("Use the Pipeline Board"),
		)


def require_readable_cards(doctype: str, cards: list) -> None:
	"""Cards the user may not read fail as missing ones do, before Frappe reads their columns (with
	frappe.get_value, unchecked: whether it then writes tells another team's card's column)."""
	cards = [card for card in cards if isinstance(card, str)]
	readable = set(
		frappe.get_list(doctype, filters={"name": ("in", cards)}, pluck="name", limit_page_length=0)
		if cards
		else ()
	)
	for card in cards:
		if card not in readable:
			raise_not_found(doctype, card)


@frappe.whitelist()
def update_order(board_name: str, order: str | dict) -> tuple:
	"""The Kanban view's save of every column's order (sent each time the view opens). Unreadable
	cards fail as missing ones; a board Frappe's Kanban may not keep (`may_keep_kanban`) answers as
	Frappe does to a user who may not write: the board as stored, no card moved."""
	board = frappe.get_doc("Kanban Board", board_name)
	doctype = board.reference_doctype
	if not frappe.has_permission(doctype, "write"):
		return board, []
	try:
		order = frappe.parse_json(order)
	except ValueError:
		order = None
	if not isinstance(order, dict) or not all(isinstance(cards, list) for cards in order.values()):
		frappe.throw(_("Invalid arguments for {0}").format("update_order"), title=_("Invalid Request"))
	require_readable_cards(doctype, [card for cards in order.values() for card in cards])
	if not may_keep_kanban(doctype):
		return board, []
	return frappe_update_order(board_name, frappe.as_json(order))


def _kanban_card(args):
	board = frappe.get_doc("Kanban Board", args.board_name)
	if frappe.has_permission(board.reference_doctype, "write"):
		require_readable_cards(board.reference_doctype, [args.docname])


update_order_for_single_card = guarded(
	"frappe.desk.doctype.kanban_board.kanban_board.update_order_for_single_card", _kanban_card
)
add_card = guarded("frappe.desk.doctype.kanban_board.kanban_board.add_card", _kanban_card)


# Another team's messages stay out of shared records' timelines (the Contact's)
# -----------------------------------------------------------------------------


def readable_communications(communications: list) -> list:
	"""Drops the messages that reference, or are linked to, a team-scoped record the user may not
	read; Frappe lists a record's timeline messages with raw SQL and no check per message."""
	if not communications or restricted_teams() is None:
		return communications
	names = [c.get("name") for c in communications]
	links = frappe.get_all(
		"Communication Link",
		filters={
			"parent": ("in", names),
			"parenttype": "Communication",
			"link_doctype": ("in", list(TEAM_FIELD)),
		},
		fields=["parent", "link_doctype", "link_name"],
	)
	foreign = {link.parent for link in links if not may_read_record(link.link_doctype, link.link_name)}
	return [
		c
		for c in communications
		if c.get("name") not in foreign
		and may_read_record(c.get("reference_doctype"), c.get("reference_name"))
	]


def _docinfo_filtered(result):
	docinfo = frappe.response.get("docinfo")
	if docinfo and docinfo.get("communications"):
		docinfo["communications"] = readable_communications(docinfo["communications"])
	return result


getdoc = guarded("frappe.desk.form.load.getdoc", after=_docinfo_filtered)
get_docinfo = guarded("frappe.desk.form.load.get_docinfo", after=_docinfo_filtered)
get_communications = guarded("frappe.desk.form.load.get_communications", after=readable_communications)


# Realtime rooms
# --------------


@frappe.whitelist(allow_guest=True)
def can_subscribe_doctype(doctype: str) -> bool:
	"""Frappe lets every reader of a doctype join its room, where each save's `list_update` goes:
	team-scoped records send theirs to each reader's own room (pipeline_app.realtime) and their
	doctype rooms are closed to everyone who may not see every team."""
	if doctype in TEAM_SCOPED_DOCTYPES and restricted_teams() is not None:
		raise frappe.PermissionError
	return frappe_can_subscribe_doctype(doctype)
