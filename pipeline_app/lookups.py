"""One value of one record, read by name as a constant statement: for the reads on every save's and
every board load's path.

`frappe.db.get_value` and `frappe.db.exists` build their query through the query builder (and
sqlparse, for the fields) on every call: about 1 ms of Python for a query that takes 0.2 ms, and a
move of a card made about ten of them. Here the doctype and the column come from the code or from a
doctype's meta, never from a request, and the name is always a parameter. Trusted server code: no
permission check. Single and virtual doctypes have no table: they are asked through Frappe.
"""

import re

import frappe
from frappe import _

COLUMN = re.compile(r"[a-z_][a-z0-9_]*")


def value_of(doctype: str, name, column: str = "name"):
	"""`column` of record `name` of `doctype`, or None when there is no such record."""
	if not COLUMN.fullmatch(column) or "`" in doctype:
		frappe.throw(_("Cannot read {0} of {1}").format(column, doctype))
	if name in (None, "") or isinstance(name, bool) or not isinstance(name, str | int):
		return None  # (an autoincrement doctype's names are numbers)
	meta = frappe.get_meta(doctype)
	if meta.issingle or meta.is_virtual:
		return frappe.db.get_value(doctype, name, column)
	rows = frappe.db.sql(f"select `{column}` from `tab{doctype}` where `name` = %s", (name,))
	return rows[0][0] if rows else None


def record_exists(doctype: str, name) -> bool:
	"""Whether record `name` of `doctype` exists."""
	return value_of(doctype, name) is not None
