# Copyright (c) 2026, Pipeline App contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.utils import add_to_date, get_datetime

from pipeline_app.automation.appointments import follow_appointment
from pipeline_app.automation.host_events import remove_host_event, sync_host_event
from pipeline_app.scoped_document import TeamScopedDocument
from pipeline_app.validation import parse_json_argument


class PipelineAppointment(TeamScopedDocument):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		booked_online: DF.Check
		contact: DF.Link | None
		contact_reminded_at: DF.Datetime | None
		ends_at: DF.Datetime | None
		event: DF.Link | None
		host: DF.Link | None
		host_reminded_at: DF.Datetime | None
		notes: DF.Text | None
		opportunity: DF.Link
		opportunity_title: DF.Data | None
		starts_at: DF.Datetime
		status: DF.Literal["Scheduled", "Completed", "No Show", "Cancelled"]
		team: DF.Link | None

	# end: auto-generated types
	def validate(self):
		opportunity = frappe.db.get_value(
			"Pipeline Opportunity", self.opportunity, ["team", "contact", "title"], as_dict=True
		)
		if not opportunity:
			frappe.throw(
				_("Opportunity {0} does not exist").format(frappe.bold(self.opportunity)),
				frappe.LinkValidationError,
				title=_("Invalid Opportunity"),
			)
		self.team, self.contact, self.opportunity_title = (
			opportunity.team,
			opportunity.contact,
			opportunity.title,
		)
		if self.ends_at and get_datetime(self.ends_at) <= get_datetime(self.starts_at):
			frappe.throw(_("An appointment must end after it starts"), title=_("Invalid Time"))
		before = self.get_doc_before_save()
		if before and get_datetime(before.starts_at) != get_datetime(self.starts_at):
			# a new time gets its reminders again (automation/reminders.py)
			self.host_reminded_at = self.contact_reminded_at = None

	def on_update(self):
		follow_appointment(self)  # the opportunity's stage follows the status and the day
		sync_host_event(self)  # the host's own Event calendar

	def on_trash(self):
		self.flags.in_delete = True
		remove_host_event(self)


@frappe.whitelist()
def get_calendar_events(
	start: str, end: str, filters: list | str | None = None, doctype: str | None = None
) -> list[dict]:
	"""The Calendar view's appointments starting between `start` and `end` (with the view's own
	filters: team, host, status), as any list reads them: team-scoped. Titled by contact and
	opportunity; the view colours them by status (pipeline_appointment_calendar.js)."""
	filters = parse_json_argument("filters", filters, list) or []
	rows = frappe.get_list(
		"Pipeline Appointment",
		fields=[
			"name",
			"starts_at",
			"ends_at",
			"status",
			"contact",
			"opportunity",
			"opportunity_title",
			"host",
		],
		filters=[*filters, ["starts_at", ">=", get_datetime(start)], ["starts_at", "<=", get_datetime(end)]],
		order_by="starts_at asc",
		limit_page_length=2000,
	)
	for row in rows:
		row.title = " · ".join(part for part in (row.contact, row.opportunity_title) if part)
		# shown (and, once dragged, saved) as half an hour when no end was set
		row.ends_at = row.ends_at or add_to_date(row.starts_at, minutes=30)
	return rows


def on_doctype_update():
	# a host's appointments by time: free booking slots (pipeline_app/booking.py) and reminders
	frappe.db.add_index("Pipeline Appointment", ["host", "status", "starts_at", "ends_at"], "host_time_index")
