"""The opportunity follows its ERPNext documents (doc_events on Quotation and Sales Order, wired in
hooks.py); each switch is per team (section ERPNext of Pipeline Team):

- a submitted Quotation → the team's *quotation sent* stage (where set)
- a submitted Sales Order (its Quotation becomes Ordered) → Won
- a Quotation declared lost → Lost, its first lost reason carried over (to the Pipeline Lost Reason of
  that name, made when missing) and its detail
- the Sales Order that won it cancelled → reopened, and the owner (or the team leads) notified

Idempotent (a second event changes nothing), each move with a timeline comment and a stage-history
row naming the document. The hooks run as whoever submits the document, who may be outside the team:
the opportunity is loaded and saved as trusted code (`system_access`). A document that links to no
opportunity costs nothing: each handler returns before any query.
"""

import frappe
from frappe import _

from pipeline_app.automation.moves import add_timeline_note, move_opportunity_by_automation
from pipeline_app.automation.notifications import notify, recipients_for
from pipeline_app.erpnext import OPPORTUNITY_LINK_FIELD
from pipeline_app.funnel import LOST, OPEN, WON, first_stage
from pipeline_app.permissions import _raise_link_not_found, may_read_record, system_access

SOURCE = "erpnext"
OPPORTUNITY = "Pipeline Opportunity"


def team_switches(team: str) -> frappe._dict:
	return frappe._dict(
		frappe.get_cached_value(
			"Pipeline Team",
			team,
			[
				"quotation_sent_stage",
				"win_on_sales_order",
				"lose_on_lost_quotation",
				"reopen_on_cancelled_sales_order",
			],
			as_dict=True,
		)
		or {}
	)


def _trusted(handler):
	"""A doc_event handler that returns at once (no query) for a document linked to no opportunity, and
	otherwise runs as trusted code: the submitting user may be outside the team."""

	def run(doc, method=None):
		if not doc.get(OPPORTUNITY_LINK_FIELD):
			return
		with system_access():
			handler(doc)

	run.__doc__ = handler.__doc__
	return run


def linked_opportunity(doc):
	"""The opportunity `doc` links to (None when it no longer exists); its next save names `doc` in
	the stage history. Called inside `system_access`."""
	name = doc.get(OPPORTUNITY_LINK_FIELD)
	if not frappe.db.exists(OPPORTUNITY, name):
		return None
	opp = frappe.get_doc(OPPORTUNITY, name)
	opp.flags.caused_by = (doc.doctype, doc.name)
	return opp


def document_label(doc) -> str:
	return f"{_(doc.doctype)} {doc.name}"


def _on_quotation_submit(quotation):
	"""doc_events: Quotation on_submit."""
	opp = linked_opportunity(quotation)
	if not opp or opp.status != OPEN:
		return
	stage = team_switches(opp.team).quotation_sent_stage
	if stage:
		move_opportunity_by_automation(
			opp, stage, _("Moved because {0} was submitted").format(document_label(quotation)), SOURCE
		)


def _on_quotation_update_after_submit(quotation):
	"""doc_events: Quotation on_update_after_submit (ERPNext's *Set as Lost* saves the quotation). A
	quotation makes its opportunity Lost once: reopened afterwards, it stays open."""
	if quotation.status != "Lost":
		return
	opp = linked_opportunity(quotation)
	if not opp or opp.status == LOST or not team_switches(opp.team).lose_on_lost_quotation:
		return
	lost_stage = first_stage(opp.team, LOST)
	if not lost_stage or caused(opp.name, quotation, LOST):
		return
	opp.lost_reason = pipeline_lost_reason(quotation)
	opp.lost_detail = quotation.get("order_lost_reason") or None
	move_opportunity_by_automation(
		opp,
		lost_stage.name,
		_("Marked Lost because {0} was declared lost ({1})").format(
			document_label(quotation), opp.lost_reason
		),
		SOURCE,
	)


def pipeline_lost_reason(quotation) -> str:
	"""ERPNext's lost reason (the first one) as a Pipeline Lost Reason of the same name."""
	reasons = [row.lost_reason for row in quotation.get("lost_reasons") or [] if row.lost_reason]
	if not reasons and quotation.get("competitors"):
		reasons = [_("Chose a competitor")]
	reason = reasons[0] if reasons else _("Quotation lost")
	existing = frappe.db.get_value("Pipeline Lost Reason", reason)
	if existing:
		return existing
	frappe.get_doc({"doctype": "Pipeline Lost Reason", "lost_reason": reason}).insert(ignore_permissions=True)
	return reason


def _on_sales_order_submit(order):
	"""doc_events: Sales Order on_submit."""
	opp = linked_opportunity(order)
	if not opp or opp.status == WON or not team_switches(opp.team).win_on_sales_order:
		return
	won_stage = first_stage(opp.team, WON)
	if won_stage:
		move_opportunity_by_automation(
			opp, won_stage.name, _("Won because {0} was submitted").format(document_label(order)), SOURCE
		)


def _on_sales_order_cancel(order):
	"""doc_events: Sales Order on_cancel. Reopens the opportunity if this order won it (its latest
	status change is to Won, caused by this order)."""
	opp = linked_opportunity(order)
	if not opp or opp.status != WON or not team_switches(opp.team).reopen_on_cancelled_sales_order:
		return
	if not won_by(opp.name, order):
		return
	opp.status = OPEN
	opp.flags.automation = SOURCE
	opp.save(ignore_permissions=True)
	add_timeline_note(
		opp, _("Reopened because {0}, which won it, was cancelled").format(document_label(order))
	)
	notify(
		recipients_for(opp),
		_("{0} reopened: {1} was cancelled").format(
			frappe.utils.escape_html(opp.title or opp.name), document_label(order)
		),
		opp,
	)


def caused(opportunity: str, doc, status: str) -> bool:
	"""Whether `doc` already gave the opportunity `status` once."""
	return bool(
		frappe.db.exists(
			"Pipeline Stage Change",
			{
				"opportunity": opportunity,
				"change_type": "Status",
				"to_value": status,
				"caused_by_doctype": doc.doctype,
				"caused_by": doc.name,
			},
		)
	)


def won_by(opportunity: str, order) -> bool:
	change = frappe.qb.DocType("Pipeline Stage Change")
	last = (
		frappe.qb.from_(change)
		.select(change.to_value, change.caused_by_doctype, change.caused_by)
		.where((change.opportunity == opportunity) & (change.change_type == "Status"))
		.orderby(change.changed_on, order=frappe.qb.desc)
		.orderby(change.creation, order=frappe.qb.desc)
		.limit(1)
		.run(as_dict=True)
	)
	return bool(last) and (last[0].to_value, last[0].caused_by_doctype, last[0].caused_by) == (
		WON,
		order.doctype,
		order.name,
	)


def check_opportunity_link(doc, method=None):
	"""doc_events: validate of Quotation, Sales Order and Project. Linking a document to an opportunity
	the user may not read fails as a link to a missing one, unless the link is carried over from the
	document it was made from (a Sales Order from its Quotation, a Project from its Sales Order): the
	documents keep ERPNext's own permissions. Keeping an unchanged link costs no query."""
	name = doc.get(OPPORTUNITY_LINK_FIELD)
	if not name:
		return
	before = doc.get_doc_before_save()
	if before is not None and before.get(OPPORTUNITY_LINK_FIELD) == name:
		return
	if may_read_record(OPPORTUNITY, name) or carried_from_source(doc, name):
		return
	_raise_link_not_found(doc, OPPORTUNITY_LINK_FIELD)


def carried_from_source(doc, opportunity: str) -> bool:
	if doc.doctype == "Sales Order":
		quotations = {row.prevdoc_docname for row in doc.get("items") or [] if row.get("prevdoc_docname")}
		return bool(quotations) and bool(
			frappe.db.exists(
				"Quotation", {"name": ("in", list(quotations)), OPPORTUNITY_LINK_FIELD: opportunity}
			)
		)
	if doc.doctype == "Project" and doc.get("sales_order"):
		return frappe.db.get_value("Sales Order", doc.sales_order, OPPORTUNITY_LINK_FIELD) == opportunity
	return False


on_quotation_submit = _trusted(_on_quotation_submit)
on_quotation_update_after_submit = _trusted(_on_quotation_update_after_submit)
on_sales_order_submit = _trusted(_on_sales_order_submit)
on_sales_order_cancel = _trusted(_on_sales_order_cancel)
