"""The Calendar view of Pipeline Appointment over HTTP, as the desk's calendar asks: its events
(team-scoped, titled by contact and opportunity, filtered by team and host) and a drag that reschedules
(the opportunity's stage following the new time); in the browser, coloured by status and opening the
appointment on a click."""

import json

import frappe
import pytest
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, add_to_date, get_datetime, getdate, now_datetime, random_string

from pipeline_app.tests.browser import browser, logged_in_page
from pipeline_app.tests.factories import (
	make_contact,
	make_opportunity,
	make_team,
	make_user,
	purge_team,
	stage_named,
)
from pipeline_app.tests.http_client import Client, message

pytestmark = pytest.mark.http

EVENTS = "pipeline_app.pipeline_app.doctype.pipeline_appointment.pipeline_appointment.get_calendar_events"
FIELD_MAP = {"start": "starts_at", "end": "ends_at", "id": "name", "title": "title", "allDay": "all_day"}


class TestAppointmentCalendar(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		suffix = random_string(6).lower()
		cls.seller = make_user(f"calendar.seller.{suffix}@pipeline.test")
		cls.host = make_user(f"calendar.host.{suffix}@pipeline.test")
		cls.outsider = make_user(f"calendar.outsider.{suffix}@pipeline.test")
		cls.team = make_team(
			f"Calendar {suffix}", members=[cls.seller, cls.host], template="Appointment funnel"
		).name
		cls.other = make_team(
			f"Calendar other {suffix}", members=[cls.outsider], template="Appointment funnel"
		).name
		cls.start = add_days(now_datetime(), 3).replace(hour=10, minute=0, second=0, microsecond=0)
		cls.mine = cls.appointment(cls.team, "Ada Calendar", host=cls.host)
		cls.unhosted = cls.appointment(cls.team, "Bob Calendar", starts_at=add_to_date(cls.start, hours=2))
		cls.theirs = cls.appointment(cls.other, "Eve Calendar")
		cls.dragged = cls.appointment(
			cls.team, "Dan Calendar", host=cls.host, starts_at=add_days(cls.start, 3)
		)
		frappe.db.commit()
		cls.as_seller = Client.as_user(cls.seller)
		cls.as_outsider = Client.as_user(cls.outsider)

	@classmethod
	def appointment(cls, team, contact_name, host=None, starts_at=None):
		contact = make_contact(first_name=contact_name)
		opportunity = make_opportunity(team, title=f"Deal of {contact_name.split()[0]}", contact=contact)
		return frappe.get_doc(
			{
				"doctype": "Pipeline Appointment",
				"opportunity": opportunity.name,
				"starts_at": starts_at or cls.start,
				"ends_at": add_to_date(starts_at or cls.start, minutes=45) if host else None,
				"host": host,
			}
		).insert()

	@classmethod
	def tearDownClass(cls):
		purge_team(cls.team)
		purge_team(cls.other)
		super().tearDownClass()

	def events(self, client, **filters):
		return message(
			client.call(
				EVENTS,
				"GET",
				doctype="Pipeline Appointment",
				start=str(add_days(self.start, -1)),
				end=str(add_days(self.start, 1)),
				filters=[["Pipeline Appointment", field, "=", value] for field, value in filters.items()],
				field_map=FIELD_MAP,
			)
		)

	def test_the_calendar_shows_the_teams_appointments_titled_by_contact_and_opportunity(self):
		events = {event["name"]: event for event in self.events(self.as_seller)}
		self.assertEqual(set(events), {self.mine.name, self.unhosted.name})
		self.assertEqual(events[self.mine.name]["title"], f"{self.mine.contact} · Deal of Ada")
		self.assertEqual(events[self.mine.name]["status"], "Scheduled")
		self.assertEqual(get_datetime(events[self.mine.name]["ends_at"]), add_to_date(self.start, minutes=45))
		# no end set: shown as half an hour
		unhosted = events[self.unhosted.name]
		self.assertEqual(
			get_datetime(unhosted["ends_at"]), add_to_date(get_datetime(unhosted["starts_at"]), minutes=30)
		)
		self.assertEqual([e["name"] for e in self.events(self.as_seller, host=self.host)], [self.mine.name])
		self.assertEqual([e["name"] for e in self.events(self.as_outsider)], [self.theirs.name])

	def test_the_team_filter_shows_that_team_and_another_team_answers_nothing(self):
		self.assertEqual(
			{e["name"] for e in self.events(self.as_seller, team=self.team)},
			{self.mine.name, self.unhosted.name},
		)
		self.assertEqual(self.events(self.as_seller, team=self.other), [])
		self.assertEqual(
			[e["name"] for e in self.events(self.as_outsider, team=self.other)], [self.theirs.name]
		)

	def test_a_drag_reschedules_and_another_team_cannot(self):
		"""Dragged from a later day to later today: the new time is saved and, as for any new time, the
		opportunity moves from the booked stage to the appointment-day stage."""
		moved = add_to_date(now_datetime(), minutes=10).replace(second=0, microsecond=0)
		if getdate(moved) != getdate(now_datetime()):
			self.skipTest("less than ten minutes of today are left")
		booked, appointment_day = (stage_named(self.team, name) for name in ("Call before intake", "Intake"))
		opportunity = self.dragged.opportunity
		self.assertEqual(frappe.db.get_value("Pipeline Opportunity", opportunity, "stage"), booked)
		args = {
			"doctype": "Pipeline Appointment",
			"name": self.dragged.name,
			"starts_at": str(moved),
			"ends_at": str(add_to_date(moved, minutes=45)),
		}
		response = self.as_outsider.post(
			"/api/method/frappe.desk.calendar.update_event",
			{"args": json.dumps(args), "field_map": json.dumps(FIELD_MAP)},
		)
		self.assertEqual(response.status_code, 404, response.text[:300])
		frappe.db.rollback()
		self.assertEqual(
			frappe.db.get_value("Pipeline Appointment", self.dragged.name, "starts_at"),
			get_datetime(self.dragged.starts_at),
		)
		self.assertEqual(frappe.db.get_value("Pipeline Opportunity", opportunity, "stage"), booked)

		response = self.as_seller.post(
			"/api/method/frappe.desk.calendar.update_event",
			{"args": json.dumps(args), "field_map": json.dumps(FIELD_MAP)},
		)
		self.assertEqual(response.status_code, 200, response.text[:300])
		frappe.db.rollback()
		stored = frappe.db.get_value("Pipeline Appointment", self.dragged.name, ["starts_at", "ends_at"])
		self.assertEqual(stored, (moved, add_to_date(moved, minutes=45)))
		self.assertEqual(frappe.db.get_value("Pipeline Opportunity", opportunity, "stage"), appointment_day)


# the colour Frappe's calendar gives each status through pipeline_appointment_calendar.js's get_css_class
STATUS_COLOURS = {"Scheduled": "blue", "No Show": "red", "Cancelled": "orange"}


@pytest.mark.browser
def test_the_calendar_view_shows_the_teams_appointments(browser):  # noqa: F811 (the browser fixture)
	"""Opening the Calendar view used to fail on the server ("Unknown column 'end'"). Each appointment
	shows in its status's colour, and a click opens it."""
	from pipeline_app.demo import skip_setup_wizard

	skip_setup_wizard()  # a fresh site sends a desk user to the setup wizard first
	suffix = random_string(6).lower()
	seller = make_user(f"calendar.view.{suffix}@pipeline.test")
	team = make_team(f"Calendar view {suffix}", members=[seller], template="Appointment funnel").name
	appointments = {}
	for hours, (status, title) in enumerate(
		(("Scheduled", "Deal"), ("No Show", "Missed"), ("Cancelled", "Called off")), start=1
	):
		opportunity = make_opportunity(
			team, title=f"{title} {suffix}", contact=make_contact(first_name=f"Ada {suffix}")
		)
		appointments[status] = frappe.get_doc(
			{
				"doctype": "Pipeline Appointment",
				"opportunity": opportunity.name,
				"starts_at": add_to_date(now_datetime(), hours=hours),
				"status": status,
			}
		).insert()
	frappe.db.commit()
	page = logged_in_page(browser, seller, "/app/pipeline-appointment/view/calendar", viewport=(1400, 900))
	errors = page.errors
	context = page.context
	try:
		page.locator(".fc-event", has_text=f"Deal {suffix}").first.wait_for(timeout=30000)
		assert page.locator(".modal.show .msgprint").count() == 0
		for status, colour in STATUS_COLOURS.items():
			title = appointments[status].opportunity_title
			event = page.locator(".fc-event", has_text=title).first
			event.wait_for(timeout=10000)
			shown, wanted = event.evaluate(
				"""(event, colour) => {
					const probe = document.createElement("div");
					probe.style.backgroundColor = frappe.ui.color.get(colour, "extra-light");
					probe.style.color = frappe.ui.color.get(colour, "dark");
					document.body.appendChild(probe);
					const style = (el) => [getComputedStyle(el).backgroundColor, getComputedStyle(el).color];
					const result = [style(event), style(probe)];
					probe.remove();
					return result;
				}""",
				colour,
			)
			assert shown == wanted, (status, shown, wanted)
		page.locator(".fc-event", has_text=f"Deal {suffix}").first.click()
		page.wait_for_url(f"**/app/pipeline-appointment/{appointments['Scheduled'].name}", timeout=15000)
		assert not errors, errors
	finally:
		context.close()
		purge_team(team)


@pytest.mark.browser
def test_an_empty_slot_makes_an_appointment_at_its_time(browser):  # noqa: F811 (the browser fixture)
	"""Selecting an empty slot of next week (10:00 to 11:00) opens a new appointment with that time
	that asks for its opportunity; choosing one and saving stores the slot's time."""
	from pipeline_app.demo import skip_setup_wizard

	skip_setup_wizard()
	suffix = random_string(6).lower()
	seller = make_user(f"calendar.slot.{suffix}@pipeline.test")
	team = make_team(f"Calendar slot {suffix}", members=[seller], template="Appointment funnel").name
	opportunity = make_opportunity(team, title=f"Slot deal {suffix}", contact=make_contact())
	frappe.db.commit()
	page = logged_in_page(browser, seller, "/app/home", viewport=(1400, 1000))
	page.evaluate("localStorage.setItem('cal_defaultView', 'agendaWeek')")
	page.goto(page.url.split("/app/")[0] + "/app/pipeline-appointment/view/calendar")
	errors = page.errors
	try:
		page.locator(".fc-agendaWeek-button").first.wait_for(timeout=30000)
		page.locator(".fc-next-button").first.click()  # next week: every slot is in the future
		day = page.locator(".fc-day-header[data-date]").nth(2)
		date = day.get_attribute("data-date")
		column = day.bounding_box()
		ten, eleven = (
			page.locator(f'.fc-slats tr[data-time="{time}"]').bounding_box()
			for time in ("10:00:00", "10:30:00")
		)
		x = column["x"] + column["width"] / 2
		page.mouse.move(x, ten["y"] + 5)
		page.mouse.down()
		page.mouse.move(x, eleven["y"] + 5, steps=8)
		page.mouse.up()
		page.wait_for_url("**/app/pipeline-appointment/new-pipeline-appointment-*", timeout=15000)
		starts = page.evaluate("() => cur_frm.doc.starts_at")
		ends = page.evaluate("() => cur_frm.doc.ends_at")
		assert str(get_datetime(starts)) == f"{date} 10:00:00", starts
		assert str(get_datetime(ends)) == f"{date} 11:00:00", ends
		field = page.locator('.frappe-control[data-fieldname="opportunity"] input')
		field.wait_for(state="visible", timeout=10000)
		assert field.is_visible()
		page.evaluate(f"() => cur_frm.set_value('opportunity', '{opportunity.name}')")
		page.wait_for_function("() => cur_frm.doc.team", timeout=10000)
		page.keyboard.press("Control+s")
		page.wait_for_function("() => !cur_frm.is_new()", timeout=15000)
		frappe.db.rollback()
		stored = frappe.get_all(
			"Pipeline Appointment",
			filters={"opportunity": opportunity.name},
			fields=["starts_at", "ends_at", "status"],
		)
		assert [(str(r.starts_at), str(r.ends_at), r.status) for r in stored] == [
			(f"{date} 10:00:00", f"{date} 11:00:00", "Scheduled")
		]
		assert not errors, errors
	finally:
		page.context.close()
		purge_team(team)
