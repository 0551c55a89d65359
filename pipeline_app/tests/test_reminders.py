"""Appointment reminders (host in the desk, contact by email with the .ics and the manage link), the
booking confirmation email, and the host's own Event calendar."""

import email
from datetime import timedelta

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, add_to_date, get_datetime, now_datetime, random_string

from pipeline_app.automation.reminders import send_appointment_reminders
from pipeline_app.booking import send_confirmation
from pipeline_app.tests.factories import make_contact, make_opportunity, make_team, make_user, purge_team
from pipeline_app.tests.mail import LoopbackSmtp


def mail_parts(raw: str) -> tuple[str, dict[str, str]]:
	"""The decoded text of a received message and its attachments by file name."""
	message = email.message_from_string(raw)
	text, attachments = [], {}
	for part in message.walk():
		if part.is_multipart():
			continue
		content = part.get_payload(decode=True).decode("utf-8", "replace")
		if part.get_filename():
			attachments[part.get_filename()] = content
		else:
			text.append(content)
	return "\n".join(text), attachments


class TestReminders(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		suffix = random_string(6).lower()
		cls.host = make_user(f"reminded.host.{suffix}@pipeline.test")
		cls.outsider = make_user(f"reminded.outsider.{suffix}@pipeline.test")
		cls.team = make_team(
			f"Reminders {suffix}",
			members=[cls.host],
			template="Appointment funnel",
			host_reminder_minutes=60,
			contact_reminders_enabled=1,
			contact_reminder_hours=24,
			booking_route=f"reminders-{suffix}",
		).name
		cls.email = f"reminded.{suffix}@example.test"
		cls.contact = make_contact(first_name="Rita", email=cls.email)
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		purge_team(cls.team)
		super().tearDownClass()

	def appointment(self, starts_in_minutes: int, host=None, **fields):
		opportunity = make_opportunity(self.team, title=f"Reminded {random_string(4)}", contact=self.contact)
		starts_at = add_to_date(now_datetime(), minutes=starts_in_minutes)
		return frappe.get_doc(
			{
				"doctype": "Pipeline Appointment",
				"opportunity": opportunity.name,
				"starts_at": starts_at,
				"ends_at": add_to_date(starts_at, minutes=30),
				"host": host if host is not None else self.host,
				**fields,
			}
		).insert(ignore_permissions=True)

	def host_reminders(self, appointment) -> int:
		return frappe.db.count("Notification Log", {"for_user": self.host, "document_name": appointment.name})

	def test_the_host_is_reminded_once_within_the_teams_lead_time(self):
		soon = self.appointment(45)
		later = self.appointment(120)
		cancelled = self.appointment(30, status="Cancelled")
		send_appointment_reminders()
		self.assertEqual(self.host_reminders(soon), 1)
		self.assertEqual(self.host_reminders(later), 0)
		self.assertEqual(self.host_reminders(cancelled), 0)
		send_appointment_reminders()
		self.assertEqual(self.host_reminders(soon), 1)  # once
		# a new time is reminded again
		soon.reload()
		soon.starts_at = add_to_date(now_datetime(), minutes=50)
		soon.ends_at = add_to_date(soon.starts_at, minutes=30)
		soon.save(ignore_permissions=True)
		self.assertIsNone(soon.host_reminded_at)
		send_appointment_reminders()
		self.assertEqual(self.host_reminders(soon), 2)

	def test_no_reminder_when_the_team_turns_it_off(self):
		frappe.db.set_value("Pipeline Team", self.team, "host_reminder_minutes", 0)
		try:
			soon = self.appointment(20)
			send_appointment_reminders()
			self.assertEqual(self.host_reminders(soon), 0)
		finally:
			frappe.db.set_value("Pipeline Team", self.team, "host_reminder_minutes", 60)

	def test_the_contact_gets_a_reminder_email_with_the_invitation_and_the_link(self):
		smtp = LoopbackSmtp().start()
		try:
			# no outgoing mail set up: nothing is queued, nothing is marked
			tomorrow = self.appointment(20 * 60)
			send_appointment_reminders()
			self.assertIsNone(
				frappe.db.get_value("Pipeline Appointment", tomorrow.name, "contact_reminded_at")
			)
			smtp.set_up_outgoing_mail()
			send_appointment_reminders()
			self.assertIsNotNone(
				frappe.db.get_value("Pipeline Appointment", tomorrow.name, "contact_reminded_at")
			)
			queued = frappe.get_all(
				"Email Queue",
				filters={"reference_doctype": "Pipeline Appointment", "reference_name": tomorrow.name},
				pluck="name",
			)
			self.assertEqual(len(queued), 1)
			frappe.get_doc("Email Queue", queued[0]).send()
			recipients, raw = smtp.received[-1]
			self.assertEqual(recipients, [self.email])
			text, attachments = mail_parts(raw)
			self.assertIn("Reminder of your appointment", text)
			self.assertIn("/book/reminders-", text)
			self.assertIn(f"UID:{tomorrow.name}@", attachments["appointment.ics"])
			send_appointment_reminders()
			self.assertEqual(
				frappe.db.count(
					"Email Queue",
					{"reference_name": tomorrow.name, "reference_doctype": "Pipeline Appointment"},
				),
				1,
			)
		finally:
			smtp.stop()

	def test_the_invitation_is_a_calendar_event_and_its_cancellation_the_same_one(self):
		from pipeline_app.booking import ics

		appointment = self.appointment(3 * 24 * 60)
		invitation = ics(appointment, "Our team")
		cancellation = ics(appointment, "Our team", cancelled=True)
		self.assertTrue(invitation.startswith("BEGIN:VCALENDAR\r\n"))
		self.assertIn("METHOD:PUBLISH", invitation)
		self.assertIn("METHOD:CANCEL", cancellation)
		uid = next(line for line in invitation.split("\r\n") if line.startswith("UID:"))
		self.assertIn(uid, cancellation)
		start = next(line for line in invitation.split("\r\n") if line.startswith("DTSTART:"))
		self.assertTrue(start.endswith("Z"))


class TestHostEvents(FrappeTestCase):
	def test_a_hosted_appointment_is_in_the_hosts_event_calendar_only(self):
		suffix = random_string(6).lower()
		host = make_user(f"event.host.{suffix}@pipeline.test")
		other = make_user(f"event.other.{suffix}@pipeline.test")
		team = make_team(f"Events {suffix}", members=[host, other]).name
		self.addCleanup(purge_team, team)
		opportunity = make_opportunity(team, title=f"Event deal {suffix}")
		starts_at = get_datetime(add_days(now_datetime(), 2)).replace(microsecond=0)
		appointment = frappe.get_doc(
			{
				"doctype": "Pipeline Appointment",
				"opportunity": opportunity.name,
				"starts_at": starts_at,
				"ends_at": starts_at + timedelta(minutes=45),
				"host": host,
			}
		).insert(ignore_permissions=True)
		event = frappe.get_doc("Event", appointment.event)
		self.assertEqual((event.owner, event.event_type, event.status), (host, "Private", "Open"))
		self.assertEqual(get_datetime(event.starts_on), starts_at)
		self.assertIn(f"Event deal {suffix}", event.subject)
		self.assertEqual(event.send_reminder, 0)
		from frappe.desk.doctype.event.event import get_events

		frappe.set_user(host)
		try:
			self.assertIn(
				event.name, [e.name for e in get_events(str(starts_at.date()), str(starts_at.date()))]
			)
			frappe.set_user(other)
			self.assertNotIn(
				event.name, [e.name for e in get_events(str(starts_at.date()), str(starts_at.date()))]
			)
		finally:
			frappe.set_user("Administrator")

		appointment.reload()
		appointment.status = "Cancelled"
		appointment.save(ignore_permissions=True)
		self.assertEqual(frappe.db.get_value("Event", event.name, "status"), "Cancelled")
		appointment.reload()
		appointment.host = other
		appointment.save(ignore_permissions=True)
		self.assertEqual(frappe.db.get_value("Event", event.name, "owner"), other)
		appointment.reload()
		appointment.host = None
		appointment.save(ignore_permissions=True)
		self.assertFalse(frappe.db.exists("Event", event.name))
		appointment.reload()
		appointment.host = host
		appointment.save(ignore_permissions=True)
		appointment.reload()
		again = appointment.event
		self.assertTrue(frappe.db.exists("Event", {"name": again, "owner": host}))
		# a host leaving the team keeps no Event of its appointments
		team_doc = frappe.get_doc("Pipeline Team", team)
		team_doc.members = [m for m in team_doc.members if m.user != host]
		team_doc.save(ignore_permissions=True)
		self.assertFalse(frappe.db.exists("Event", again))
		self.assertIsNone(frappe.db.get_value("Pipeline Appointment", appointment.name, "event"))
		appointment.reload()
		appointment.host = other
		appointment.save(ignore_permissions=True)
		appointment.reload()
		last = appointment.event
		appointment.delete(ignore_permissions=True)
		self.assertFalse(frappe.db.exists("Event", last))


class TestConfirmation(FrappeTestCase):
	def test_the_confirmation_carries_the_invitation_and_the_manage_link(self):
		suffix = random_string(6).lower()
		team = make_team(
			f"Confirm {suffix}", template="Appointment funnel", booking_route=f"confirm-{suffix}"
		).name
		self.addCleanup(purge_team, team)
		email = f"confirm.{suffix}@example.test"
		opportunity = make_opportunity(team, contact=make_contact(first_name="Cora", email=email))
		appointment = frappe.get_doc(
			{
				"doctype": "Pipeline Appointment",
				"opportunity": opportunity.name,
				"starts_at": add_days(now_datetime(), 2),
			}
		).insert(ignore_permissions=True)
		smtp = LoopbackSmtp().start()
		try:
			smtp.set_up_outgoing_mail()
			send_confirmation(appointment, email, "Your appointment is booked")
			name = frappe.db.get_value("Email Queue", {"reference_name": appointment.name}, "name")
			frappe.get_doc("Email Queue", name).send()
			recipients, raw = smtp.received[-1]
			self.assertEqual(recipients, [email])
			text, attachments = mail_parts(raw)
			self.assertIn("METHOD:PUBLISH", attachments["appointment.ics"])
			self.assertIn(f"/book/confirm-{suffix}?appointment={appointment.name}&amp;token=", text)
		finally:
			smtp.stop()
