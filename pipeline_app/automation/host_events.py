"""Hosts see their appointments in Frappe's own Event calendar: each hosted appointment keeps one
private Event owned by its host (Frappe shows a private Event to its owner only), with the
appointment's title and times, its status mirrored, and a link back. Frappe's daily event reminder is
off for it: the appointment reminders (automation/reminders.py) already remind the host."""

import frappe
from frappe import _
from frappe.utils import add_to_date, get_url_to_form

EVENT_STATUS = {"Scheduled": "Open", "Completed": "Completed", "No Show": "Closed", "Cancelled": "Cancelled"}


def sync_host_event(appointment) -> None:
	"""From the appointment's on_update."""
	if not appointment.host:
		remove_host_event(appointment)
		return
	values = {
		"subject": _("Appointment: {0}").format(
			" · ".join(part for part in (appointment.contact, appointment.opportunity_title) if part)
		),
		"starts_on": appointment.starts_at,
		"ends_on": appointment.ends_at or add_to_date(appointment.starts_at, minutes=30),
		"status": EVENT_STATUS.get(appointment.status, "Open"),
		"event_type": "Private",
		"event_category": "Meeting",
		"send_reminder": 0,
		"description": f'<a href="{get_url_to_form(appointment.doctype, appointment.name)}">{frappe.utils.escape_html(appointment.name)}</a>',
	}
	event = appointment.event and frappe.db.exists("Event", appointment.event)
	if event:
		doc = frappe.get_doc("Event", event)
		doc.update(values)
		doc.save(ignore_permissions=True)
	else:
		doc = frappe.get_doc({"doctype": "Event", **values}).insert(ignore_permissions=True)
		appointment.db_set("event", doc.name, update_modified=False)
	if doc.owner != appointment.host:
		doc.db_set("owner", appointment.host, update_modified=False)  # Frappe sets the saving user


def remove_host_event(appointment) -> None:
	"""From the appointment's on_trash, or when it has no host any more."""
	if appointment.event and frappe.db.exists("Event", appointment.event):
		frappe.delete_doc("Event", appointment.event, ignore_permissions=True, force=True)
	if appointment.event and not appointment.flags.in_delete:
		appointment.db_set("event", None, update_modified=False)


def drop_host_events(team: str, user: str) -> None:
	"""A host removed from the team keeps no Event of its appointments (their subjects name the
	team's contacts and opportunities)."""
	appointment = frappe.qb.DocType("Pipeline Appointment")
	rows = (
		frappe.qb.from_(appointment)
		.select(appointment.name, appointment.event)
		.where((appointment.team == team) & (appointment.host == user) & appointment.event.isnotnull())
		.run()
	)
	if not rows:
		return
	frappe.db.delete("Event", {"name": ("in", [event for _name, event in rows])})
	frappe.qb.update(appointment).set(appointment.event, None).where(
		appointment.name.isin([name for name, _event in rows])
	).run()
