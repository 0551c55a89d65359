"""Permission-checked list queries, built once per process.

`frappe.get_list(doctype, run=False, ...)` spends about 1 ms of Python on every call building the
same text (filters, field-level permissions, the permission conditions): a board load builds three
(its teams, its cards, its totals), 1.6 ms of its 14. `permitted_query` returns the same text, built
by `frappe.get_list` once and then kept in this process under everything the text is built from:

- the site, the arguments and the user;
- the user's roles (field-level read permissions, select-only access);
- the doctype's fields and permission rules as its meta has them now (customizations included);
- the permission conditions Frappe builds for the user now (`DatabaseQuery.build_match_conditions`:
  user permissions, shares, every `permission_query_conditions` hook, permission Server Scripts).
  These are computed on every call (about 0.3 ms): they are the part of the text that changes most
  often (a new team, a share, a user permission), and keying on them means a change takes effect at
  the next call, in every worker, with nothing to clear.

Queries that join other tables (child table filters, link fields such as `contact.phone`, whose join
conditions come from the linked doctype's rules: pipeline_app/link_joins.py) are built every time.
"""

import datetime

import frappe
from frappe.model.db_query import DatabaseQuery

MAX_KEPT = 4096  # texts kept per process; all are dropped when full
# what of a field the text of a list query can depend on (types of filter values, permission levels)
FIELD_PROPERTIES = ("fieldname", "fieldtype", "options", "permlevel", "ignore_user_permissions")
PERMISSION_PROPERTIES = ("role", "permlevel", "read", "select", "if_owner")

_kept: dict[tuple, str] = {}


def permitted_query(doctype: str, **kwargs) -> str:
	"""The text of `frappe.get_list(doctype, run=False, **kwargs)` for the session user, checked the
	same way (a user without read permission gets Frappe's PermissionError). Not for filters that
	Frappe turns into dates while building (`timespan`): the kept text would keep the day it was built."""
	if kwargs.get("ignore_permissions"):
		key = (frappe.local.site, doctype, repr(sorted(kwargs.items())), meta_key(doctype))
	else:
		user = frappe.session.user
		conditions = DatabaseQuery(doctype, user=user)
		conditions.check_read_permission(doctype)
		conditions.tables = [f"`tab{doctype}`"]
		conditions.reference_doctype = doctype
		match = conditions.build_match_conditions()
		key = (
			frappe.local.site,  # one process may serve several sites
			doctype,
			repr(sorted(kwargs.items())),
			user,
			tuple(frappe.get_roles(user)),
			match,
			tuple(conditions.conditions),  # the share condition of a user who reads shared rows only
			meta_key(doctype),
		)
	text = _kept.get(key)
	if text is None:
		query = DatabaseQuery(doctype)
		text = query.execute(run=False, **kwargs)
		if len(query.tables) == 1 and not query.link_tables and not names_an_instant(kwargs):
			if len(_kept) >= MAX_KEPT:
				_kept.clear()
			_kept[key] = text
	return text


def names_an_instant(value) -> bool:
	"""Whether arguments hold a date and time (the board's follow-up filters compare with now): each
	such text is built once and never again, so it is not kept (it would only push the others out)."""
	if isinstance(value, datetime.datetime):
		return True
	if isinstance(value, dict):
		value = list(value.values())
	return isinstance(value, list | tuple | set) and any(names_an_instant(item) for item in value)


def meta_key(doctype: str) -> tuple:
	"""What of the doctype's meta a list query's text is built from, as it is now."""
	meta = frappe.get_meta(doctype)
	return (
		meta.modified,
		tuple(tuple(df.get(name) for name in FIELD_PROPERTIES) for df in meta.fields),
		tuple(tuple(perm.get(name) for name in PERMISSION_PROPERTIES) for perm in meta.permissions),
	)
