"""The opportunity form's Connections with ERPNext: the Quotations, Sales Orders and Projects made for it
(their link field `pipeline_opportunity`, pipeline_app/erpnext/setup.py). Its appointments and stage
history come from the doctype's Links. The form's cached meta is cleared when ERPNext comes or goes,
so the groups follow."""

from frappe import _

from pipeline_app.erpnext import LINKED_DOCTYPES, OPPORTUNITY_LINK_FIELD, erpnext_installed


def get_data() -> dict:
	if not erpnext_installed():
		return {}
	return {
		"fieldname": OPPORTUNITY_LINK_FIELD,
		"transactions": [
			{"label": _("Selling"), "items": ["Quotation", "Sales Order"]},
			{"label": _("Projects"), "items": ["Project"]},
		],
	}
