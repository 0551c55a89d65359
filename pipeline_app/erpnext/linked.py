"""The ERPNext documents made for an opportunity, where people work: the board card's badges (its
latest Quotation and latest Sales Order) and the form's list of its quotations, orders and projects.

Each user sees only documents ERPNext lets them read: board loads and answers read as the session
user; a realtime card goes to each reader with the badges that reader may see. A Quotation or Sales
Order saved, submitted, cancelled or deleted sends its opportunity's card again (doc_events, wired in
hooks.py), so the badge follows; documents linked to no opportunity cost no query.
"""

import frappe
from frappe import _

from pipeline_app.erpnext import LINKED_DOCTYPES, OPPORTUNITY_LINK_FIELD, erpnext_installed
from pipeline_app.permissions import system_access

OPPORTUNITY = "Pipeline Opportunity"
# the doctypes a card shows a badge for, in the order drawn
BADGE_DOCTYPES = ("Quotation", "Sales Order")
CANCELLED = 2


def latest_documents(names, user: str | None = None) -> dict[str, list[dict]] | None:
	"""{opportunity: [badge, ...]}: per opportunity, its latest not-cancelled Quotation and Sales
	Order `user` (default the session user) may read. None without ERPNext."""
	if not erpnext_installed():
		return None
	names = [name for name in names if name]
	result: dict[str, list[dict]] = {}
	if not names:
		return result
	for doctype in BADGE_DOCTYPES:
		if not frappe.has_permission(doctype, "read", user=user):
			continue
		rows = frappe.get_list(
			doctype,
			filters={OPPORTUNITY_LINK_FIELD: ("in", names), "docstatus": ("<", CANCELLED)},
			fields=["name", f"{OPPORTUNITY_LINK_FIELD} as opportunity", "status", "docstatus"],
			order_by="creation desc, name desc",
			limit_page_length=0,
			user=user,
		)
		seen = set()
		for row in rows:
			if row.opportunity in seen:
				continue
			seen.add(row.opportunity)
			result.setdefault(row.opportunity, []).append(badge(doctype, row))
	return result


def badge(doctype: str, row) -> dict:
	return {"doctype": doctype, "name": row.name, "status": row.status or "", "docstatus": row.docstatus}


def attach_documents(cards, user: str | None = None) -> None:
	"""Sets each card's `documents` (with ERPNext only: cards keep their shape on bare Frappe)."""
	by_name = latest_documents([card["name"] for card in cards], user)
	if by_name is None:
		return
	for card in cards:
		card["documents"] = by_name.get(card["name"], [])


def documents_by_reader(name: str, readers) -> dict[str, list[dict]] | None:
	"""The badges of one opportunity as each of `readers` may see them (None without ERPNext). The
	documents are found once (at most one per badge doctype); who may read each is decided as for the
	card itself (realtime.readers_among: ERPNext's role and user permissions, constant queries)."""
	if not erpnext_installed():
		return None
	found = []
	for doctype in BADGE_DOCTYPES:
		rows = frappe.get_all(
			doctype,
			filters={OPPORTUNITY_LINK_FIELD: name, "docstatus": ("<", CANCELLED)},
			fields=["name", "status", "docstatus"],
			order_by="creation desc, name desc",
			limit=1,
		)
		if rows:
			found.append((frappe.get_doc(doctype, rows[0].name), badge(doctype, rows[0])))
	# cycle: pipeline_app.realtime imports this module (documents_by_reader)
	from pipeline_app.realtime import readers_among

	allowed = [(set(readers_among(doc, readers)), item) for doc, item in found]
	return {user: [item for may_read, item in allowed if user in may_read] for user in readers}


def on_document_change(doc, method=None) -> None:
	"""doc_events of Quotation and Sales Order (on_change, after_delete): the card shows the new badge.
	Nothing (no query) when the document links to no opportunity."""
	name = doc.get(OPPORTUNITY_LINK_FIELD)
	if not name:
		return
	# cycle: pipeline_app.realtime imports this module (documents_by_reader)
	from pipeline_app.realtime import publish_opportunity_names

	with system_access():
		if frappe.db.exists(OPPORTUNITY, name):
			publish_opportunity_names([name])


@frappe.whitelist(methods=["GET"])
def get_opportunity_documents(opportunity: str) -> list[dict]:
	"""The opportunity form's list: its Quotations, Sales Orders and Projects the user may read, newest
	first, with status and total. The opportunity is loaded as the user (another team's answers as a
	missing one)."""
	if not erpnext_installed():
		return []
	if not opportunity or not isinstance(opportunity, str):
		frappe.throw(_("Choose an opportunity"), frappe.MandatoryError, title=_("Missing Opportunity"))
	frappe.get_doc(OPPORTUNITY, opportunity).check_permission("read")
	fields = {
		"Quotation": ["grand_total", "currency", "transaction_date as date"],
		"Sales Order": ["grand_total", "currency", "transaction_date as date"],
		"Project": ["estimated_costing as grand_total", "expected_end_date as date", "percent_complete"],
	}
	documents = []
	for doctype in LINKED_DOCTYPES:
		if not frappe.has_permission(doctype, "read"):
			continue
		for row in frappe.get_list(
			doctype,
			filters={OPPORTUNITY_LINK_FIELD: opportunity},
			fields=["name", "status", "docstatus", "creation", *fields[doctype]],
			order_by="creation desc",
			limit_page_length=100,
		):
			documents.append({"doctype": doctype, **row})
	documents.sort(key=lambda row: row["creation"], reverse=True)
	return documents
