"""ERPNext, detected, never required: nothing here imports `erpnext` at module load.

- setup: the custom fields each app gets on the other's doctypes, made when both apps are on the
  site (whichever came first) and removed when either goes
- documents: Quotation, Sales Order and Project made from an opportunity (whitelisted, POST)
- outcomes: the opportunity follows its quotations and sales orders (doc_events)
"""

import frappe

ERPNEXT_APP = "erpnext"
# ERPNext documents that link back to the opportunity they were made for
LINKED_DOCTYPES = ("Quotation", "Sales Order", "Project")
OPPORTUNITY_LINK_FIELD = "pipeline_opportunity"


def erpnext_installed() -> bool:
	return ERPNEXT_APP in frappe.get_installed_apps()
