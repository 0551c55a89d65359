"""The public booking page, as a guest over HTTP on the running bench: free slots (weekly hours minus
every host's scheduled appointments, buffer included), booking (contact matched or made, opportunity
found or made, fair host, the stage follows), the race for one slot, the signed cancel / reschedule
link, and what keeps the page safe (unpublished pages, honeypot, validation, rate limits)."""

import threading
from datetime import datetime, time, timedelta
from urllib.parse import parse_qs, urlparse

import frappe
import pytest
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, get_datetime, getdate, random_string

from pipeline_app import booking
from pipeline_app.tests.browser import browser, site_url
from pipeline_app.tests.factories import make_contact, make_opportunity, make_team, make_user, purge_team
from pipeline_app.tests.http_client import Client

pytestmark = pytest.mark.http

SLOTS = "pipeline_app.booking.get_slots"
BOOK = "pipeline_app.booking.book"
CANCEL = "pipeline_app.booking.cancel_booking"
RESCHEDULE = "pipeline_app.booking.reschedule_booking"
GET_BOOKING = "pipeline_app.booking.get_booking"
ALL_WEEK = [{"weekday": day, "from_time": "09:00:00", "to_time": "12:00:00"} for day in booking.WEEKDAYS]


def booking_team(suffix: str, hosts: list[str], members=(), **fields):
	name = make_team(
		f"Booking {suffix}",
		members=[*hosts, *members],
		template="Appointment funnel",
		booking_hours=ALL_WEEK,
	).name
	team = frappe.get_doc("Pipeline Team", name)  # its stages and automation fields were set since
	for member in team.members:
		member.booking_host = member.user in hosts
	team.update(
		{
			"booking_enabled": 1,
			"booking_route": f"book-{suffix}",
			"booking_slot_minutes": 30,
			"booking_buffer_minutes": 0,
			"booking_days_ahead": 7,
			"booking_notice_hours": 0,
			**fields,
		}
	)
	team.save(ignore_permissions=True)
	return team


def reset_rate_limits(team: str) -> None:
	for kind, identity in (("peer", "127.0.0.1"), ("slots", "127.0.0.1"), ("team", team)):
		frappe.cache.delete(booking.booking_rate_key(kind, identity))  # the key as made, no prefix added


class BookingCase(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.suffix = random_string(6).lower()
		cls.host_a = make_user(f"a.host.{cls.suffix}@pipeline.test")
		cls.host_b = make_user(f"b.host.{cls.suffix}@pipeline.test")
		cls.seller = make_user(f"seller.{cls.suffix}@pipeline.test")
		cls.team = booking_team(cls.suffix, [cls.host_a, cls.host_b], members=[cls.seller]).name
		cls.route = f"book-{cls.suffix}"
		cls.other = make_team(f"Booking other {cls.suffix}", members=[cls.host_a]).name
		cls.day = getdate(add_days(None, 2))
		frappe.db.commit()
		cls.guest = Client()

	@classmethod
	def tearDownClass(cls):
		purge_team(cls.team, cls.other)
		super().tearDownClass()

	def setUp(self):
		reset_rate_limits(self.team)

	def at(self, hour: int, minute: int = 0, day=None) -> str:
		return datetime.combine(day or self.day, time(hour, minute)).strftime("%Y-%m-%d %H:%M:%S")

	def slots(self, day=None, **args) -> list[str]:
		response = self.guest.call(SLOTS, "GET", route=self.route, start=str(day or self.day), days=1, **args)
		self.assertEqual(response.status_code, 200, response.text)
		days = response.json()["message"]["days"]
		return [slot["start"][11:16] for entry in days for slot in entry["slots"]]

	def book(self, slot: str, email: str | None = None, **fields):
		return self.guest.call(
			BOOK,
			route=self.route,
			slot=slot,
			first_name=fields.pop("first_name", "Vera"),
			email=email or f"visitor.{random_string(8).lower()}@example.test",
			**fields,
		)

	def desk_appointment(self, host, start: str, minutes=30, team=None, status="Scheduled"):
		opportunity = make_opportunity(team or self.team, title=f"Desk {random_string(4)}")
		doc = frappe.get_doc(
			{
				"doctype": "Pipeline Appointment",
				"opportunity": opportunity.name,
				"starts_at": start,
				"ends_at": get_datetime(start) + timedelta(minutes=minutes),
				"host": host,
				"status": status,
			}
		).insert(ignore_permissions=True)
		frappe.db.commit()
		self.addCleanup(self.remove, doc.name, opportunity.name)
		return doc

	def remove(self, *names):
		frappe.db.rollback()
		for name in names:
			doctype = "Pipeline Appointment" if name.startswith("APT") else "Pipeline Opportunity"
			if frappe.db.exists(doctype, name):
				frappe.delete_doc(doctype, name, force=True, ignore_permissions=True)
		frappe.db.commit()

	def booked(self, response) -> frappe._dict:
		self.assertEqual(response.status_code, 200, response.text)
		answer = frappe._dict(response.json()["message"])
		frappe.db.rollback()  # this test's reads start after the web server's commit
		doc = frappe.get_doc("Pipeline Appointment", answer.appointment)
		self.addCleanup(self.remove, doc.name)
		return answer


class TestSlots(BookingCase):
	def test_free_slots_are_the_weekly_hours_minus_every_hosts_appointments(self):
		all_slots = ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
		self.assertEqual(self.slots(), all_slots)
		# host A busy 10:00-10:30 (in another team: a host is one person), host B 10:00-11:00
		self.desk_appointment(self.host_a, self.at(10), team=self.other)
		self.desk_appointment(self.host_b, self.at(10), minutes=60)
		self.desk_appointment(self.host_a, self.at(9), status="Cancelled")  # frees its time
		self.assertEqual(self.slots(), ["09:00", "09:30", "10:30", "11:00", "11:30"])
		frappe.db.set_value("Pipeline Team", self.team, "booking_buffer_minutes", 15)
		frappe.db.commit()
		frappe.clear_document_cache("Pipeline Team", self.team)
		try:
			# A until 10:45 and B until 11:15 with the buffer: 09:30 (A from 09:45) and 10:30 go
			self.assertEqual(self.slots(), ["09:00", "11:00", "11:30"])
		finally:
			frappe.db.set_value("Pipeline Team", self.team, "booking_buffer_minutes", 0)
			frappe.db.commit()
			frappe.clear_document_cache("Pipeline Team", self.team)

	def test_slots_tell_nothing_but_times(self):
		self.desk_appointment(self.host_a, self.at(9))
		answer = self.guest.call(SLOTS, "GET", route=self.route, start=str(self.day), days=1).json()
		self.assertEqual(
			set(answer["message"]), {"timezone", "slot_minutes", "first_day", "last_day", "days"}
		)
		for slot in answer["message"]["days"][0]["slots"]:
			self.assertEqual(set(slot), {"start", "utc"})
		self.assertNotIn(self.host_a, str(answer))
		self.assertNotIn(self.team, str(answer))

	def test_no_slots_outside_the_bookable_days(self):
		self.assertEqual(self.slots(day=getdate(add_days(None, 8))), [])
		self.assertEqual(self.slots(day=getdate(add_days(None, -1))), [])

	def test_an_unpublished_page_is_missing_whatever_the_reason(self):
		for route in ("no-such-team", "BAD ROUTE'", ""):
			response = self.guest.call(SLOTS, "GET", route=route)
			self.assertEqual(response.status_code, 404, response.text)
		frappe.db.set_value("Pipeline Team", self.team, "booking_enabled", 0)
		frappe.db.commit()
		try:
			self.assertEqual(self.guest.call(SLOTS, "GET", route=self.route).status_code, 404)
			self.assertEqual(self.book(self.at(9)).status_code, 404)
			self.assertEqual(self.guest.get(f"/book/{self.route}").status_code, 404)
		finally:
			frappe.db.set_value("Pipeline Team", self.team, "booking_enabled", 1)
			frappe.db.commit()

	def test_the_page_shows_the_heading_escaped(self):
		frappe.db.set_value(
			"Pipeline Team", self.team, "booking_heading", "<img src=x onerror=alert(1)> Book us"
		)
		frappe.db.commit()
		frappe.clear_document_cache("Pipeline Team", self.team)
		try:
			response = self.guest.get(f"/book/{self.route}")
			self.assertEqual(response.status_code, 200)
			self.assertIn("&lt;img src=x onerror=alert(1)&gt; Book us", response.text)
			self.assertNotIn("<img src=x", response.text)
			self.assertNotIn(self.host_a, response.text)
		finally:
			frappe.db.set_value("Pipeline Team", self.team, "booking_heading", None)
			frappe.db.commit()
			frappe.clear_document_cache("Pipeline Team", self.team)


class TestBooking(BookingCase):
	def test_a_booking_makes_the_contact_the_opportunity_and_the_appointment(self):
		email = f"new.{random_string(6).lower()}@example.test"
		phone = "+49 30 " + "".join(str(ord(c) % 10) for c in random_string(9))
		answer = self.booked(self.book(self.at(9), email, first_name="Nina", last_name="Neu", phone=phone))
		appointment = frappe.get_doc("Pipeline Appointment", answer.appointment)
		self.assertEqual((appointment.status, appointment.booked_online), ("Scheduled", 1))
		self.assertEqual(get_datetime(appointment.starts_at), get_datetime(self.at(9)))
		self.assertEqual(get_datetime(appointment.ends_at), get_datetime(self.at(9, 30)))
		self.assertIn(appointment.host, (self.host_a, self.host_b))
		opportunity = frappe.get_doc("Pipeline Opportunity", appointment.opportunity)
		self.addCleanup(self.remove, opportunity.name)
		self.assertEqual(
			(opportunity.team, opportunity.source, opportunity.status), (self.team, "Website", "Open")
		)
		# the appointment's own sync: booked for a later day, the team's booked stage
		booked_stage = frappe.db.get_value("Pipeline Team", self.team, "booked_stage")
		self.assertEqual(opportunity.stage, booked_stage)
		contact = frappe.get_doc("Contact", opportunity.contact)
		self.assertEqual((contact.first_name, contact.last_name, contact.email_id), ("Nina", "Neu", email))
		self.assertEqual(contact.phone_nos[0].phone, phone)
		self.assertEqual(answer.host, frappe.db.get_value("User", appointment.host, "first_name"))
		self.assertNotIn("@", str(answer.host))
		self.assertTrue(
			frappe.db.exists(
				"Notification Log", {"for_user": appointment.host, "document_name": appointment.name}
			)
		)

		# the same visitor again: the same contact and the same open opportunity, no duplicate
		again = self.booked(self.book(self.at(11), email.upper(), first_name="Nina"))
		second = frappe.get_doc("Pipeline Appointment", again.appointment)
		self.assertEqual(second.opportunity, opportunity.name)
		self.assertEqual(frappe.db.count("Contact Email", {"email_id": email}), 1)

	def test_an_existing_contact_found_by_phone_keeps_its_details(self):
		phone = "+31 6 " + "".join(str(ord(c) % 10) for c in random_string(8))
		contact = make_contact(first_name="Known", phone=phone)
		opportunity = make_opportunity(self.team, title="Known deal", contact=contact)
		frappe.db.commit()
		answer = self.booked(self.book(self.at(10), first_name="Someone Else", phone=phone.replace(" ", "")))
		self.assertEqual(
			frappe.db.get_value("Pipeline Appointment", answer.appointment, "opportunity"), opportunity.name
		)
		self.assertEqual(frappe.db.get_value("Contact", contact, "first_name"), "Known")

	def test_hosts_are_chosen_fairly_and_only_when_free(self):
		first = self.booked(self.book(self.at(9)))
		host_first = frappe.db.get_value("Pipeline Appointment", first.appointment, "host")
		self.assertEqual(host_first, min(self.host_a, self.host_b))  # equal load: by name
		# the other host has fewer upcoming appointments: they get the next booking
		second = self.booked(self.book(self.at(11)))
		host_second = frappe.db.get_value("Pipeline Appointment", second.appointment, "host")
		self.assertNotEqual(host_second, host_first)
		# the same slot as the first: only the other host is free
		third = self.booked(self.book(self.at(9)))
		self.assertEqual(frappe.db.get_value("Pipeline Appointment", third.appointment, "host"), host_second)
		# nobody is free any more at 09:00
		response = self.book(self.at(9))
		self.assertEqual(response.status_code, 409, response.text)
		self.assertIn("just been taken", response.text)

	def test_two_visitors_racing_for_the_last_host_of_a_slot_one_gets_it(self):
		self.desk_appointment(self.host_b, self.at(10, 30))
		emails = [f"racer.{i}.{random_string(6).lower()}@example.test" for i in range(6)]
		barrier = threading.Barrier(len(emails))
		clients = {email: Client() for email in emails}  # frappe.local is per thread: made here
		responses = {}

		def race(email):
			barrier.wait()
			responses[email] = clients[email].call(
				BOOK, route=self.route, slot=self.at(10, 30), first_name="Racer", email=email
			)

		threads = [threading.Thread(target=race, args=(email,)) for email in emails]
		for thread in threads:
			thread.start()
		for thread in threads:
			thread.join(60)
		statuses = sorted(response.status_code for response in responses.values())
		self.assertEqual(statuses, [200, 409, 409, 409, 409, 409], [r.text[:300] for r in responses.values()])
		winner = next(r for r in responses.values() if r.status_code == 200)
		self.booked(winner)
		frappe.db.rollback()
		self.assertEqual(
			frappe.db.count(
				"Pipeline Appointment",
				{"host": self.host_a, "starts_at": self.at(10, 30), "status": "Scheduled"},
			),
			1,
		)
		# the losers left nothing behind
		for email in emails:
			if responses[email].status_code == 409:
				self.assertFalse(frappe.db.exists("Contact Email", {"email_id": email}))

	def test_bad_input_is_refused_and_changes_nothing(self):
		email = f"bad.{random_string(6).lower()}@example.test"
		cases = [
			(dict(slot=self.at(9), email="not-an-email"), 417, "not an email address"),
			(dict(slot=self.at(9), email=email, first_name=""), 417, "First name is required"),
			(dict(slot=self.at(9), email=email, phone="call me maybe"), 417, "not a phone number"),
			(dict(slot=self.at(9), email=email, first_name="x" * 81), 417, "too long"),
			(dict(slot=self.at(9, 10), email=email), 409, "just been taken"),  # not a slot
			(dict(slot=self.at(13), email=email), 409, "just been taken"),  # outside the hours
			(dict(slot="tomorrow", email=email), 417, "Pick a time"),
			(dict(slot=self.at(9, day=getdate(add_days(None, -1))), email=email), 409, "just been taken"),
			(dict(slot=self.at(9), email=email, website="http://spam.test"), 417, "could not be taken"),
		]
		for fields, status, text in cases:
			with self.subTest(fields=fields):
				response = self.book(**fields)
				self.assertEqual(response.status_code, status, response.text)
				self.assertIn(text, response.text)
		frappe.db.rollback()
		self.assertFalse(frappe.db.exists("Contact Email", {"email_id": email}))
		self.assertFalse(
			frappe.db.exists("Pipeline Appointment", {"team": self.team, "starts_at": self.at(9)})
		)

	def test_get_is_refused_for_the_writes(self):
		for method in (BOOK, CANCEL, RESCHEDULE):
			response = self.guest.call(method, "GET", route=self.route, slot=self.at(9))
			self.assertEqual(response.status_code, 403, response.text)

	def test_rate_limits_per_peer_and_per_team(self):
		for kind, identity, limit in (
			("peer", "127.0.0.1", booking.PEER_LIMIT[0]),
			("team", self.team, booking.TEAM_LIMIT[0]),
		):
			with self.subTest(kind=kind):
				reset_rate_limits(self.team)
				key = booking.booking_rate_key(kind, identity)
				frappe.cache.incrby(key, limit)  # the window's requests so far
				frappe.cache.expire(key, 600)
				response = self.book(self.at(9))
				self.assertEqual(response.status_code, 429, response.text)
		frappe.db.rollback()
		self.assertFalse(
			frappe.db.exists("Pipeline Appointment", {"team": self.team, "starts_at": self.at(9)})
		)


class TestManageLink(BookingCase):
	def token_of(self, answer) -> str:
		query = parse_qs(urlparse(answer.manage_url).query)
		self.assertEqual(urlparse(answer.manage_url).path, f"/book/{self.route}")
		self.assertEqual(query["appointment"], [answer.appointment])
		return query["token"][0]

	def test_the_link_cancels_its_appointment_and_the_stage_follows(self):
		answer = self.booked(self.book(self.at(9)))
		token = self.token_of(answer)
		shown = self.guest.call(GET_BOOKING, "GET", appointment=answer.appointment, token=token)
		self.assertEqual(shown.json()["message"]["status"], "Scheduled")
		other = self.booked(self.book(self.at(10)))
		# a token is good for its own appointment only, and a wrong one changes nothing
		for appointment, bad in (
			(other.appointment, token),
			(answer.appointment, token[:-1] + ("1" if token.endswith("0") else "0")),  # one hex digit off
			(answer.appointment, ""),
		):
			response = self.guest.call(CANCEL, appointment=appointment, token=bad)
			self.assertEqual(response.status_code, 403, response.text)
		frappe.db.rollback()
		self.assertEqual(
			frappe.db.get_value("Pipeline Appointment", other.appointment, "status"), "Scheduled"
		)

		response = self.guest.call(CANCEL, appointment=answer.appointment, token=token)
		self.assertEqual(response.status_code, 200, response.text)
		frappe.db.rollback()
		appointment = frappe.get_doc("Pipeline Appointment", answer.appointment)
		self.assertEqual(appointment.status, "Cancelled")
		cancelled_stage = frappe.db.get_value("Pipeline Team", self.team, "cancelled_stage")
		self.assertEqual(
			frappe.db.get_value("Pipeline Opportunity", appointment.opportunity, "stage"), cancelled_stage
		)
		again = self.guest.call(CANCEL, appointment=answer.appointment, token=token)
		self.assertEqual(again.status_code, 417, again.text)

	def test_the_link_moves_the_appointment_and_the_old_link_retires(self):
		answer = self.booked(self.book(self.at(9)))
		token = self.token_of(answer)
		self.desk_appointment(self.host_a, self.at(11))
		self.desk_appointment(self.host_b, self.at(11))
		taken = self.guest.call(RESCHEDULE, appointment=answer.appointment, token=token, slot=self.at(11))
		self.assertEqual(taken.status_code, 409, taken.text)
		moved = self.guest.call(RESCHEDULE, appointment=answer.appointment, token=token, slot=self.at(10, 30))
		self.assertEqual(moved.status_code, 200, moved.text)
		new = frappe._dict(moved.json()["message"])
		frappe.db.rollback()
		self.assertEqual(
			get_datetime(frappe.db.get_value("Pipeline Appointment", answer.appointment, "starts_at")),
			get_datetime(self.at(10, 30)),
		)
		self.assertEqual(
			self.guest.call(CANCEL, appointment=answer.appointment, token=token).status_code, 403
		)
		self.assertEqual(
			self.guest.call(CANCEL, appointment=answer.appointment, token=self.token_of(new)).status_code, 200
		)

	def test_a_started_appointment_cannot_be_managed(self):
		answer = self.booked(self.book(self.at(9)))
		past = get_datetime(self.at(9)) - timedelta(days=3)
		frappe.db.set_value("Pipeline Appointment", answer.appointment, "starts_at", past)
		frappe.db.commit()
		token = booking.manage_token(answer.appointment, past)
		response = self.guest.call(CANCEL, appointment=answer.appointment, token=token)
		self.assertEqual(response.status_code, 403, response.text)
		self.assertIn("already started", response.text)


class TestBookingSettings(FrappeTestCase):
	def test_a_published_page_needs_a_route_hours_and_hosts(self):
		suffix = random_string(6).lower()
		host = make_user(f"settings.host.{suffix}@pipeline.test")
		team = booking_team(suffix, [host])
		self.addCleanup(purge_team, team.name)
		cases = [
			({"booking_route": "Not A Slug!"}, "Page Route must be"),
			({"booking_slot_minutes": 2}, "Slot Length"),
			({"booking_days_ahead": 0}, "Bookable Days Ahead"),
			(
				{"booking_hours": [{"weekday": "Monday", "from_time": "12:00:00", "to_time": "09:00:00"}]},
				"From must be before To",
			),
			({"booking_hours": []}, "weekly hours"),
		]
		for values, text in cases:
			with self.subTest(values=values):
				doc = frappe.get_doc("Pipeline Team", team.name)
				doc.update(values)
				with self.assertRaisesRegex(frappe.ValidationError, text):
					doc.save(ignore_permissions=True)
		doc = frappe.get_doc("Pipeline Team", team.name)
		for member in doc.members:
			member.booking_host = 0
		with self.assertRaisesRegex(frappe.ValidationError, "Takes Bookings"):
			doc.save(ignore_permissions=True)
		twin = make_team(f"Booking twin {suffix}", members=[host])
		self.addCleanup(purge_team, twin.name)
		twin.update({"booking_route": f"book-{suffix}"})
		with self.assertRaises(frappe.UniqueValidationError):
			twin.save(ignore_permissions=True)


@pytest.mark.browser
def test_a_visitor_books_and_cancels_in_the_browser(browser):  # noqa: F811 (the browser fixture)

	suffix = random_string(6).lower()
	host = make_user(f"browser.host.{suffix}@pipeline.test")
	team = booking_team(suffix, [host], booking_heading=f"Meet us {suffix}").name
	frappe.db.commit()
	reset_rate_limits(team)
	visitor_zone = "America/New_York" if booking.get_system_timezone() != "America/New_York" else "Asia/Tokyo"
	context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id=visitor_zone)
	page = context.new_page()
	errors = []
	page.on("pageerror", lambda error: errors.append(str(error)))
	email = f"browser.{suffix}@example.test"
	try:
		page.goto(f"{site_url()}/book/book-{suffix}")
		page.locator(".pipeline-booking-heading", has_text=f"Meet us {suffix}").wait_for()
		first = page.locator(".pipeline-booking-slot").first
		first.wait_for(timeout=30000)
		# the site's time zone shown, the visitor's own offered
		zones = page.locator(".pipeline-booking-zone option").all_inner_texts()
		assert any(visitor_zone in zone for zone in zones), zones
		slot = first.get_attribute("data-start")
		first.click()
		page.fill("#pb-first", "Bea")
		page.fill("#pb-email", email)
		page.fill("#pb-phone", "+1 212 555 0100")
		page.click(".pipeline-booking-submit")
		page.locator(".pipeline-booking-confirmation", has_text="Your appointment is booked").wait_for(
			timeout=30000
		)
		frappe.db.rollback()
		name = frappe.db.get_value("Pipeline Appointment", {"team": team, "booked_online": 1}, "name")
		assert name, "no appointment was booked"
		assert str(frappe.db.get_value("Pipeline Appointment", name, "starts_at")) == slot
		manage = page.locator(".pipeline-booking-manage").get_attribute("href")
		page.goto(manage)
		page.locator(".pipeline-booking-managed").wait_for(timeout=30000)
		page.on("dialog", lambda dialog: dialog.accept())
		page.click(".pipeline-booking-cancel")
		page.locator(".pipeline-booking-confirmation", has_text="cancelled").wait_for(timeout=30000)
		frappe.db.rollback()
		assert frappe.db.get_value("Pipeline Appointment", name, "status") == "Cancelled"
		assert not errors, errors
	finally:
		context.close()
		purge_team(team)
