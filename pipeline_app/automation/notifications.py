"""Notifications of the automations: the desk bell (Notification Log) and, where outgoing mail is set
up, the same by email."""

import frappe
from frappe import _
from frappe.desk.doctype.notification_settings.notification_settings import (
	is_email_notifications_enabled,
)
from frappe.email.doctype.email_account.email_account import EmailAccount
from frappe.utils import get_url_to_form, strip_html

from pipeline_app.teams import get_team_leads


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
	return [doc.opportunity_owner] if doc.opportunity_owner else get_team_leads(doc.team)


def opportunity_link(doc) -> str:
	return frappe.bold(frappe.utils.escape_html(doc.get("title") or doc.name))
