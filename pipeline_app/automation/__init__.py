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


def add_timeline_notes_in_bulk(names: list[str], note: str, actor: str, when) -> None:
	"""The same Info comment on many opportunities' timelines in one statement (bulk jobs)."""
	frappe.db.bulk_insert(
		"Comment",
		[
			"name",
			"comment_type",
			"reference_doctype",
			"reference_name",
			"content",
			"comment_email",
			"creation",
			"modified",
			"owner",
			"modified_by",
		],
		[
			(
				frappe.generate_hash(length=12),
				"Info",
				"Pipeline Opportunity",
				name,
				note,
				actor,
				when,
				when,
				actor,
				actor,
			)
			for name in names
		],
	)


def stage_label(stage: str | None) -> str:
	return frappe.get_cached_value("Funnel Stage", stage, "stage_name") if stage else ""


def notify(users, subject: str, doc, message: str | None = None) -> None:
	"""A Notification Log per user (the desk bell), also sent by email where outgoing mail is set up
	and the user keeps email notifications on (their Notification Settings)."""
	for user in {u for u in users if u}:
		log = frappe.get_doc(
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
		email_notification(log)


def email_notification(log) -> None:
	"""Frappe emails no notification of type Alert (ours): mail it with Frappe's notification template
	(subject, text, link to the document) through the Email Queue, where an outgoing Email Account is
	set up and the user keeps email notifications on."""
	from frappe.desk.doctype.notification_settings.notification_settings import (
		is_email_notifications_enabled,
	)
	from frappe.email.doctype.email_account.email_account import EmailAccount
	from frappe.utils import get_url_to_form, strip_html

	if not EmailAccount.find_outgoing() or not is_email_notifications_enabled(log.for_user):
		return
	user = frappe.db.get_value("User", log.for_user, ["email", "language"], as_dict=True)
	if not user or not user.email:
		return
	try:
		frappe.sendmail(
			recipients=user.email,
			subject=strip_html(log.subject),
			template="new_notification",
			args={
				"body_content": log.subject,
				"description": log.email_content if log.email_content != log.subject else None,
				"document_type": log.document_type,
				"document_name": log.document_name,
				"doc_link": get_url_to_form(log.document_type, log.document_name),
			},
			header=[_("Pipeline", lang=user.language), "orange"],
			now=frappe.flags.in_test,
		)
	except frappe.OutgoingEmailError:
		log.log_error(_("Failed to send notification email"))


def recipients_for(doc) -> list[str]:
	"""The owner, or the team leads when unassigned."""
	from pipeline_app.teams import get_team_leads

	return [doc.opportunity_owner] if doc.opportunity_owner else get_team_leads(doc.team)


def opportunity_link(doc) -> str:
	return frappe.bold(frappe.utils.escape_html(doc.get("title") or doc.name))
