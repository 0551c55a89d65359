"""Whitelisted methods that replace Frappe's where Frappe's are unsafe for team-scoped records (see
hooks.override_whitelisted_methods). Each either replaces a method outright (get_count,
validate_link, get_group_by_count) or runs Frappe's own after checking the record it names
(`guarded`) or before filtering what it returns; the README's security section lists them."""

import inspect

import frappe
from frappe import _
from frappe.client import validate_link as frappe_validate_link
from frappe.desk.listview import get_group_by_count as frappe_group_by_count
from frappe.desk.notifications import get_dynamic_link_filters, get_filters_for
from frappe.desk.notifications import get_open_count as frappe_get_open_count
from frappe.query_builder import DocType, Order
from frappe.query_builder.functions import Count
from frappe.realtime import can_subscribe_doctype as frappe_can_subscribe_doctype
from frappe.utils import get_safe_filters

from pipeline_app.permissions import (
	TEAM_FIELD,
	may_read_record,
	reference_fields,
	restricted_teams,
)
from pipeline_app.validation import check_filters

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


@frappe.whitelist()
def get_group_by_count(doctype: str, current_filters: str, field: str) -> list[dict]:
	"""The list sidebar's counts. Frappe's *Assigned To* count reads the doctype without permission
	(and the to-dos of any doctype with the same names): for team-scoped doctypes it counts only the
	user's readable records' to-dos."""
	try:
		filters = frappe.parse_json(current_filters)
	except ValueError:
		frappe.throw(_("The filters are not valid JSON"), title=_("Invalid Filters"))
	teams = restricted_teams()
	if field != "assigned_to" or doctype not in TEAM_SCOPED_DOCTYPES or teams is None:
		return frappe_group_by_count(doctype=doctype, current_filters=current_filters, field=field)
	frappe.has_permission(doctype, "read", throw=True)
	table = DocType(doctype)
	records = frappe.qb.get_query(doctype, filters=filters, fields=["name"], validate_filters=True).where(
		table[TEAM_FIELD[doctype]].isin(teams or [""])
	)
	todo, user = DocType("ToDo"), DocType("User")
	count = Count("*").as_("count")
	return (
		frappe.qb.from_(todo)
		.from_(user)
		.select(todo.allocated_to.as_("name"), count)
		.where(
			(todo.status != "Cancelled")
			& (todo.allocated_to == user.name)
			& (user.user_type == "System User")
			& (todo.reference_type == doctype)
			& (todo.reference_name.isin(records))
		)
		.groupby(todo.allocated_to)
		.orderby(count, order=Order.desc)
		.limit(50)
		.run(as_dict=True)
	)


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
