"""Simultaneous board moves on a real multi-worker server (gunicorn, four workers, as in production):
two sellers moving the same card at the same instant end in one success and one 409 conflict, moves
of different cards both succeed, and nothing answers 5xx (no deadlock), on cards bulk-inserted as the
demo does and never saved through the document API."""

import os
import random
import signal
import subprocess
import time

import frappe
import pytest
import requests
from frappe.tests.utils import FrappeTestCase

from pipeline_app.concurrency import run_move_trials
from pipeline_app.demo import _bulk_opportunities
from pipeline_app.funnel import get_team_stages
from pipeline_app.pipeline_app.doctype.pipeline_column_count.test_pipeline_column_count import counted, kept
from pipeline_app.tests.factories import make_contact, make_team, make_user, purge_team
from pipeline_app.tests.http_client import api_credentials

pytestmark = pytest.mark.http

PORT = int(os.environ.get("PIPELINE_CONCURRENCY_PORT", "8011"))
TRIALS = int(os.environ.get("PIPELINE_CONCURRENCY_TRIALS", "120"))


def start_gunicorn(workers: int = 4) -> subprocess.Popen:
	"""gunicorn on the bench's sites directory (the test's working directory), as production serves."""
	process = subprocess.Popen(
		[
			"../env/bin/gunicorn",
			"-b",
			f"127.0.0.1:{PORT}",
			"-w",
			str(workers),
			"-t",
			"120",
			"--preload",
			"frappe.app:application",
		],
		stdout=subprocess.DEVNULL,
		stderr=subprocess.DEVNULL,
		start_new_session=True,
	)
	for _ in range(120):
		try:
			if requests.get(
				f"http://127.0.0.1:{PORT}/api/method/ping",
				timeout=2,
				headers={"X-Frappe-Site-Name": frappe.local.site},
			).ok:
				return process
		except requests.ConnectionError:
			pass
		time.sleep(0.5)
	os.killpg(process.pid, signal.SIGTERM)
	raise AssertionError("gunicorn did not start")


class TestConcurrentMoves(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.sellers = (make_user(), make_user())
		cls.team = make_team(members=list(cls.sellers)).name
		stages = get_team_stages(cls.team)
		team = {
			"name": cls.team,
			"stages": [stage for stage in stages if stage.stage_type == "Open"],
			"members": list(cls.sellers),
			"amounts": 0,
			"currency": None,
		}
		contacts = [make_contact(email=f"{frappe.generate_hash(length=8)}@moves.test") for _ in range(5)]
		_bulk_opportunities(random.Random(3), [team], contacts, [], 40)
		frappe.db.commit()
		cls.open_stages = [stage.name for stage in team["stages"]]
		cls.authorizations = tuple(api_credentials(user) for user in cls.sellers)
		cls.server = start_gunicorn()

	@classmethod
	def tearDownClass(cls):
		os.killpg(cls.server.pid, signal.SIGTERM)
		cls.server.wait(timeout=30)
		purge_team(cls.team)
		frappe.db.commit()
		super().tearDownClass()

	def test_simultaneous_moves_end_in_success_or_conflict_never_5xx(self):
		cards = [
			{"name": row.name, "stage": row.stage, "modified": str(row.modified)}
			for row in frappe.get_all(
				"Pipeline Opportunity", {"team": self.team}, ["name", "stage", "modified"]
			)
		]
		self.assertEqual(len(cards), 40)
		result = run_move_trials(
			f"http://127.0.0.1:{PORT}",
			frappe.local.site,
			self.authorizations,
			cards,
			self.open_stages,
			TRIALS,
		)
		print(
			f"{TRIALS} move pairs: {result['statuses']}, p50 {result['p50']:.3f} s, p95 {result['p95']:.3f} s"
		)
		self.assertEqual(result["errors"], [])
		self.assertEqual(result["bad_pairs"], [])
		self.assertEqual(sum(result["statuses"].values()), 2 * TRIALS)
		frappe.db.rollback()
		stored = {
			row.name: row.stage
			for row in frappe.get_all("Pipeline Opportunity", {"team": self.team}, ["name", "stage"])
		}
		self.assertEqual(stored, {card["name"]: card["stage"] for card in cards})
		# the board's column totals followed every move exactly
		self.assertEqual(kept(self.team), counted(self.team))
