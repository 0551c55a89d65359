"""The automations as the scheduler runs them: every job of hooks.scheduler_events is a Scheduled Job
Type with its frequency, and each one, enqueued the way the scheduler enqueues it, is picked up by the
bench's real worker (another process, its own queue) and does its work on committed data."""

import time

import frappe
import pytest
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, add_to_date, get_datetime, now_datetime, today

from pipeline_app import hooks
from pipeline_app.tests.factories import make_opportunity, make_team, make_user, purge_team, stage_named

pytestmark = pytest.mark.http  # needs the bench's worker running (scripts/test starts it)

FREQUENCIES = {"hourly": "Hourly", "daily_long": "Daily Long", "daily": "Daily"}
WORKER_SECONDS = 60


def scheduled_methods():
	for event, methods in hooks.scheduler_events.items():
		if event == "cron":
			for cron_format, cron_methods in methods.items():
				for method in cron_methods:
					yield method, "Cron", cron_format
		else:
			for method in methods:
				yield method, FREQUENCIES[event], None


class TestScheduledJobs(FrappeTestCase):
	def test_every_scheduled_job_is_registered_with_its_frequency(self):
		methods = list(scheduled_methods())
		self.assertEqual(len(methods), 7)
		for method, frequency, cron_format in methods:
			job = frappe.db.get_value(
				"Scheduled Job Type",
				{"method": method},
				["frequency", "cron_format", "stopped"],
				as_dict=True,
			)
			self.assertIsNotNone(job, method)
			self.assertEqual(job.frequency, frequency, method)
			self.assertFalse(job.stopped, method)
			if cron_format:
				self.assertEqual(job.cron_format, cron_format, method)


class TestJobsRunOnTheWorker(FrappeTestCase):
	def setUp(self):
		self.seller = make_user()
		self.team = make_team(
			template="Appointment funnel", members=[self.seller], abandon_after_days=14
		).name
		frappe.db.commit()

	def tearDown(self):
		purge_team(self.team)

	def run_on_worker(self, method, done, what):
		"""Enqueues the job as the scheduler does and waits for the worker to have done `done`."""
		frappe.db.commit()
		job = frappe.get_doc("Scheduled Job Type", {"method": method})
		job.enqueue(force=True)  # False when the scheduler has just queued it: it runs all the same
		deadline = time.monotonic() + WORKER_SECONDS
		while time.monotonic() < deadline:
			frappe.db.rollback()  # see what the worker committed
			if done():
				return
			time.sleep(0.5)
		self.fail(f"the worker did not {what} within {WORKER_SECONDS} s ({method})")

	def value(self, name, field):
		return frappe.db.get_value("Pipeline Opportunity", name, field)

	def test_follow_up_notification(self):
		doc = make_opportunity(
			self.team,
			opportunity_owner=self.seller,
			follow_up_on=add_to_date(now_datetime(), minutes=-3),
		)
		self.run_on_worker(
			"pipeline_app.automation.follow_ups.notify_due_follow_ups",
			lambda: frappe.db.exists(
				"Notification Log", {"for_user": self.seller, "document_name": doc.name}
			),
			"notify the owner of a due follow-up",
		)

	def test_appointment_reminder(self):
		doc = make_opportunity(self.team, opportunity_owner=self.seller)
		appointment = frappe.get_doc(
			{
				"doctype": "Pipeline Appointment",
				"opportunity": doc.name,
				"starts_at": add_to_date(now_datetime(), minutes=30),
				"host": self.seller,
			}
		).insert()
		self.run_on_worker(
			"pipeline_app.automation.reminders.send_appointment_reminders",
			lambda: frappe.db.exists(
				"Notification Log", {"for_user": self.seller, "document_name": appointment.name}
			),
			"remind the host of an appointment starting within the team's lead time",
		)

	def test_hold_resume(self):
		doc = make_opportunity(self.team, opportunity_owner=self.seller)
		doc.update({"status": "On Hold", "on_hold_until": add_days(today(), 5)})
		doc.save()
		# the hold's date has come (a past date cannot be entered: set it underneath)
		frappe.db.set_value("Pipeline Opportunity", doc.name, "on_hold_until", today())
		self.run_on_worker(
			"pipeline_app.automation.follow_ups.resume_held_opportunities",
			lambda: self.value(doc.name, "status") == "Open",
			"resume an On Hold opportunity whose date has come",
		)

	def test_appointment_day_stage(self):
		doc = make_opportunity(self.team)
		starts_at = get_datetime(f"{today()} 23:59:00")
		with self.freeze_time(f"{add_days(today(), -1)} 12:00:00"):  # booked yesterday for today
			frappe.get_doc(
				{"doctype": "Pipeline Appointment", "opportunity": doc.name, "starts_at": starts_at}
			).insert()
		self.assertEqual(self.value(doc.name, "stage"), stage_named(self.team, "Call before intake"))
		self.run_on_worker(
			"pipeline_app.automation.appointments.enter_appointment_day_stage",
			lambda: self.value(doc.name, "stage") == stage_named(self.team, "Intake"),
			"move an opportunity whose appointment is today to the day stage",
		)

	def test_abandonment(self):
		with self.freeze_time(add_days(now_datetime(), -20)):
			doc = make_opportunity(self.team, opportunity_owner=self.seller)
		self.run_on_worker(
			"pipeline_app.automation.abandonment.abandon_silent_opportunities",
			lambda: self.value(doc.name, "status") == "Abandoned",
			"abandon a silent opportunity",
		)

	def test_digests(self):
		make_opportunity(
			self.team, opportunity_owner=self.seller, follow_up_on=add_to_date(now_datetime(), minutes=-3)
		)
		frappe.get_doc(
			{"doctype": "Pipeline Digest Subscription", "user": self.seller, "frequency": "Daily"}
		).insert(ignore_permissions=True)
		try:
			self.run_on_worker(
				"pipeline_app.automation.digests.send_digests",
				lambda: frappe.db.get_value("Pipeline Digest", {"user": self.seller}, "overdue_count") == 1,
				"send the owner of an overdue follow-up their daily digest",
			)
		finally:
			frappe.db.delete("Pipeline Digest", {"user": self.seller})
			frappe.db.delete("Pipeline Digest Subscription", {"user": self.seller})
			frappe.db.commit()

	def test_column_count_fold(self):
		first = make_opportunity(self.team)
		make_opportunity(self.team)
		first.reload()
		first.stage = stage_named(self.team, "Intake")
		first.save()
		groups = len(
			frappe.get_all("Pipeline Column Count", {"team": self.team}, ["stage", "status"], distinct=True)
		)
		self.assertGreater(frappe.db.count("Pipeline Column Count", {"team": self.team}), groups)
		self.run_on_worker(
			"pipeline_app.column_counts.fold",
			lambda: frappe.db.count("Pipeline Column Count", {"team": self.team}) == groups,
			"fold the team's column counts to one row per stage and status",
		)
