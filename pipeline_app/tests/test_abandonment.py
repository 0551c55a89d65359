"""Scheduled abandonment: who is abandoned, idempotency, the lock (held across worker hosts: two
worker processes at once), a bad row skipped, and a real kill mid-way."""

import os
import signal
import subprocess
import time

import frappe
from frappe.tests.utils import FrappeTestCase, change_settings
from frappe.utils import add_days, add_to_date, formatdate, getdate, now_datetime

from pipeline_app.api import get_board
from pipeline_app.automation.abandonment import abandon_silent_opportunities, abandonment_lock_name
from pipeline_app.automation.conversations import record_message
from pipeline_app.column_counts import rebuild as rebuild_column_counts
from pipeline_app.install import ABANDONED_REASON
from pipeline_app.pipeline_app.doctype.pipeline_column_count.test_pipeline_column_count import counted, kept
from pipeline_app.tests.factories import (
	make_contact,
	make_opportunity,
	make_team,
	make_user,
	other_connection,
	purge_team,
	stage_named,
)


class TestAbandonment(FrappeTestCase):
	def setUp(self):
		self.seller = make_user()
		self.team = make_team(
			template="Appointment funnel", members=[self.seller], abandon_after_days=14
		).name
		self.never = make_team(template="Appointment funnel", abandon_after_days=0).name
		frappe.db.commit()

	def tearDown(self):
		frappe.set_user("Administrator")  # before the cleanups that set it back
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
		# the system reason tells abandonment from real losses
		self.assertEqual((doc.lost_reason, doc.lost_detail), (ABANDONED_REASON, "No reply for 14 days"))
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

	def test_the_preview_report_lists_what_the_run_then_abandons(self):
		from frappe.desk.query_report import run

		due = [self.old_opportunity(), self.old_opportunity(days=16)]
		self.old_opportunity(days=5)  # not yet
		self.old_opportunity(stage=stage_named(self.team, "Intake"))  # not abandonable
		now = str(now_datetime())
		preview = run("Pipeline Abandonment Preview", filters={"team": self.team, "run_at": now})
		listed = sorted(row["name"] for row in preview["result"])
		self.assertEqual(listed, sorted(doc.name for doc in due))
		self.assertTrue(all("14" in row["reason"] for row in preview["result"]))
		# tonight's run (the default) sees those and the ones that fall due before midnight
		tonight = run("Pipeline Abandonment Preview", filters={"team": self.team})
		self.assertLessEqual(set(listed), {row["name"] for row in tonight["result"]})
		self.assertEqual(abandon_silent_opportunities(), len(listed))
		abandoned = frappe.get_all(
			"Pipeline Opportunity", {"team": self.team, "status": "Abandoned"}, pluck="name", order_by="name"
		)
		self.assertEqual(abandoned, listed)
		self.assertEqual(
			run("Pipeline Abandonment Preview", filters={"team": self.team, "run_at": now})["result"], []
		)

	def test_the_preview_is_for_managers_of_the_team_only(self):
		from frappe.desk.query_report import run

		frappe.set_user(self.seller)
		self.addCleanup(frappe.set_user, "Administrator")
		with self.assertRaises(frappe.PermissionError):
			run("Pipeline Abandonment Preview", filters={"team": self.team})

	def test_a_run_is_recorded_and_its_undo_reopens_exactly_its_opportunities(self):
		from pipeline_app.pipeline_app.doctype.pipeline_abandonment_run.pipeline_abandonment_run import undo

		manager = make_user(roles=("Pipeline Manager",))
		first = [self.old_opportunity(opportunity_owner=self.seller) for _ in range(3)]
		earlier = self.old_opportunity()
		earlier.update({"status": "Abandoned"}).save()  # abandoned by hand, by no run
		self.assertEqual(abandon_silent_opportunities(), 3)
		(run,) = frappe.get_all("Pipeline Abandonment Run", {"team": self.team}, ["name", "abandoned_count"])
		self.assertEqual(run.abandoned_count, 3)
		later = self.old_opportunity(days=30)
		self.assertEqual(abandon_silent_opportunities(), 1)  # a second run, of its own
		self.assertEqual(frappe.db.count("Pipeline Abandonment Run", {"team": self.team}), 2)
		# one of the first run's was won since: the undo leaves it
		won = frappe.get_doc("Pipeline Opportunity", first[0].name)
		won.update({"status": "Won"}).save()
		stages = {doc.name: frappe.db.get_value("Pipeline Opportunity", doc.name, "stage") for doc in first}
		frappe.db.commit()

		frappe.set_user(self.seller)
		with self.assertRaises(frappe.PermissionError):  # managers only
			undo(run.name)
		frappe.set_user(manager)
		self.addCleanup(frappe.set_user, "Administrator")
		self.assertEqual(undo(run.name), {"reopened": 2, "skipped": 1})
		frappe.set_user("Administrator")
		for doc in first[1:]:
			reopened = frappe.db.get_value(
				"Pipeline Opportunity",
				doc.name,
				["status", "stage", "lost_reason", "closed_on"],
				as_dict=True,
			)
			self.assertEqual(
				(reopened.status, reopened.stage, reopened.lost_reason, reopened.closed_on),
				("Open", stages[doc.name], None, None),
			)
		self.assertEqual(self.status(first[0]), "Won")
		self.assertEqual(self.status(earlier), "Abandoned")  # not the run's
		self.assertEqual(self.status(later), "Abandoned")  # the other run's
		self.assertEqual(
			frappe.db.get_value("Pipeline Abandonment Run", run.name, ["undone_by", "reopened_count"]),
			(manager, 2),
		)
		self.assertEqual(counted(self.team), kept(self.team))  # the board's totals followed
		frappe.set_user(manager)
		with self.assertRaises(frappe.ValidationError):  # once
			undo(run.name)

	def test_runs_are_team_scoped(self):
		self.old_opportunity()
		abandon_silent_opportunities()
		(run,) = frappe.get_all("Pipeline Abandonment Run", {"team": self.team}, pluck="name")
		outsider = make_user()
		make_team(members=[outsider])
		frappe.set_user(outsider)
		self.addCleanup(frappe.set_user, "Administrator")
		self.assertEqual(frappe.get_list("Pipeline Abandonment Run", pluck="name"), [])
		with self.assertRaises(frappe.DoesNotExistError):
			frappe.get_doc("Pipeline Abandonment Run", run)
		frappe.set_user(self.seller)
		self.assertEqual(frappe.get_list("Pipeline Abandonment Run", pluck="name"), [run])

	def warned(self, doc):
		return frappe.db.get_value("Pipeline Opportunity", doc.name, "abandons_on")

	def warnings_to(self, user):
		return frappe.get_all(
			"Notification Log",
			{"for_user": user, "subject": ("like", "%will be abandoned%")},
			pluck="document_name",
		)

	def test_cards_within_the_warning_window_say_when_and_owners_are_told_once(self):
		soon = self.old_opportunity(days=12, opportunity_owner=self.seller)  # due in 2 days
		later = self.old_opportunity(days=10, opportunity_owner=self.seller)  # due in 4 days
		due = self.old_opportunity(days=20, opportunity_owner=self.seller)
		unassigned = self.old_opportunity(days=13)  # due tomorrow
		self.assertEqual(abandon_silent_opportunities(), 1)
		self.assertEqual(self.status(due), "Abandoned")
		self.assertIsNone(self.warned(due))
		self.assertIsNone(self.warned(later))
		# the night of the run that abandons it: more than 14 days after it was last heard from
		created = frappe.db.get_value("Pipeline Opportunity", soon.name, "creation")
		self.assertEqual(self.warned(soon), getdate(add_days(created, 15)))
		self.assertEqual(self.warned(soon), add_days(getdate(), 3))
		self.assertEqual(self.warned(unassigned), add_days(getdate(), 2))
		self.assertEqual(self.warnings_to(self.seller), [soon.name])
		self.assertIn(
			formatdate(self.warned(soon)),
			frappe.db.get_value(
				"Notification Log",
				{"for_user": self.seller, "document_name": soon.name, "subject": ("like", "%will%")},
				"subject",
			),
		)
		# the card carries it, for the board's chip
		frappe.set_user(self.seller)
		board = get_board(self.team)
		cards = {card["name"]: card for column in board["columns"] for card in column["cards"]}
		self.assertEqual(getdate(cards[soon.name]["abandons_on"]), self.warned(soon))
		self.assertIsNone(cards[later.name]["abandons_on"])
		frappe.set_user("Administrator")
		# a day and a half later: the unassigned one's night is past; the first is still in the window
		# and not told again; the later one enters it and is told
		with self.freeze_time(add_to_date(now_datetime(), hours=36)):
			self.assertEqual(abandon_silent_opportunities(), 1)
		self.assertEqual(self.status(unassigned), "Abandoned")
		self.assertEqual(self.status(soon), "Open")
		self.assertEqual(self.warned(soon), add_days(getdate(), 3))
		self.assertEqual(self.warned(later), add_days(getdate(), 5))
		self.assertEqual(sorted(self.warnings_to(self.seller)), sorted([soon.name, later.name]))

	def test_a_reply_a_booking_or_a_move_ends_the_warning(self):
		contact = make_contact(email=f"{frappe.generate_hash(length=8)}@example.test")
		replied = self.old_opportunity(days=12, contact=contact, opportunity_owner=self.seller)
		booked = self.old_opportunity(days=12)
		moved = self.old_opportunity(days=12)
		stays = self.old_opportunity(days=12)
		abandon_silent_opportunities()
		self.assertTrue(all(self.warned(doc) for doc in (replied, booked, moved, stays)))
		record_message(
			frappe.db.get_value("Contact", contact, "email_id"),
			"Inbound",
			"Still interested!",
			opportunity=replied.name,
		)
		frappe.get_doc(
			{
				"doctype": "Pipeline Appointment",
				"opportunity": booked.name,
				"starts_at": add_days(now_datetime(), 5),
			}
		).insert()
		doc = frappe.get_doc("Pipeline Opportunity", moved.name)
		doc.stage = stage_named(self.team, "Intake")
		doc.save()
		# a client cannot set or clear it
		doc = frappe.get_doc("Pipeline Opportunity", stays.name)
		doc.abandons_on = None
		doc.save()
		self.assertIsNone(self.warned(replied))
		self.assertIsNone(self.warned(booked))
		self.assertIsNone(self.warned(moved))
		self.assertEqual(self.warned(stays), add_days(getdate(), 3))
		frappe.db.commit()
		# the next run agrees: only the one nobody touched is still warned
		abandon_silent_opportunities()
		for doc in (replied, booked, moved):
			self.assertIsNone(self.warned(doc), doc.name)
		self.assertTrue(self.warned(stays))

	def test_one_already_due_is_warned_for_tonight_not_for_a_past_day(self):
		from pipeline_app.automation.abandonment import warn_team

		overdue = self.old_opportunity(days=40)  # the warning step alone, before any run
		warn_team(self.team, 14, 3)
		self.assertEqual(self.warned(overdue), add_days(getdate(), 1))

	def test_warnings_end_with_the_window_or_the_abandonment(self):
		doc = self.old_opportunity(days=12)
		abandon_silent_opportunities()
		self.assertTrue(self.warned(doc))
		frappe.db.set_value("Pipeline Team", self.team, "abandonment_warning_days", 0)
		abandon_silent_opportunities()
		self.assertIsNone(self.warned(doc))
		frappe.db.set_value("Pipeline Team", self.team, "abandonment_warning_days", 7)
		abandon_silent_opportunities()
		self.assertTrue(self.warned(doc))
		with change_settings("Pipeline Settings", abandonment_enabled=0):
			abandon_silent_opportunities()
		self.assertIsNone(self.warned(doc))
		abandon_silent_opportunities()
		frappe.db.set_value("Pipeline Team", self.team, "abandon_after_days", 0)
		abandon_silent_opportunities()
		self.assertIsNone(self.warned(doc))

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

	def test_a_run_holding_the_lock_on_another_connection_keeps_this_one_out(self):
		"""Another connection to the site's database, as a worker on another host has: a file lock on
		this host would not see it."""
		doc = self.old_opportunity()
		frappe.db.commit()
		other_host = other_connection()
		try:
			self.assertEqual(other_host.sql("select get_lock(%s, 0)", abandonment_lock_name())[0][0], 1)
			self.assertEqual(abandon_silent_opportunities(), 0)
			self.assertEqual(self.status(doc), "Open")
		finally:
			other_host.sql("select release_lock(%s)", abandonment_lock_name())
			other_host.close()
		self.assertEqual(abandon_silent_opportunities(), 1)  # released: the next run does the work
		self.assertEqual(self.status(doc), "Abandoned")

	def test_two_workers_at_once_do_the_work_once(self):
		"""Two worker processes (separate process groups, own connections) start the job together: one
		abandons everything, the other finds the lock taken and does nothing, while the first still runs."""
		names = self.bulk_old_opportunities("TWICE", 600)
		command = [
			"bench",
			"--site",
			frappe.local.site,
			"execute",
			"pipeline_app.automation.abandonment.abandon_silent_opportunities",
			"--kwargs",
			"{'batch_size': 2}",
		]
		workers = [
			subprocess.Popen(
				command,
				cwd="..",
				stdout=subprocess.PIPE,
				stderr=subprocess.DEVNULL,
				text=True,
				start_new_session=True,
			)
			for _ in range(2)
		]
		try:
			deadline = time.monotonic() + 180
			while all(worker.poll() is None for worker in workers) and time.monotonic() < deadline:
				time.sleep(0.05)
			first = next(worker for worker in workers if worker.poll() is not None)
			frappe.db.rollback()
			abandoned_meanwhile = frappe.db.count(
				"Pipeline Opportunity", {"team": self.team, "status": "Abandoned"}
			)
			results = {worker: int(worker.communicate(timeout=180)[0].strip() or 0) for worker in workers}
		finally:
			for worker in workers:
				if worker.poll() is None:
					os.killpg(worker.pid, signal.SIGKILL)
		self.assertEqual(results[first], 0)  # the one that finished first skipped the work...
		self.assertLess(abandoned_meanwhile, len(names))  # ...while the other was still doing it
		self.assertEqual(sorted(results.values()), [0, len(names)])
		frappe.db.rollback()
		self.assertEqual(frappe.db.count("Pipeline Opportunity", {"team": self.team, "status": "Open"}), 0)
		changes = frappe.db.count("Pipeline Stage Change", {"team": self.team, "to_value": "Abandoned"})
		self.assertEqual(changes, len(names))

	def test_a_notification_that_fails_is_logged_and_the_others_go_out(self):
		bad = self.old_opportunity()
		good = self.old_opportunity(opportunity_owner=self.seller)
		# an owner whose user is gone (written underneath): no notification can be made for them
		frappe.db.set_value("Pipeline Opportunity", bad.name, "opportunity_owner", "gone@pipeline.test")
		# a rolled back test gives its opportunity's name back to the naming series: older logs may name it
		frappe.db.delete(
			"Error Log", {"reference_doctype": "Pipeline Opportunity", "reference_name": bad.name}
		)
		self.assertEqual(abandon_silent_opportunities(), 2)
		frappe.db.rollback()
		self.assertEqual((self.status(bad), self.status(good)), ("Abandoned", "Abandoned"))
		self.assertTrue(
			frappe.db.exists("Notification Log", {"for_user": self.seller, "document_name": good.name})
		)
		self.assertEqual(
			frappe.db.count(
				"Error Log", {"reference_doctype": "Pipeline Opportunity", "reference_name": bad.name}
			),
			1,
		)

	def test_a_batch_that_fails_is_done_again_row_by_row_and_the_bad_row_skipped(self):
		"""A real database error on one row's history insert (a trigger refuses it) fails the bulk
		batch: the batch is undone, its other rows are abandoned one by one, the bad one is logged."""
		names = self.bulk_old_opportunities("BATCH", 5)
		bad = names[2]
		trigger = "pipeline_test_refuse_" + frappe.generate_hash(length=8)
		frappe.db.sql("set session lock_wait_timeout = 20")
		frappe.db.sql(
			f"""create trigger `{trigger}` before insert on `tabPipeline Stage Change` for each row
			if new.opportunity = %s then signal sqlstate '45000' set message_text = 'refused by test'; end if""",
			bad,
		)
		try:
			self.assertEqual(abandon_silent_opportunities(batch_size=10), len(names) - 1)
		finally:
			frappe.db.sql(f"drop trigger if exists `{trigger}`")
		frappe.db.rollback()
		statuses = dict(
			frappe.get_all("Pipeline Opportunity", {"name": ("in", names)}, ["name", "status"], as_list=True)
		)
		self.assertEqual(statuses.pop(bad), "Open")
		self.assertEqual(set(statuses.values()), {"Abandoned"})
		self.assertEqual(frappe.db.count("Pipeline Stage Change", {"opportunity": bad}), 0)
		self.assertEqual(frappe.db.count("Comment", {"reference_name": bad, "comment_type": "Info"}), 0)
		self.assertEqual(
			frappe.db.count(
				"Error Log", {"reference_doctype": "Pipeline Opportunity", "reference_name": bad}
			),
			1,
		)

	def bulk_old_opportunities(self, prefix, count):
		stage = stage_named(self.team, "Opt In")
		created = add_days(now_datetime(), -30)
		names = [f"{prefix}-{frappe.generate_hash(length=8)}-{i:04d}" for i in range(count)]
		frappe.db.bulk_insert(
			"Pipeline Opportunity",
			["name", "title", "team", "stage", "status", "creation", "modified", "owner", "modified_by"],
			[
				(n, n, self.team, stage, "Open", created, created, "Administrator", "Administrator")
				for n in names
			],
		)
		frappe.db.commit()
		rebuild_column_counts([self.team])  # rows inserted around the app: counted once
		return names

	def test_run_killed_midway_is_finished_by_the_next(self):
		"""A real SIGKILL of a run in another process, after some batches were committed."""
		names = self.bulk_old_opportunities("KILL", 1500)
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
		# MariaDB frees the killed run's lock once it has rolled back its connection's transaction
		while (
			time.monotonic() < deadline
			and not frappe.db.sql("select is_free_lock(%s)", abandonment_lock_name())[0][0]
		):
			time.sleep(0.05)
		frappe.db.rollback()
		abandoned = frappe.db.count("Pipeline Opportunity", {"team": self.team, "status": "Abandoned"})
		self.assertTrue(20 <= abandoned < len(names), abandoned)

		self.assertEqual(abandon_silent_opportunities(), len(names) - abandoned)
		self.assertEqual(frappe.db.count("Pipeline Opportunity", {"team": self.team, "status": "Open"}), 0)
		changes = frappe.db.count("Pipeline Stage Change", {"team": self.team, "to_value": "Abandoned"})
		self.assertEqual(changes, len(names))
		# the board's column totals followed, the killed batch's rows rolled back with it
		self.assertEqual(kept(self.team), counted(self.team))
