"""Appointment reminders (every five minutes): the host of each scheduled appointment is notified the
team's Remind the Host (Minutes Before) ahead of it; where the team emails contacts and outgoing mail
is set up, the contact gets a reminder email with the .ics invitation and the cancel / reschedule link,
Contact Reminder (Hours Before) ahead. Each is sent once per appointment time: a new time (a
reschedule on the booking page, a drag in the calendar) sends it again."""

import frappe
from frappe import _
from frappe.utils import add_to_date, format_datetime, now_datetime

from pipeline_app.automation.notifications import notify
from pipeline_app.booking import contact_email, outgoing_mail_set_up, send_confirmation
from pipeline_app.permissions import system_access

MAX_LEAD_MINUTES = 14 * 24 * 60


def send_appointment_reminders() -> None:
	now = now_datetime()
	with system_access():
		for team in frappe.get_all(
			"Pipeline Team",
			filters={"disabled": 0},
			fields=["name", "host_reminder_minutes", "contact_reminders_enabled", "contact_reminder_hours"],
		):
			if team.host_reminder_minutes:
				remind_hosts(team, now)
			if team.contact_reminders_enabled and team.contact_reminder_hours and outgoing_mail_set_up():
				remind_contacts(team, now)


def due_appointments(team: str, now, minutes: int, sent_field: str, extra=None) -> list[frappe._dict]:
	minutes = min(minutes, MAX_LEAD_MINUTES)
	return frappe.get_all(
		"Pipeline Appointment",
		filters={
			"team": team,
			"status": "Scheduled",
			"starts_at": ("between", [now, add_to_date(now, minutes=minutes)]),
			sent_field: ("is", "not set"),
			**(extra or {}),
		},
		pluck="name",
		order_by="starts_at asc",
		limit=500,
	)


def claim(name: str, field: str, now) -> bool:
	"""Marks the reminder sent, once: of two runs at the same moment only one claims it."""
	appointment = frappe.qb.DocType("Pipeline Appointment")
	frappe.qb.update(appointment).set(appointment[field], now).where(appointment.name == name).where(
		appointment[field].isnull()
	).run()
	return bool(frappe.db._cursor.rowcount)


def remind_hosts(team: frappe._dict, now) -> None:
	for name in due_appointments(
		team.name, now, team.host_reminder_minutes, "host_reminded_at", {"host": ("is", "set")}
	):
		if not claim(name, "host_reminded_at", now):
			continue
		doc = frappe.get_doc("Pipeline Appointment", name)
		notify(
			[doc.host],
			_("Appointment at {0}: {1}").format(
				format_datetime(doc.starts_at),
				frappe.bold(frappe.utils.escape_html(doc.opportunity_title or doc.opportunity)),
			),
			doc,
		)
		frappe.db.commit()


def remind_contacts(team: frappe._dict, now) -> None:
	for name in due_appointments(team.name, now, team.contact_reminder_hours * 60, "contact_reminded_at"):
		if not claim(name, "contact_reminded_at", now):
			continue
		doc = frappe.get_doc("Pipeline Appointment", name)
		email = contact_email(doc.contact)
		if email:
			send_confirmation(doc, email, _("Reminder of your appointment"))
		frappe.db.commit()
