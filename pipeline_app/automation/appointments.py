"""Appointments and stages, both ways.

- Appointment → opportunity: booked for a later day → the team's booked stage; booked for today →
  its appointment-day stage; No Show → No Show stage; Cancelled → Cancelled stage.
- Opportunity → appointment: entering the No Show (Cancelled) stage marks its open appointment
  No Show (Cancelled).
- `enter_appointment_day_stage` (hourly) moves opportunities whose appointment is today from the
  booked stage to the appointment-day stage.
- An appointment's team, contact and opportunity title are copies of its opportunity's (its lists
  are scoped on its own team column, its reminders read its team): `copy_to_appointments` keeps
  them, and the hosts' Events, in step when the opportunity changes.

A move made by one side carries `flags.automation`, so the other side does not answer it: no loops,
one timeline comment per event.
"""

import frappe
from frappe import _
from frappe.utils import get_datetime, getdate, now_datetime, today

from pipeline_app.automation.host_events import remove_host_event, sync_host_event
from pipeline_app.automation.isolation import isolated_row
from pipeline_app.automation.moves import add_timeline_note, move_opportunity_by_automation
from pipeline_app.permissions import system_access
from pipeline_app.realtime import publish_opportunity_names
from pipeline_app.teams import can_access_team

SOURCE_APPOINTMENT = "appointment"
SOURCE_OPPORTUNITY = "opportunity"
STATUS_STAGE_FIELDS = {"No Show": "no_show_stage", "Cancelled": "cancelled_stage"}
# the appointment's fields copied from its opportunity (fetch_from, and Pipeline Appointment.validate)
APPOINTMENT_COPIES = {"team": "team", "contact": "contact", "opportunity_title": "title"}


def team_stages(team: str) -> frappe._dict:
	return frappe._dict(
		frappe.get_cached_value(
			"Pipeline Team",
			team,
			["booked_stage", "appointment_day_stage", "no_show_stage", "cancelled_stage"],
			as_dict=True,
		)
		or {}
	)


def follow_appointment(appointment) -> None:
	"""From the appointment's on_update (runs on insert too): its status and time move the stage."""
	if appointment.flags.automation == SOURCE_OPPORTUNITY:
		return
	before = appointment.get_doc_before_save()
	stages = team_stages(appointment.team)
	status_changed = before is None or before.status != appointment.status
	if appointment.status in STATUS_STAGE_FIELDS and status_changed:
		move_opportunity_by_automation(
			appointment.opportunity,
			stages.get(STATUS_STAGE_FIELDS[appointment.status]),
			_("Moved because appointment {0} was marked {1}").format(appointment.name, _(appointment.status)),
			SOURCE_APPOINTMENT,
		)
		return
	booked = appointment.status == "Scheduled" and (
		status_changed or get_datetime(before.starts_at) != get_datetime(appointment.starts_at)
	)
	if not booked or get_datetime(appointment.starts_at) <= now_datetime():
		return
	clear_abandonment_warning(appointment.opportunity)
	if getdate(appointment.starts_at) == getdate(today()):
		stage, reason = stages.appointment_day_stage, _("Moved because appointment {0} is today")
	else:
		stage, reason = stages.booked_stage, _("Moved because appointment {0} was booked for {1}")
	move_opportunity_by_automation(
		appointment.opportunity,
		stage,
		reason.format(appointment.name, frappe.utils.format_datetime(appointment.starts_at)),
		SOURCE_APPOINTMENT,
	)


def clear_abandonment_warning(opportunity: str) -> None:
	"""A booked appointment keeps the opportunity from being abandoned: its card stops saying so."""
	if frappe.db.get_value("Pipeline Opportunity", opportunity, "abandons_on"):
		frappe.db.set_value("Pipeline Opportunity", opportunity, "abandons_on", None, update_modified=False)
		publish_opportunity_names([opportunity])


def copy_to_appointments(opportunity) -> None:
	"""From the opportunity's on_update: a new team, contact or title goes to every appointment of the
	opportunity at once, in the save's transaction (an appointment refetches them only when it is
	saved itself, and its lists are scoped on its own team column). A host who may not read the new
	team loses the appointment's Event (its subject names the contact and the opportunity); the other
	hosts' Events take the new subject. Trusted: the opportunity save was permission-checked."""
	before = opportunity.get_doc_before_save()
	if before is None:
		return
	changed = {
		field: opportunity.get(source)
		for field, source in APPOINTMENT_COPIES.items()
		if before.get(source) != opportunity.get(source)
	}
	if not changed:
		return
	appointment = frappe.qb.DocType("Pipeline Appointment")
	update = frappe.qb.update(appointment).where(appointment.opportunity == opportunity.name)
	for field, value in changed.items():
		update = update.set(appointment[field], value)
	update.run()
	hosted = frappe.get_all(
		"Pipeline Appointment",
		filters={"opportunity": opportunity.name, "host": ("is", "set"), "event": ("is", "set")},
		pluck="name",
	)
	with system_access():
		for name in hosted:
			doc = frappe.get_doc("Pipeline Appointment", name)
			if can_access_team(doc.team, doc.host):
				sync_host_event(doc)
			else:
				remove_host_event(doc)


def follow_opportunity_stage(opportunity) -> None:
	"""From the opportunity's on_update. Entering the No Show / Cancelled stage marks the
	open appointment accordingly."""
	if opportunity.flags.automation == SOURCE_APPOINTMENT:
		return
	before = opportunity.get_doc_before_save()
	if before is None or before.stage == opportunity.stage:
		return
	stages = team_stages(opportunity.team)
	for status, field in STATUS_STAGE_FIELDS.items():
		if stages.get(field) and opportunity.stage == stages.get(field):
			appointment = open_appointment(opportunity.name)
			if appointment:
				appointment.status = status
				appointment.flags.automation = SOURCE_OPPORTUNITY
				appointment.save(ignore_permissions=True)
				add_timeline_note(
					appointment,
					_("Marked {0} because opportunity {1} entered stage {2}").format(
						_(status),
						opportunity.name,
						frappe.get_cached_value("Funnel Stage", opportunity.stage, "stage_name"),
					),
				)
			return


def open_appointment(opportunity: str):
	"""The Scheduled appointment nearest to now: the latest one that has started, else the next one."""
	now = now_datetime()
	started = frappe.get_all(
		"Pipeline Appointment",
		filters={"opportunity": opportunity, "status": "Scheduled", "starts_at": ("<=", now)},
		order_by="starts_at desc",
		limit=1,
		pluck="name",
	)
	upcoming = started or frappe.get_all(
		"Pipeline Appointment",
		filters={"opportunity": opportunity, "status": "Scheduled", "starts_at": (">", now)},
		order_by="starts_at asc",
		limit=1,
		pluck="name",
	)
	return frappe.get_doc("Pipeline Appointment", upcoming[0]) if upcoming else None


def enter_appointment_day_stage():
	"""Hourly: opportunities in their team's booked stage with a Scheduled appointment today move to
	the team's appointment-day stage. Idempotent: a moved opportunity is no longer in the booked stage.
	An opportunity that cannot move is logged (Error Log) and skipped; the others move."""
	day_start = get_datetime(today())
	day_end = frappe.utils.add_days(day_start, 1)
	appointment = frappe.qb.DocType("Pipeline Appointment")
	opportunity = frappe.qb.DocType("Pipeline Opportunity")
	team = frappe.qb.DocType("Pipeline Team")
	due = (
		frappe.qb.from_(appointment)
		.join(opportunity)
		.on(opportunity.name == appointment.opportunity)
		.join(team)
		.on(team.name == opportunity.team)
		.select(opportunity.name, team.appointment_day_stage, appointment.name.as_("appointment"))
		.distinct()
		.where(
			(appointment.status == "Scheduled")
			& (appointment.starts_at >= day_start)
			& (appointment.starts_at < day_end)
			& (opportunity.status == "Open")
			& (opportunity.stage == team.booked_stage)
			& team.appointment_day_stage.isnotnull()
			& (team.appointment_day_stage != "")
		)
		.run(as_dict=True)
	)
	for row in due:
		with isolated_row("appointment day", "Pipeline Opportunity", row.name):
			move_opportunity_by_automation(
				row.name,
				row.appointment_day_stage,
				_("Moved because appointment {0} is today").format(row.appointment),
				SOURCE_APPOINTMENT,
			)
		frappe.db.commit()
