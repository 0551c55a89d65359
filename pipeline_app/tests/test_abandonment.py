"""Scheduled abandonment: who is abandoned, idempotency, the lock, and a real kill mid-way."""

import os
import signal
import subprocess
import time

import frappe
from frappe.tests.utils import FrappeTestCase, change_settings
from frappe.utils import add_days, add_to_date, now_datetime
from frappe.utils.synchronization import filelock

from pipeline_app.automation.abandonment import LOCK_NAME, abandon_silent_opportunities
from pipeline_app.tests.factories import make_opportunity, make_team, make_user, purge_team, stage_named


class TestAbandonment(FrappeTestCase):
	def setUp(self):
		self.seller = make_user()
		self.team = make_team(
			template="Appointment funnel", members=[self.seller], abandon_after_days=14
		).name
		self.never = make_team(template="Appointment funnel", abandon_after_days=0).name
		frappe.db.commit()

	def tearDown(self):
		purge_team(self.team)
		purge_team(self.never)

	def old_opportunity(self, team=None, days=20, **fields):
		with self.freeze_time(add_days(now_datetime(), -days)):
			return make_opportunity(team or self.team, **fields)

	def status(self, doc):
		return frappe.db.get_value("Pipeline Opportunity", doc.name, "status")

	def test_only_silent_open_opportunities_in_abandonable_stages_are_abandoned(self):
		due = self.old_opportunity(opportunity_owner=self.seller)
		recent = self.old_opportunity(days=5)
		answered = self.old_opportunity()
		frappe.db.set_value(
			"Pipeline Opportunity", answered.name, "last_inbound_on", add_days(now_datetime(), -3)
		)
		late_stage = self.old_opportunity(stage=stage_named(self.team, "Intake"))
		booked = self.old_opportunity()
		frappe.get_doc(
			{
				"doctype": "Pipeline Appointment",
				"opportunity": booked.name,
				"starts_at": add_days(now_datetime(), 2),
			}
		).insert()
		held = self.old_opportunity()
		held.update({"status": "On Hold", "on_hold_until": add_days(now_datetime(), 5)})
		held.save()
		other_team = self.old_opportunity(team=self.never)

		self.assertEqual(abandon_silent_opportunities(), 1)
		self.assertEqual(self.status(due), "Abandoned")
		for doc in (recent, answered, booked, other_team):
			self.assertEqual(self.status(doc), "Open", doc.name)
		self.assertEqual(frappe.db.get_value("Pipeline Opportunity", late_stage.name, "status"), "Open")
		self.assertEqual(self.status(held), "On Hold")

		doc = frappe.get_doc("Pipeline Opportunity", due.name)
		self.assertIsNotNone(doc.closed_on)
		self.assertEqual(doc.stage, stage_named(self.team, "Opt In"))
		history = frappe.get_all(
			"Pipeline Stage Change", {"opportunity": due.name, "to_value": "Abandoned"}, pluck="from_value"
		)
		self.assertEqual(history, ["Open"])
		notes = frappe.get_all(
			"Comment", {"reference_name": due.name, "comment_type": "Info"}, pluck="content"
		)
		self.assertEqual(len(notes), 1)
		self.assertIn("14", notes[0])
		self.assertTrue(
			frappe.db.exists("Notification Log", {"for_user": self.seller, "document_name": due.name})
		)
		# the owner's assignment is closed with it, as a single save would
		self.assertEqual(frappe.get_all("ToDo", {"reference_name": due.name}, pluck="status"), ["Closed"])
		self.assertEqual(frappe.db.get_value("Pipeline Opportunity", due.name, "_assign"), "[]")

	def test_second_run_changes_nothing(self):
		for _ in range(3):
			self.old_opportunity()
		self.assertEqual(abandon_silent_opportunities(batch_size=2), 3)
		counts = [frappe.db.count(dt) for dt in ("Pipeline Stage Change", "Comment", "Notification Log")]
		self.assertEqual(abandon_silent_opportunities(batch_size=2), 0)
		self.assertEqual(
			[frappe.db.count(dt) for dt in ("Pipeline Stage Change", "Comment", "Notification Log")], counts
		)

	def test_disabled_in_settings_does_nothing(self):
		doc = self.old_opportunity()
		with change_settings("Pipeline Settings", abandonment_enabled=0):
			self.assertEqual(abandon_silent_opportunities(), 0)
		self.assertEqual(self.status(doc), "Open")

	def test_a_second_run_while_one_holds_the_lock_does_nothing(self):
		doc = self.old_opportunity()
		with filelock(LOCK_NAME, timeout=1):
			self.assertEqual(abandon_silent_opportunities(), 0)
		self.assertEqual(self.status(doc), "Open")

	def test_run_killed_midway_is_finished_by_the_next(self):
		"""A real SIGKILL of a run in another process, after some batches were committed."""
		stage = stage_named(self.team, "Opt In")
		created = add_days(now_datetime(), -30)
		names = [f"KILL-{frappe.generate_hash(length=8)}-{i:04d}" for i in range(1500)]
		frappe.db.bulk_insert(
			"Pipeline Opportunity",
			["name", "title", "team", "stage", "status", "creation", "modified", "owner", "modified_by"],
			[
				(n, n, self.team, stage, "Open", created, created, "Administrator", "Administrator")
				for n in names
			],
		)
		frappe.db.commit()
		process = subprocess.Popen(
			[
				"bench",
				"--site",
				frappe.local.site,
				"execute",
				"pipeline_app.automation.abandonment.abandon_silent_opportunities",
				"--kwargs",
				"{'batch_size': 1}",
			],
			cwd="..",
			stdout=subprocess.DEVNULL,
			stderr=subprocess.DEVNULL,
			start_new_session=True,
		)
		abandoned = 0
		deadline = time.monotonic() + 120
		while time.monotonic() < deadline:
			frappe.db.rollback()  # see the other process's commits
			abandoned = frappe.db.count("Pipeline Opportunity", {"team": self.team, "status": "Abandoned"})
			if abandoned >= 20:
				break
			time.sleep(0.05)
		os.killpg(process.pid, signal.SIGKILL)
		process.wait()
		frappe.db.rollback()
		abandoned = frappe.db.count("Pipeline Opportunity", {"team": self.team, "status": "Abandoned"})
		self.assertTrue(20 <= abandoned < len(names), abandoned)

		self.assertEqual(abandon_silent_opportunities(), len(names) - abandoned)
		self.assertEqual(frappe.db.count("Pipeline Opportunity", {"team": self.team, "status": "Open"}), 0)
		changes = frappe.db.count("Pipeline Stage Change", {"team": self.team, "to_value": "Abandoned"})
		self.assertEqual(changes, len(names))
