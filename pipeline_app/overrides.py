"""Whitelisted methods that replace Frappe's where Frappe's are unsafe (see hooks.override_whitelisted_methods)."""

import frappe
from frappe import _
from frappe.client import validate_link as frappe_validate_link
from frappe.utils import get_safe_filters

TEAM_SCOPED_DOCTYPES = frozenset(
	(
		"Pipeline Opportunity",
		"Pipeline Appointment",
		"Pipeline Team",
		"Funnel Stage",
		"Pipeline Stage Change",
	)
)


@frappe.whitelist()
def get_count(doctype: str, filters=None, debug: bool = False, cache: bool = False) -> int:
	"""`frappe.client.get_count` with the permission checks Frappe v15 leaves out: the user must be
	able to read the doctype, and only rows they may read are counted (permission query conditions
	and user permissions apply, as in `frappe.get_list`). `cache` is ignored: a shared cached count
	would leak between users. Filters name only columns of the doctype or of its child tables."""
	from pipeline_app.validation import check_filters

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
def validate_link(doctype: str, docname: str, fields=None):
	"""`frappe.client.validate_link` without its existence oracle: Frappe v15 answers whether any
	name exists to whoever may read the doctype. For team-scoped doctypes a record the user may not
	read is answered as missing, the same answer as for a name that does not exist."""
	values = frappe_validate_link(doctype, docname, fields)
	if (
		doctype in TEAM_SCOPED_DOCTYPES
		and values.get("name")
		and not frappe.has_permission(doctype, "read", doc=values.name)
	):
		frappe.clear_last_message()
		return frappe._dict(name=None)
	return values
