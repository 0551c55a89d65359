"""The opportunity owner's to-do: Frappe's assignment (a ToDo, the form's *Assigned To*, the
assignment notification) follows `opportunity_owner` while the opportunity is open.

- A new owner gets the opportunity assigned (due on its follow-up date, where there is one); the
  previous owner's assignment is cancelled.
- Won, Lost and Abandoned close the opportunity's open assignments; reopening assigns the owner again.
- A new follow-up date moves the owner's open to-do to that date.

Assignments made by hand in the form are left alone while the opportunity is open.
"""

import frappe
from frappe.desk.form import assign_to
from frappe.utils import getdate

from pipeline_app.funnel import CLOSED_STATUSES

DOCTYPE = "Pipeline Opportunity"


def sync_owner_assignment(doc) -> None:
	"""Called after every save of an opportunity (trusted: the save was permission-checked)."""
	before = doc.get_doc_before_save()
	old_owner = before.opportunity_owner if before is not None else None
	was_open = before is None or before.status not in CLOSED_STATUSES
	is_open = doc.status not in CLOSED_STATUSES
	owner = doc.opportunity_owner
	if before is not None and (old_owner, was_open, before.follow_up_on) == (
		owner,
		is_open,
		doc.follow_up_on,
	):
		return  # nothing the assignment follows changed (a move, an edit): no query on that path

	if old_owner and old_owner != owner and open_todo(doc.name, old_owner):
		assign_to.remove(DOCTYPE, doc.name, old_owner, ignore_permissions=True)
	if was_open and not is_open:
		assign_to.close_all_assignments(DOCTYPE, doc.name, ignore_permissions=True)
		return
	if not (is_open and owner):
		return
	todo = open_todo(doc.name, owner)
	if not todo:
		assign_to.add(
			{
				"assign_to": [owner],
				"doctype": DOCTYPE,
				"name": doc.name,
				"description": doc.title,
				"date": due_date(doc),
			},
			ignore_permissions=True,
		)
	elif before is not None and before.follow_up_on != doc.follow_up_on:
		frappe.db.set_value("ToDo", todo, "date", due_date(doc))


def open_todo(name: str, user: str) -> str | None:
	return frappe.db.get_value(
		"ToDo",
		{"reference_type": DOCTYPE, "reference_name": name, "allocated_to": user, "status": "Open"},
	)


def due_date(doc):
	return getdate(doc.follow_up_on) if doc.follow_up_on else None


def close_assignments_in_bulk(names: list[str]) -> None:
	"""For bulk closings (the abandonment job): what `close_all_assignments` does per document, in two
	statements."""
	if not names:
		return
	todo = frappe.qb.DocType("ToDo")
	opportunity = frappe.qb.DocType(DOCTYPE)
	(
		frappe.qb.update(todo)
		.set(todo.status, "Closed")
		.where((todo.reference_type == DOCTYPE) & todo.reference_name.isin(names) & (todo.status == "Open"))
		.run()
	)
	frappe.qb.update(opportunity).set(opportunity._assign, "[]").where(opportunity.name.isin(names)).run()
