"""Team-scoped row permissions for every pipeline doctype, wired in hooks.py.

`permission_query_conditions` covers every list path (REST lists, frappe.client.get_list/get_value,
reportview and its counts, link search, exports); `has_permission` covers every single-document path
(REST get/put/delete, frappe.client.get/set_value/delete, the form). Role permissions (DocPerm) still
apply on top: these hooks only ever narrow them.
"""

from collections import defaultdict
from contextlib import contextmanager
from urllib.parse import unquote

import frappe
from frappe import _

from pipeline_app.erpnext import LINKED_DOCTYPES
from pipeline_app.lookups import value_of
from pipeline_app.teams import get_readable_teams, is_pipeline_manager

NO_ROWS = "1=0"
READ_ONLY_PTYPES = frozenset(("read", "select", "print", "email", "report", "export"))


def _team_condition(column: str, user: str | None) -> str:
	teams = get_readable_teams(user)
	if teams is None:
		return ""
	if not teams:
		return NO_ROWS
	return "{} in ({})".format(column, ", ".join(frappe.db.escape(team) for team in teams))


def opportunity_query(user: str | None = None) -> str:
	return _team_condition("`tabPipeline Opportunity`.`team`", user)


def appointment_query(user: str | None = None) -> str:
	return _team_condition("`tabPipeline Appointment`.`team`", user)


def team_query(user: str | None = None) -> str:
	return _team_condition("`tabPipeline Team`.`name`", user)


def funnel_stage_query(user: str | None = None) -> str:
	return _team_condition("`tabFunnel Stage`.`team`", user)


def team_member_query(user: str | None = None) -> str:
	return _team_condition("`tabPipeline Team Member`.`parent`", user)


def stage_change_query(user: str | None = None) -> str:
	return _team_condition("`tabPipeline Stage Change`.`team`", user)


def abandonment_run_query(user: str | None = None) -> str:
	return _team_condition("`tabPipeline Abandonment Run`.`team`", user)


def _allowed(teams_needed, user: str | None) -> bool | None:
	"""None lets role permissions decide; False denies."""
	teams = get_readable_teams(user)
	if teams is None:
		return None
	for team in teams_needed:
		if not team or team not in teams:
			return False
	return None


def _stored(doc, ptype: str | None, fieldname: str):
	"""The value stored in the database, for writes: a PUT applies the new values before the
	permission check, so the check must also look at where the record is now."""
	if ptype in READ_ONLY_PTYPES or doc.is_new():
		return ()
	return (value_of(doc.doctype, doc.name, fieldname),)


def opportunity_permission(doc, ptype: str | None = None, user: str | None = None) -> bool | None:
	return _allowed((doc.get("team"), *_stored(doc, ptype, "team")), user)


def appointment_permission(doc, ptype: str | None = None, user: str | None = None) -> bool | None:
	opportunities = {doc.get("opportunity"), *_stored(doc, ptype, "opportunity")}
	teams = [value_of("Pipeline Opportunity", name, "team") if name else None for name in opportunities]
	return _allowed(teams, user)


def team_permission(doc, ptype: str | None = None, user: str | None = None) -> bool | None:
	if doc.is_new():
		return None
	return _allowed((doc.name,), user)


def funnel_stage_permission(doc, ptype: str | None = None, user: str | None = None) -> bool | None:
	return _allowed((doc.get("team"), *_stored(doc, ptype, "team")), user)


def stage_change_permission(doc, ptype: str | None = None, user: str | None = None) -> bool | None:
	return _allowed((doc.get("team"),), user)


def abandonment_run_permission(doc, ptype: str | None = None, user: str | None = None) -> bool | None:
	return _allowed((doc.get("team"),), user)


# Child tables: Frappe lists a child doctype (frappe.client.get_list / reportview with `parent`)
# after checking only the role on the parent, and applies only the child's own conditions. Each child
# doctype whose parent is scoped gets its parent's own condition, through the parent table.
# ---------------------------------------------------------------------------------------------------


def _child_condition(child: str, parent: str, parent_condition: str) -> str:
	"""Rows of `child` whose parent passes `parent_condition` (the parent doctype's own
	permission_query_conditions: escaped literals only, never user input)."""
	if not parent_condition:
		return ""
	if parent_condition == NO_ROWS:
		return NO_ROWS
	table = f"`tab{child}`"
	return (
		f"({table}.`parenttype` = {frappe.db.escape(parent)}"
		f" and {table}.`parent` in (select `name` from `tab{parent}` where {parent_condition}))"
	)


def opportunity_item_query(user: str | None = None) -> str:
	return _child_condition("Pipeline Opportunity Item", "Pipeline Opportunity", opportunity_query(user))


def booking_hours_query(user: str | None = None) -> str:
	return _child_condition("Pipeline Booking Hours", "Pipeline Team", team_query(user))


def card_field_query(user: str | None = None) -> str:
	return _child_condition("Pipeline Card Field", "Pipeline Team", team_query(user))


def digest_team_query(user: str | None = None) -> str:
	"""The teams the user's own subscription follows (managers: everyone's), and only teams they may
	read: a row's team can be joined in a list (`fields=["team.description"]`)."""
	conditions = (
		_child_condition(
			"Pipeline Digest Team", "Pipeline Digest Subscription", digest_subscription_query(user)
		),
		_team_condition("`tabPipeline Digest Team`.`team`", user),
	)
	return " and ".join(condition for condition in conditions if condition)


# A user's own records: their digests and digest subscription (managers: everyone's)
# ------------------------------------------------------------------------------------


def _own_condition(column: str, user: str | None) -> str:
	user = user or frappe.session.user
	if is_pipeline_manager(user):
		return ""
	return f"{column} = {frappe.db.escape(user)}"


def digest_query(user: str | None = None) -> str:
	return _own_condition("`tabPipeline Digest`.`user`", user)


def digest_subscription_query(user: str | None = None) -> str:
	return _own_condition("`tabPipeline Digest Subscription`.`user`", user)


def own_record_permission(doc, ptype: str | None = None, user: str | None = None) -> bool | None:
	user = user or frappe.session.user
	if is_pipeline_manager(user):
		return None
	return None if doc.get("user") == user and _stored(doc, ptype, "user") in ((), (user,)) else False


# Records of another team look exactly like records that do not exist (see scoped_document.py)
# ---------------------------------------------------------------------------------------------

TEAM_FIELD = {
	"Pipeline Opportunity": "team",
	"Pipeline Appointment": "team",
	"Funnel Stage": "team",
	"Pipeline Stage Change": "team",
	"Pipeline Abandonment Run": "team",
	"Pipeline Team": "name",
}


@contextmanager
def system_access():
	"""Trusted server code that must reach every team's records whoever the session user is (for
	example a hook run for an ERPNext user): loads are not hidden inside this block. Permission checks
	still apply; pass ignore_permissions where the code writes."""
	previous = frappe.flags.pipeline_system_access
	frappe.flags.pipeline_system_access = True
	try:
		yield
	finally:
		frappe.flags.pipeline_system_access = previous


def restricted_teams() -> list[str] | None:
	"""The teams the session user may see, or None where nothing is hidden (managers, system code,
	install and migrate)."""
	if frappe.flags.pipeline_system_access or frappe.flags.in_install or frappe.flags.in_migrate:
		return None
	session = getattr(frappe.local, "session", None)
	if not session or not session.get("user"):
		return None
	return get_readable_teams(session.user)


DELETE_METHODS = frozenset(("frappe.client.delete",))


def raise_not_found(doctype: str, name) -> None:
	"""The very error Frappe raises when a document does not exist: Document.load_from_db's, or on
	a delete request frappe.delete_doc's (which checks existence first and says nothing)."""
	request = getattr(frappe.local, "request", None)
	if request is not None and (request.method == "DELETE" or frappe.form_dict.get("cmd") in DELETE_METHODS):
		raise frappe.DoesNotExistError
	frappe.throw(_("{0} {1} not found").format(_(doctype), name), frappe.DoesNotExistError)


def team_of(doctype: str, name) -> str | None:
	"""The team a team-scoped record belongs to; None when it does not exist. Trusted server code."""
	if not name or not isinstance(name, str):
		return None
	field = TEAM_FIELD[doctype]
	if doctype not in FIXED_TEAM_DOCTYPES:
		return value_of(doctype, name, field)
	# a team, or a stage (whose team is set once): kept for the request once found (each save checks
	# its links to them more than once); one not found is asked again
	if not hasattr(frappe.local, "request_cache"):
		frappe.local.request_cache = defaultdict(dict)  # as frappe.utils.caching.request_cache makes it
	known = frappe.local.request_cache["pipeline_team_of"]
	key = (doctype, name)
	if key not in known:
		team = value_of(doctype, name, field)
		if not team:
			return None
		known[key] = team
	return known[key]


# team-scoped doctypes whose records never change team
FIXED_TEAM_DOCTYPES = frozenset(("Pipeline Team", "Funnel Stage"))


def may_read_record(doctype: str | None, name, user: str | None = None) -> bool:
	"""Whether a reference to `doctype` `name` is one the user may follow: always for doctypes that
	are not team-scoped; for team-scoped ones only to a record of a readable team (one that does not
	exist is answered the same as another team's)."""
	if doctype not in TEAM_FIELD:
		return True
	teams = get_readable_teams(user)
	return teams is None or team_of(doctype, name) in teams


# Frappe's generic doctypes that point at our records (File, ToDo, Comment, Communication, Version,
# Document Follow, Tag Link, Workflow Action, Notification Log, ...): the team rule through "*"
# hooks, found from each doctype's meta, so a doctype another app adds is covered too.
# -------------------------------------------------------------------------------------------------

# references held in Data fields, which the meta cannot tell from other text
DATA_REFERENCES = {
	"File": [("attached_to_doctype", "attached_to_name")],
	"Version": [("ref_doctype", "docname")],
	"Notification Log": [("document_type", "document_name")],
	"Email Queue": [("reference_doctype", "reference_name")],
	"Energy Point Log": [("reference_doctype", "reference_name")],
	"Milestone": [("reference_type", "reference_name")],
	"Error Log": [("reference_doctype", "reference_name")],
}
# child rows that attach their parent to other documents (a contact's own links stay shared)
CHILD_REFERENCES = {
	"Communication": ("Communication Link", "link_doctype", "link_name"),
	"Event": ("Event Participants", "reference_doctype", "reference_docname"),
}
NOT_REFERENCES = frozenset(("User Permission", "Permission Inspector", "DocType", "Customize Form"))
# ERPNext's Quotation, Sales Order and Project keep ERPNext's permissions: their link to an opportunity
# is checked when set or changed, by their own validate (pipeline_app.erpnext.outcomes)
LINKED_ERPNEXT_DOCTYPES = frozenset(LINKED_DOCTYPES)


def reference_fields(doctype: str) -> tuple[list[tuple[str, str, bool]], list]:
	"""(doctype field, name field, is a Dynamic Link) pairs of `doctype` that may point at a
	team-scoped record, and its Link fields to team-scoped doctypes. Cached per request."""
	cache = getattr(frappe.local, "pipeline_reference_fields", None)
	if cache is None:
		cache = frappe.local.pipeline_reference_fields = {}
	if doctype in cache:
		return cache[doctype]
	pairs, links = [], []
	if doctype not in NOT_REFERENCES:
		meta = frappe.get_meta(doctype)
		if not meta.istable and doctype not in TEAM_FIELD:
			pairs = [
				(df.options, df.fieldname, True)
				for df in meta.get("fields", {"fieldtype": "Dynamic Link"})
				if df.options
			]
			pairs += [(*pair, False) for pair in DATA_REFERENCES.get(doctype, ())]
		if doctype not in LINKED_ERPNEXT_DOCTYPES:
			links = [df for df in meta.get_link_fields() if df.options in TEAM_FIELD]
	cache[doctype] = (pairs, links)
	return cache[doctype]


def reference_permission(doc, ptype: str | None = None, user: str | None = None, debug=False) -> bool | None:
	"""has_permission for every doctype ("*"): a document attached to (or a child row of it pointing
	at) another team's record is not the user's to read or write, and a write that links to another
	team's record fails exactly as a link to a missing record does. Frappe validates links before
	the create check and after the write check: a missing Link target fails link validation on both,
	a missing Dynamic Link target (an attachment's) fails link validation on create and this check
	on write."""
	pairs, links = reference_fields(doc.doctype)
	child = CHILD_REFERENCES.get(doc.doctype)
	if not (pairs or links or child):
		return None
	if get_readable_teams(user) is None:
		return None
	writing = ptype == "create" or (ptype == "write" and doc.flags.get("pipeline_checking") == "write")
	for df in links if ptype in ("create", "write") else ():
		if _is_foreign(df.options, doc.get(df.fieldname), user):
			# Frappe's link check misses a missing record when the link fetches fields: then the
			# team check refuses it, and refuses another team's the same way
			if writing and not doc.meta.get_fields_to_fetch(df.fieldname):
				_raise_link_not_found(doc, df.fieldname)
			return False
	for doctype_field, name_field, dynamic in pairs:
		target, value = doc.get(doctype_field), doc.get(name_field)
		if not may_read_record(target, value, user):
			if ptype == "create" and dynamic and _is_foreign(target, value, user):
				_raise_link_not_found(doc, name_field)
			return False
	if child:
		_table, doctype_field, name_field = child
		for row in doc.get(_child_table_field(doc.doctype, child[0])) or []:
			if not may_read_record(row.get(doctype_field), row.get(name_field), user):
				return False
	return None


def _is_foreign(doctype: str | None, name, user: str | None) -> bool:
	"""A team-scoped record that exists and the user may not read."""
	return (
		bool(name)
		and doctype in TEAM_FIELD
		and not may_read_record(doctype, name, user)
		and bool(team_of(doctype, name))
	)


def _child_table_field(doctype: str, child_doctype: str) -> str | None:
	return next(
		(df.fieldname for df in frappe.get_meta(doctype).get_table_fields() if df.options == child_doctype),
		None,
	)


def _raise_link_not_found(doc, fieldname: str) -> None:
	"""What Document._validate_links says of a link to a record that does not exist."""
	df = doc.meta.get_field(fieldname)
	label = _(df.label, context=df.parent) if df else fieldname
	frappe.throw(_("Could not find {0}").format(f"{label}: {doc.get(fieldname)}"), frappe.LinkValidationError)


def _readable_names(doctype: str, teams: list[str]) -> str:
	"""SQL for the names of `doctype` records in `teams` (escaped literals only)."""
	if not teams:
		return "select null from dual where 1=0"
	team_list = ", ".join(frappe.db.escape(team) for team in teams)
	field = TEAM_FIELD[doctype]
	if field == "name":
		return f"select `name` from `tab{doctype}` where `name` in ({team_list})"
	return f"select `name` from `tab{doctype}` where `{field}` in ({team_list})"


def _reference_condition(doctype_column: str, name_column: str, teams: list[str]) -> str:
	"""SQL true when the reference points at no team-scoped record or at a readable one."""
	cases = " ".join(
		f"when {frappe.db.escape(doctype)} then {name_column} in ({_readable_names(doctype, teams)})"
		for doctype in TEAM_FIELD
	)
	return f"(case {doctype_column} {cases} else 1 end)"


def reference_query(user: str | None = None, doctype: str | None = None) -> str:
	"""permission_query_conditions for every doctype ("*"): rows attached to another team's record
	are left out of lists, counts, reports and searches."""
	if not doctype:
		return ""
	pairs, _links = reference_fields(doctype)
	child = CHILD_REFERENCES.get(doctype)
	if not (pairs or child):
		return ""
	teams = get_readable_teams(user)
	if teams is None:
		return ""
	table = f"`tab{doctype}`"
	conditions = [
		_reference_condition(f"{table}.`{dt_field}`", f"{table}.`{name_field}`", teams)
		for dt_field, name_field, _dynamic in pairs
	]
	if child:
		child_doctype, dt_field, name_field = child
		foreign = _reference_condition(f"link.`{dt_field}`", f"link.`{name_field}`", teams)
		conditions.append(
			f"not exists (select 1 from `tab{child_doctype}` link where link.`parent` = {table}.`name`"
			f" and link.`parenttype` = {frappe.db.escape(doctype)} and not {foreign})"
		)
	return " and ".join(conditions)


# Private files: Frappe serves /private/files/<name> to whoever may read ANY File row with that URL
# (file/utils.find_file_by_url), and anyone may create a File row naming an existing URL (and owns
# it). A new row naming a private file already on the site, without bringing its own content, is a
# copy of that file: only for a user who may already read one of its rows.
# --------------------------------------------------------------------------------------------------


def file_permission(doc, ptype: str | None = None, user: str | None = None) -> bool | None:
	"""has_permission for File. On the create check of a new File (every insert that does not ignore
	permissions) it notes whether the File brings its own content (an upload, which Frappe may store
	under an existing file's URL when the content is the same) or only names a file (check_file_copy).
	A new File, or one changed to another URL, that names a private file the user may not read through
	any of its rows is not permitted: another team's file and a file that is not there (or that no row
	names) answer alike, a 403, before Frappe reads the file (a missing one was a 500). Inserts that
	ignore permissions are treated as copies by check_file_copy."""
	if ptype == "create" and doc.is_new() and doc.flags.pipeline_uploaded is None:
		doc.flags.pipeline_uploaded = bool(doc.get("content"))
	if ptype in ("create", "write") and names_unreadable_private_file(doc, user):
		return False
	return None


def names_unreadable_private_file(doc, user: str | None = None, unnamed: bool = True) -> bool:
	"""The one rule of private-file copies: `doc` (new and not an upload, or changed to another URL)
	names a private file that `user` may not read through any File row naming it. `unnamed`: whether a
	URL no other row names counts too (at the permission check: a missing file then answers as another
	team's does; not at validate, where Frappe has already read the file and uploads made with
	ignore_permissions come unflagged). Trusted code (Administrator, install, migrate, patches,
	system_access) may."""
	url = unquote(doc.get("file_url") or "")
	if doc.get("is_folder") or not url.startswith("/private/"):
		return False
	if doc.is_new():
		# set by file_permission from the File's own content, before Frappe's before_insert reads the
		# named file into `content`; unset where permissions were ignored: a copy
		if doc.flags.pipeline_uploaded:
			return False
	elif unquote(frappe.db.get_value("File", doc.name, "file_url") or "") == url:
		return False
	user = user or frappe.session.user
	if (
		user == "Administrator"
		or frappe.flags.pipeline_system_access
		or frappe.flags.in_install
		or frappe.flags.in_migrate
		or frappe.flags.in_patch
	):
		return False
	# trusted read: the rows are only checked, one by one, with the user's own permission
	rows = frappe.get_all("File", filters={"file_url": url, "name": ("!=", doc.name or "")}, pluck="name")
	if not rows and not unnamed:
		return False
	logged, logs = len(frappe.local.message_log), frappe.flags.get("has_permission_check_logs")
	checked = len(logs) if logs is not None else 0
	readable = any(
		frappe.has_permission("File", "read", doc=frappe.get_doc("File", name), user=user) for name in rows
	)
	# the checks' own messages and permission logs name the rows' documents: none reaches the user
	del frappe.local.message_log[logged:]
	if logs is not None:
		del logs[checked:]
	return not readable


def check_file_copy(doc, method: str | None = None) -> None:
	"""doc_event (File validate): the same rule (names_unreadable_private_file) for the copies Frappe
	makes with ignore_permissions, which skip file_permission (an email's attachments by File name):
	refused with a 403."""
	if names_unreadable_private_file(doc, unnamed=False):
		frappe.throw(
			_("You do not have access to this file"), frappe.PermissionError, title=_("Not Permitted")
		)
