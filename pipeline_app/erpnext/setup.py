"""The fields each app gets on the other's doctypes, present exactly while both apps are installed.

Made by whichever install comes second (the app's own after_install, Frappe v15's after_app_install
hook for ERPNext installed later) and on every migrate; removed, columns included, before either app
is uninstalled (the app's before_uninstall, Frappe's before_app_uninstall hook).

On Pipeline Opportunity: `customer`, `prospect`, `lead`, `erpnext_opportunity` (the ERPNext
Opportunity it comes from), `company`; the item lines' `item` (Data on bare Frappe) becomes a Link to
Item. On Pipeline Team: `selling_price_list`. On Quotation, Sales Order and Project:
`pipeline_opportunity`.
"""

import frappe
from frappe import _
from frappe.custom.doctype.custom_field.custom_field import create_custom_fields
from frappe.custom.doctype.property_setter.property_setter import make_property_setter

from pipeline_app.erpnext import ERPNEXT_APP, LINKED_DOCTYPES, OPPORTUNITY_LINK_FIELD, erpnext_installed

APP = "pipeline_app"
OPPORTUNITY = "Pipeline Opportunity"
ITEM_ROW = "Pipeline Opportunity Item"


def custom_fields() -> dict[str, list[dict]]:
	fields = {
		OPPORTUNITY: [
			{
				"fieldname": "section_erpnext",
				"fieldtype": "Section Break",
				"label": _("Customer"),
				"insert_after": "follow_up_on",
				"collapsible": 0,
			},
			{
				"fieldname": "customer",
				"fieldtype": "Link",
				"label": _("Customer"),
				"options": "Customer",
				"insert_after": "section_erpnext",
				"search_index": 1,
			},
			{
				"fieldname": "prospect",
				"fieldtype": "Link",
				"label": _("Prospect"),
				"options": "Prospect",
				"insert_after": "customer",
			},
			{
				"fieldname": "lead",
				"fieldtype": "Link",
				"label": _("Lead"),
				"options": "Lead",
				"insert_after": "prospect",
				# conversions look up what a lead already became (pipeline_app/erpnext/conversion.py)
				"search_index": 1,
			},
			{
				"fieldname": "erpnext_opportunity",
				"fieldtype": "Link",
				"label": _("ERPNext Opportunity"),
				"options": "Opportunity",
				"insert_after": "lead",
				"search_index": 1,
				"description": _("The ERPNext Opportunity this deal comes from (a second import skips it)"),
			},
			{
				"fieldname": "column_break_erpnext",
				"fieldtype": "Column Break",
				"insert_after": "erpnext_opportunity",
			},
			{
				"fieldname": "company",
				"fieldtype": "Link",
				"label": _("Company"),
				"options": "Company",
				"insert_after": "column_break_erpnext",
			},
		],
	}
	fields["Pipeline Team"] = [
		{
			"fieldname": "selling_price_list",
			"fieldtype": "Link",
			"label": _("Selling Price List"),
			"options": "Price List",
			"insert_after": "quotation_sent_stage",
			"description": _("Item lines without a rate take it from here (else from Selling Settings)."),
		}
	]
	insert_after = {"Quotation": "order_type", "Sales Order": "order_type", "Project": "project_type"}
	for doctype in LINKED_DOCTYPES:
		fields[doctype] = [
			{
				"fieldname": OPPORTUNITY_LINK_FIELD,
				"fieldtype": "Link",
				"label": _("Pipeline Opportunity"),
				"options": OPPORTUNITY,
				"insert_after": insert_after[doctype],
				"search_index": 1,
				# copied by Frappe's mapper (a Sales Order made from a Quotation) and on amend
				"no_copy": 0,
			}
		]
	return fields


# (doctype, field, property, value, property type): the item lines name ERPNext Items
PROPERTY_SETTERS = (
	(ITEM_ROW, "item", "fieldtype", "Link", "Data"),
	(ITEM_ROW, "item", "options", "Item", "Text"),
)


def create_erpnext_fields() -> None:
	"""Idempotent: updates the fields where they exist."""
	create_custom_fields(custom_fields(), update=True)
	for doctype, fieldname, prop, value, property_type in PROPERTY_SETTERS:
		make_property_setter(
			doctype, fieldname, prop, value, property_type, validate_fields_for_doctype=False
		)
	for doctype in (OPPORTUNITY, ITEM_ROW, "Pipeline Team", *LINKED_DOCTYPES):
		frappe.clear_cache(doctype=doctype)


def remove_erpnext_fields() -> None:
	"""Removes the custom fields, their columns and the property setters (Frappe keeps a deleted
	custom field's column; ours go too)."""
	for doctype, fields in custom_fields().items():
		for df in fields:
			name = frappe.db.get_value("Custom Field", {"dt": doctype, "fieldname": df["fieldname"]})
			if name:
				frappe.delete_doc("Custom Field", name, force=True, ignore_permissions=True)
			# constant names only: no user input reaches this DDL
			if frappe.db.table_exists(doctype) and frappe.db.has_column(doctype, df["fieldname"]):
				frappe.db.sql_ddl(f"alter table `tab{doctype}` drop column `{df['fieldname']}`")
				frappe.cache.hdel("table_columns", f"tab{doctype}")
	for doctype, fieldname, prop, _value, _type in PROPERTY_SETTERS:
		frappe.db.delete("Property Setter", {"doc_type": doctype, "field_name": fieldname, "property": prop})
	for doctype in (OPPORTUNITY, ITEM_ROW, "Pipeline Team", *LINKED_DOCTYPES):
		frappe.clear_cache(doctype=doctype)


def after_install() -> None:
	"""The app's own after_install: ERPNext was installed first."""
	if erpnext_installed():
		create_erpnext_fields()


def after_migrate() -> None:
	if erpnext_installed():
		create_erpnext_fields()


def after_app_install(app_name: str) -> None:
	"""Frappe v15 hook, run for every app installed on the site: ERPNext installed second."""
	if app_name == ERPNEXT_APP and APP in frappe.get_installed_apps():
		create_erpnext_fields()


def before_app_uninstall(app_name: str) -> None:
	"""Frappe v15 hook, run before any app is uninstalled (this app's own uninstall included)."""
	if app_name in (ERPNEXT_APP, APP) and erpnext_installed():
		remove_erpnext_fields()
	if app_name == ERPNEXT_APP:
		let_erpnext_uninstall_finish()


# ERPNext's `*` validate hook that reads its Service Level Agreement table
ERPNEXT_SLA_HOOK = "erpnext.support.doctype.service_level_agreement.service_level_agreement.apply"


def let_erpnext_uninstall_finish() -> None:
	"""`bench uninstall-app erpnext` fails at its end on Frappe 15.54 with ERPNext 15.53, with or
	without this app: once ERPNext's tables are dropped, Frappe saves Installed Applications in the
	same process, whose document hooks (loaded once per process) still include ERPNext's, and the
	Service Level Agreement one reads its dropped table. That hook is taken out of this process's
	hooks now, the uninstall having begun: the uninstall finishes (tested on a scratch site)."""
	events = frappe.get_doc_hooks().get("*", {})
	handlers = events.get("validate")
	if isinstance(handlers, list) and ERPNEXT_SLA_HOOK in handlers:
		events["validate"] = [handler for handler in handlers if handler != ERPNEXT_SLA_HOOK]
