"""Server-side automations, one module per trigger (see hooks.py for what runs when):

- appointments: appointment status and the opportunity's stage mirror each other; the day job
- abandonment: the nightly abandonment of silent leads
- follow_ups: due follow-up reminders, the return of held opportunities
- conversations: messages (Communication) update the opportunity, replies move it, inbound creates it

Every automated move goes through `move_opportunity_by_automation`, which saves through the same
rules as the form and leaves one timeline comment saying what moved the opportunity and why.
"""

import frappe
from frappe import _

from pipeline_app.funnel import CLOSED_STATUSES


def move_opportunity_by_automation(opportunity, stage: str, reason: str, source: str) -> bool:
	"""Moves `opportunity` (name or document) to `stage`; returns whether it moved. Closed opportunities
	are left alone unless their team automates closed ones. `source` names the trigger, kept in
	`doc.flags.automation` so the other side of a two-way sync does not echo the move back."""
	doc = (
		opportunity
		if not isinstance(opportunity, str)
		else frappe.get_doc("Pipeline Opportunity", opportunity)
	)
	if not stage or doc.stage == stage:
		return False
	if doc.status in CLOSED_STATUSES and not frappe.get_cached_value(
		"Pipeline Team", doc.team, "automate_closed_opportunities"
	):
		return False
	doc.stage = stage
	doc.flags.automation = source
	doc.save(ignore_permissions=True)
	add_timeline_note(doc, reason)
	return True


def add_timeline_note(doc, text: str) -> None:
	"""An Info comment on the document's timeline, as the user (or Administrator, for scheduled jobs)."""
	doc.add_comment("Info", text)


def stage_label(stage: str | None) -> str:
	return frappe.get_cached_value("Funnel Stage", stage, "stage_name") if stage else ""


def notify(users, subject: str, doc, message: str | None = None) -> None:
	"""A Notification Log per user (the desk bell; Frappe emails it where outgoing mail is set up)."""
	for user in {u for u in users if u}:
		frappe.get_doc(
			{
				"doctype": "Notification Log",
				"subject": subject,
				"email_content": message or subject,
				"for_user": user,
				"type": "Alert",
				"document_type": doc.doctype,
				"document_name": doc.name,
				"from_user": frappe.session.user if frappe.session.user != "Guest" else "Administrator",
			}
		).insert(ignore_permissions=True)


def recipients_for(doc) -> list[str]:
	"""The owner, or the team leads when unassigned."""
	from pipeline_app.teams import get_team_leads

	return [doc.opportunity_owner] if doc.opportunity_owner else get_team_leads(doc.team)


def opportunity_link(doc) -> str:
	return frappe.bold(frappe.utils.escape_html(doc.get("title") or doc.name))


__all__ = ["_"]
