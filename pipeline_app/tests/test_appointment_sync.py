"""Appointments and stages mirror each other, both ways, without loops or double timeline entries."""

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, add_to_date, get_datetime, now_datetime, today

from pipeline_app.automation.appointments import enter_appointment_day_stage
from pipeline_app.tests.factories import make_opportunity, make_team, make_user, purge_team, stage_named


class TestAppointmentSync(FrappeTestCase):
	def setUp(self):
		self.team = make_team(template="Appointment funnel").name
		self.opportunity = make_opportunity(self.team)

	def tearDown(self):
		purge_team(self.team)  # the day job commits

	def stage(self, name):
		return stage_named(self.team, name)

	def current(self):
		return frappe.get_doc("Pipeline Opportunity", self.opportunity.name)

	def book(self, starts_at, **fields):
		return frappe.get_doc(
			{
				"doctype": "Pipeline Appointment",
				"opportunity": self.opportunity.name,
				"starts_at": starts_at,
				**fields,
			}
		).insert()

	def notes(self, doctype, name):
		return frappe.get_all(
			"Comment",
			filters={"reference_doctype": doctype, "reference_name": name, "comment_type": "Info"},
			pluck="content",
		)

	def test_template_sets_the_mappings(self):
		team = frappe.get_doc("Pipeline Team", self.team)
		self.assertEqual(
			(
				team.booked_stage,
				team.appointment_day_stage,
				team.no_show_stage,
				team.cancelled_stage,
				team.replied_stage,
			),
			(
				self.stage("Call before intake"),
				self.stage("Intake"),
				self.stage("No Show"),
				self.stage("Cancel"),
				self.stage("Contact replied"),
			),
		)
		abandonable = frappe.get_all(
			"Funnel Stage", {"team": self.team, "abandonable": 1}, pluck="stage_name"
		)
		self.assertEqual(set(abandonable), {"Opt In", "Contact replied", "Call before intake"})
		self.assertTrue(team.create_opportunity_from_inbound)

	def test_booking_a_future_appointment_moves_to_booked_stage(self):
		appointment = self.book(add_days(now_datetime(), 3))
		self.assertEqual(self.current().stage, self.stage("Call before intake"))
		notes = self.notes("Pipeline Opportunity", self.opportunity.name)
		self.assertEqual(len(notes), 1)
		self.assertIn(appointment.name, notes[0])

	def test_booking_for_later_today_moves_to_appointment_day_stage(self):
		with self.freeze_time(f"{today()} 08:00:00"):
			self.book(f"{today()} 15:00:00")
			self.assertEqual(self.current().stage, self.stage("Intake"))

	def test_a_new_time_moves_the_stage_as_a_new_booking_would(self):
		"""A reschedule (a drag in the calendar, a new slot on the booking page) is a new time: to later
		today moves a booked opportunity to the appointment-day stage, to a later day moves it back."""
		with self.freeze_time(f"{today()} 08:00:00"):
			appointment = self.book(add_days(now_datetime(), 3))
			self.assertEqual(self.current().stage, self.stage("Call before intake"))
			appointment.reload()  # as the form or the calendar would: the stored version
			appointment.starts_at = f"{today()} 15:00:00"
			appointment.save()
			self.assertEqual(self.current().stage, self.stage("Intake"))
			appointment.reload()
			appointment.starts_at = add_days(now_datetime(), 2)
			appointment.save()
			self.assertEqual(self.current().stage, self.stage("Call before intake"))
		self.assertEqual(len(self.notes("Pipeline Opportunity", self.opportunity.name)), 3)

	def test_past_appointment_moves_nothing(self):
		self.book(add_days(now_datetime(), -2))
		self.assertEqual(self.current().stage, self.stage("Opt In"))

	def test_no_show_moves_to_no_show_stage_once(self):
		appointment = self.book(add_days(now_datetime(), 1))
		appointment.status = "No Show"
		appointment.save()
		self.assertEqual(self.current().stage, self.stage("No Show"))
		self.assertEqual(frappe.db.get_value("Pipeline Appointment", appointment.name, "status"), "No Show")
		appointment.reload()
		appointment.notes = "called twice"
		appointment.save()  # saving again moves nothing and adds no note
		self.assertEqual(len(self.notes("Pipeline Opportunity", self.opportunity.name)), 2)
		self.assertEqual(self.notes("Pipeline Appointment", appointment.name), [])

	def test_cancelling_moves_to_cancel_stage(self):
		appointment = self.book(add_days(now_datetime(), 1))
		appointment.status = "Cancelled"
		appointment.save()
		self.assertEqual(self.current().stage, self.stage("Cancel"))

	def test_entering_no_show_stage_marks_open_appointment_no_show(self):
		appointment = self.book(add_days(now_datetime(), 1))
		doc = self.current()
		doc.stage = self.stage("No Show")
		doc.save()
		self.assertEqual(frappe.db.get_value("Pipeline Appointment", appointment.name, "status"), "No Show")
		self.assertEqual(self.current().stage, self.stage("No Show"))
		self.assertEqual(len(self.notes("Pipeline Appointment", appointment.name)), 1)
		# the appointment's change did not echo back into a second move or note on the opportunity
		self.assertEqual(len(self.notes("Pipeline Opportunity", self.opportunity.name)), 1)

	def test_entering_cancel_stage_cancels_open_appointment(self):
		appointment = self.book(add_days(now_datetime(), 2))
		doc = self.current()
		doc.stage = self.stage("Cancel")
		doc.save()
		self.assertEqual(frappe.db.get_value("Pipeline Appointment", appointment.name, "status"), "Cancelled")

	def test_closed_opportunity_is_not_touched_unless_team_says_so(self):
		appointment = self.book(add_days(now_datetime(), 1))
		doc = self.current()
		doc.update({"status": "Lost", "lost_reason": "Price"})
		doc.save()
		lost_stage = self.current().stage
		appointment.reload()
		appointment.status = "No Show"
		appointment.save()
		self.assertEqual(self.current().stage, lost_stage)
		frappe.db.set_value("Pipeline Team", self.team, "automate_closed_opportunities", 1)
		frappe.clear_document_cache("Pipeline Team", self.team)
		second = self.book(add_days(now_datetime(), 4))
		second.status = "Cancelled"
		second.save()
		self.assertEqual(self.current().stage, self.stage("Cancel"))
		self.assertEqual(self.current().status, "Open")

	def test_team_without_mapping_moves_nothing(self):
		plain = make_team(template="Sales funnel").name
		opportunity = make_opportunity(plain)
		appointment = frappe.get_doc(
			{
				"doctype": "Pipeline Appointment",
				"opportunity": opportunity.name,
				"starts_at": add_days(now_datetime(), 2),
			}
		).insert()
		appointment.status = "No Show"
		appointment.save()
		self.assertEqual(
			frappe.db.get_value("Pipeline Opportunity", opportunity.name, "stage"), stage_named(plain, "New")
		)

	def test_day_job_moves_booked_opportunities_on_the_day(self):
		starts = get_datetime(f"{add_days(today(), 2)} 14:00:00")
		with self.freeze_time(add_to_date(starts, days=-2)):
			self.book(starts)
		self.assertEqual(self.current().stage, self.stage("Call before intake"))
		with self.freeze_time(add_to_date(starts, days=-1)):
			enter_appointment_day_stage()
		self.assertEqual(self.current().stage, self.stage("Call before intake"))
		with self.freeze_time(add_to_date(starts, hours=-5)):
			enter_appointment_day_stage()
			enter_appointment_day_stage()  # idempotent
		self.assertEqual(self.current().stage, self.stage("Intake"))
		self.assertEqual(len(self.notes("Pipeline Opportunity", self.opportunity.name)), 2)

	def test_day_job_logs_an_opportunity_it_cannot_move_and_moves_the_others(self):
		starts = get_datetime(f"{add_days(today(), 2)} 14:00:00")
		good = make_opportunity(self.team)
		with self.freeze_time(add_to_date(starts, days=-2)):
			self.book(starts)  # self.opportunity, made first: the job reaches it first
			frappe.get_doc(
				{"doctype": "Pipeline Appointment", "opportunity": good.name, "starts_at": starts}
			).insert()
		# an owner who left the team (written underneath): the rules refuse every save of it
		frappe.db.set_value("Pipeline Opportunity", self.opportunity.name, "opportunity_owner", make_user())
		# a rolled back test gives its opportunity's name back to the naming series: older logs may name it
		frappe.db.delete(
			"Error Log",
			{"reference_doctype": "Pipeline Opportunity", "reference_name": self.opportunity.name},
		)
		with self.freeze_time(add_to_date(starts, hours=-5)):
			enter_appointment_day_stage()
		frappe.db.rollback()
		self.assertEqual(
			frappe.db.get_value("Pipeline Opportunity", good.name, "stage"), self.stage("Intake")
		)
		self.assertEqual(self.current().stage, self.stage("Call before intake"))
		self.assertEqual(
			frappe.db.count(
				"Error Log",
				{"reference_doctype": "Pipeline Opportunity", "reference_name": self.opportunity.name},
			),
			1,
		)
