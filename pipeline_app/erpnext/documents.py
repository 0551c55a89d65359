"""Quotation, Sales Order and Project made from an opportunity with Frappe's mapper (`get_mapped_doc`),
carrying its items, contact, customer and company; the document links back through
`pipeline_opportunity` (a Sales Order made from the Quotation carries it on: same-named fields are
mapped). Whitelisted, POST only; the opportunity is loaded as the user, so another team's answers as a
missing one, and the user needs write on it and ERPNext's own permission to create the document."""

import frappe
from frappe import _
from frappe.model.mapper import get_mapped_doc
from frappe.utils import getdate, today

from pipeline_app.api import _conflict, _is_stale, _locked_opportunity
from pipeline_app.cards import card_from_doc
from pipeline_app.erpnext import OPPORTUNITY_LINK_FIELD, erpnext_installed
from pipeline_app.erpnext.outcomes import team_switches
from pipeline_app.funnel import ABANDONED, LOST, OPEN, WON
from pipeline_app.outcome_workflow import check_transition_allowed

OPPORTUNITY = "Pipeline Opportunity"
ITEM_ROW = "Pipeline Opportunity Item"
# target doctype: its item row doctype (None: no item lines)
TARGET_ITEMS = {"Quotation": "Quotation Item", "Sales Order": "Sales Order Item", "Project": None}


@frappe.whitelist(methods=["POST"])
def make_quotation(opportunity: str) -> dict:
	return make_document(opportunity, "Quotation")


@frappe.whitelist(methods=["POST"])
def make_sales_order(opportunity: str) -> dict:
	return make_document(opportunity, "Sales Order")


@frappe.whitelist(methods=["POST"])
def make_project(opportunity: str) -> dict:
	return make_document(opportunity, "Project")


# the Won dialog's choices: the document made (none: just close)
WIN_DOCUMENTS = ("Quotation", "Sales Order", "Project")


@frappe.whitelist(methods=["POST"])
def win_opportunity(
	opportunity: str, document: str | None = None, expected_modified: str | None = None
) -> dict:
	"""The Won dialog of the form and the board: make a Quotation, a Sales Order or a Project for the
	opportunity, or no document (just close). With a Quotation or Sales Order, where the team lets the
	order decide (its *win on sales order* switch), the opportunity stays open and is won when ERPNext
	submits the order; otherwise it is Won now. One transaction: refused, nothing is made. When
	`expected_modified` is not the opportunity's, someone changed it meanwhile: HTTP 409 with the card,
	as for the board's other writes."""
	document = document or None
	if document is not None and document not in WIN_DOCUMENTS:
		frappe.throw(
			_("Choose what to make: {0}, or nothing").format(", ".join(_(d) for d in WIN_DOCUMENTS)),
			title=_("Invalid Document"),
		)
	opp = _locked_opportunity(opportunity)
	if _is_stale(opp, expected_modified):
		return _conflict(opp)
	if opp.status != WON:
		# the Workflow's Win, whether now or when the order comes: refused before anything is made
		check_transition_allowed(opp, WON)
	if document and opp.status in (LOST, ABANDONED):
		# winning a closed deal with a document: it is open again while the document is made
		opp.status = OPEN
		opp.save()
	made = make_document(opp.name, document) if document else None
	wins_later = document in ("Quotation", "Sales Order") and bool(team_switches(opp.team).win_on_sales_order)
	opp.reload()
	if not wins_later and opp.status != WON:
		opp.status = WON
		opp.save()
	return {"card": card_from_doc(opp), "document": made, "won": opp.status == WON}


def make_document(opportunity: str, doctype: str) -> dict:
	"""Inserts a draft `doctype` for the opportunity; returns its doctype and name."""
	if not erpnext_installed():
		frappe.throw(
			_("ERPNext is not installed on this site"), frappe.ValidationError, title=_("ERPNext Missing")
		)
	opp = frappe.get_doc(OPPORTUNITY, opportunity)  # another team's: not found, as a missing one
	opp.check_permission("write")
	if opp.status in (LOST, ABANDONED):
		frappe.throw(
			_("Opportunity {0} is {1}: reopen it first").format(frappe.bold(opp.name), _(opp.status)),
			frappe.ValidationError,
			title=_("Closed Opportunity"),
		)
	frappe.has_permission(doctype, "create", throw=True)
	set_customer_and_company(opp)

	table_maps = {
		OPPORTUNITY: {
			"doctype": doctype,
			# nothing copied by name (status, title, amount mean other things there): set below
			"field_no_map": [df.fieldname for df in opp.meta.fields],
		}
	}
	if TARGET_ITEMS[doctype]:
		table_maps[ITEM_ROW] = {
			"doctype": TARGET_ITEMS[doctype],
			"field_map": {"item": "item_code"},
			"field_no_map": ["amount"],
		}

	def postprocess(source, target):
		fill_document(source, target)

	target = get_mapped_doc(OPPORTUNITY, opp.name, table_maps, None, postprocess)
	target.set(OPPORTUNITY_LINK_FIELD, opp.name)
	target.insert()
	return {"doctype": target.doctype, "name": target.name}


def fill_document(opp, target) -> None:
	close_date = (
		opp.expected_close_date
		if opp.expected_close_date and getdate(opp.expected_close_date) >= getdate(today())
		else today()
	)
	target.company = opp.company
	if target.doctype == "Project":
		target.project_name = f"{opp.title or opp.name} ({opp.name})"[:140]
		target.customer = opp.customer
		target.expected_end_date = opp.expected_close_date
		target.estimated_costing = opp.amount or 0
		return
	if target.doctype == "Quotation":
		target.quotation_to = "Customer"
		target.party_name = opp.customer
		target.order_type = "Sales"
	else:
		target.customer = opp.customer
		target.delivery_date = close_date
		for row in target.items:
			row.delivery_date = close_date
	target.transaction_date = today()
	if opp.contact:
		target.contact_person = opp.contact
	if opp.currency:
		target.currency = opp.currency
	target.run_method("set_missing_values")
	target.run_method("calculate_taxes_and_totals")


def set_customer_and_company(opp) -> None:
	"""The opportunity's customer (made from its contact when it has none) and company, stored on it."""
	changed = False
	if not opp.customer:
		opp.customer = customer_for_contact(opp.contact)
		changed = True
	if not opp.company:
		opp.company = frappe.defaults.get_user_default("Company") or frappe.db.get_single_value(
			"Global Defaults", "default_company"
		)
		changed = True
	if not opp.company:
		frappe.throw(
			_("Set the opportunity's company first"), frappe.MandatoryError, title=_("Missing Company")
		)
	if changed:
		opp.save()


def customer_for_contact(contact: str | None) -> str:
	"""The Customer the contact is linked to, or a new one named after the contact's organisation (or
	the contact), linked to it. Never two for one contact: the contact's row is locked first, and the
	link read under the lock sees what a concurrent request committed (tested with simultaneous
	requests)."""
	if not contact:
		frappe.throw(
			_("The opportunity needs a customer or a contact to make the customer from"),
			frappe.MandatoryError,
			title=_("Missing Customer"),
		)
	frappe.db.get_value("Contact", contact, "name", for_update=True)
	existing = frappe.db.get_value(
		"Dynamic Link",
		{"parenttype": "Contact", "parent": contact, "link_doctype": "Customer"},
		"link_name",
		for_update=True,
	)
	if existing:
		if not frappe.db.exists("Customer", existing):
			# made by a request that committed after this transaction's snapshot began (the locking
			# read above sees it, plain reads do not): nothing is written yet, start a fresh snapshot
			frappe.db.commit()
		return existing
	contact_doc = frappe.get_doc("Contact", contact)
	organisation = (contact_doc.company_name or "").strip()
	customer = frappe.get_doc(
		{
			"doctype": "Customer",
			"customer_name": organisation or contact_doc.full_name or contact_doc.name,
			"customer_type": "Company" if organisation else "Individual",
			"customer_group": frappe.db.get_single_value("Selling Settings", "customer_group"),
			"territory": frappe.db.get_single_value("Selling Settings", "territory"),
		}
	)
	customer.insert()
	contact_doc.append("links", {"link_doctype": "Customer", "link_name": customer.name})
	contact_doc.save(ignore_permissions=True)  # the link the app owns; the user made the customer
	return customer.name
