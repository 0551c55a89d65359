"""What installing the app leaves on a site, that re-running the install keeps administrators' edits,
and a full install / uninstall round trip on a fresh site through the bench CLI."""

import json
import os
import subprocess
from pathlib import Path

import frappe
from frappe.tests.utils import FrappeTestCase

import pipeline_app
from pipeline_app.install import DEFAULT_LOST_REASONS, ROLES, WORKFLOW_NAME, after_install

PIPELINE_DOCTYPES = (
	"Pipeline Opportunity",
	"Pipeline Team",
	"Pipeline Team Member",
	"Funnel Stage",
	"Pipeline Appointment",
	"Pipeline Lost Reason",
	"Pipeline Settings",
	"Pipeline Stage Change",
	"Pipeline Abandonment Run",
)


class TestInstall(FrappeTestCase):
	def test_install_creates_roles_workflow_reasons_and_contact_access(self):
		for role in ROLES:
			self.assertTrue(frappe.db.exists("Role", role))
		workflow = frappe.get_doc("Workflow", WORKFLOW_NAME)
		self.assertEqual((workflow.document_type, workflow.is_active), ("Pipeline Opportunity", 1))
		self.assertEqual(frappe.db.count("Pipeline Lost Reason"), len(DEFAULT_LOST_REASONS) + 1)
		perm = frappe.db.get_value(
			"Custom DocPerm",
			{"parent": "Contact", "role": "Pipeline User"},
			["read", "write", "create"],
			as_dict=True,
		)
		self.assertEqual((perm.read, perm.write, perm.create), (1, 1, 1))
		self.assertTrue(frappe.db.exists("Workspace", "Pipeline"))
		for doctype in PIPELINE_DOCTYPES:
			self.assertEqual(frappe.db.get_value("DocType", doctype, "module"), "Pipeline App", doctype)

	def test_reinstalling_keeps_administrator_edits(self):
		workflow = frappe.get_doc("Workflow", WORKFLOW_NAME)
		workflow.transitions = [t for t in workflow.transitions if t.action != "Abandon"]
		workflow.save()
		frappe.db.set_value("Pipeline Lost Reason", "Price", "description", "Edited by admin")
		after_install()
		self.assertFalse(
			[t for t in frappe.get_doc("Workflow", WORKFLOW_NAME).transitions if t.action == "Abandon"]
		)
		self.assertEqual(frappe.db.count("Workflow", {"document_type": "Pipeline Opportunity"}), 1)
		self.assertEqual(
			frappe.db.get_value("Pipeline Lost Reason", "Price", "description"), "Edited by admin"
		)
		self.assertEqual(frappe.db.count("Custom DocPerm", {"parent": "Contact", "role": "Pipeline User"}), 1)

	def test_patch_is_registered(self):
		patches = frappe.get_file_items(frappe.get_app_path("pipeline_app", "patches.txt"))
		self.assertIn("pipeline_app.patches.v0_1.ensure_install_defaults", patches)
		self.assertTrue(
			frappe.db.exists("Patch Log", {"patch": "pipeline_app.patches.v0_1.ensure_install_defaults"})
		)


class TestFreshSiteRoundTrip(FrappeTestCase):
	"""bench new-site --install-app pipeline_app, then uninstall-app: everything the app made goes."""

	SITE = "pipeline-scratch.localhost"

	def bench(self, *args, check=True):
		return subprocess.run(
			["bench", *args], cwd="..", capture_output=True, text=True, check=check, timeout=600
		)

	def site_value(self, expression: str):
		result = subprocess.run(
			[
				"../env/bin/python",
				"-c",
				(
					"import frappe, json;"
					f"frappe.init(site='{self.SITE}', sites_path='.');frappe.connect();"
					f"print('@@' + json.dumps({expression}, default=str))"
				),
			],
			capture_output=True,
			text=True,
			check=True,
			timeout=120,
		)
		return json.loads(result.stdout.rsplit("@@", 1)[1])

	def test_install_and_uninstall_on_a_fresh_site(self):
		password = os.environ.get("DB_ROOT_PASSWORD", "pipeline-root")
		self.bench(
			"drop-site", self.SITE, "--force", "--no-backup", "--db-root-password", password, check=False
		)
		try:
			self.bench(
				"new-site",
				self.SITE,
				"--force",
				"--db-root-password",
				password,
				"--admin-password",
				"admin",
				"--install-app",
				"pipeline_app",
			)
			self.bench("--site", self.SITE, "disable-scheduler")  # no jobs racing the uninstall below
			installed = self.site_value(
				"[frappe.get_installed_apps(), frappe.db.table_exists('Pipeline Opportunity'),"
				" bool(frappe.db.exists('Workflow', 'Pipeline Opportunity Outcome')), frappe.db.count('Pipeline Lost Reason'),"
				" [frappe.db.count(d, {'module': 'Pipeline App'}) for d in ('Report', 'Number Card', 'Dashboard Chart')]]"
			)
			# every report, number card and chart the module ships (one folder each)
			module = Path(pipeline_app.__file__).parent / "pipeline_app"
			shipped = [
				len([d for d in (module / folder).iterdir() if (d / f"{d.name}.json").exists()])
				for folder in ("report", "number_card", "dashboard_chart")
			]
			self.assertEqual(shipped, [5, 4, 3])
			self.assertEqual(
				installed, [["frappe", "pipeline_app"], True, True, len(DEFAULT_LOST_REASONS) + 1, shipped]
			)

			self.bench("--site", self.SITE, "uninstall-app", "pipeline_app", "--yes", "--no-backup")
			left = self.site_value(
				"[frappe.get_installed_apps(), frappe.db.table_exists('Pipeline Opportunity'),"
				" frappe.db.count('Workflow', {'document_type': 'Pipeline Opportunity'}),"
				" frappe.db.count('Role', {'name': ('in', ['Pipeline User', 'Pipeline Manager'])}),"
				" frappe.db.count('Custom DocPerm', {'role': 'Pipeline User'}),"
				" frappe.db.count('DocType', {'module': 'Pipeline App'}), bool(frappe.db.exists('Workspace', 'Pipeline')),"
				" frappe.db.count('Custom DocPerm', {'parent': 'Contact'}),"
				" frappe.db.count('Singles', {'doctype': 'Pipeline Settings'}),"
				" frappe.db.count('Workflow State', {'name': ('in', ['Won', 'Lost', 'On Hold', 'Abandoned'])}),"
				" frappe.db.count('Workflow Action Master', {'name': ('in', ['Win', 'Mark Lost', 'Reopen'])}),"
				" sum(frappe.db.count(d, {'module': 'Pipeline App'}) for d in ('Report', 'Number Card', 'Dashboard Chart'))]"
			)
			# nothing of the app is left, and Contact is back on its standard permissions
			self.assertEqual(left, [["frappe"], False, 0, 0, 0, 0, False, 0, 0, 0, 0, 0])
		finally:
			from pipeline_app.tests.scratch import forget_site_jobs

			self.bench(
				"drop-site", self.SITE, "--force", "--no-backup", "--db-root-password", password, check=False
			)
			forget_site_jobs(self.SITE)


class TestForgetSiteJobs(FrappeTestCase):
	"""Jobs of a dropped scratch site leave the job queue, other sites' jobs stay."""

	def test_only_the_dropped_sites_jobs_go(self):
		from frappe.utils.background_jobs import get_redis_conn

		from pipeline_app.tests.scratch import forget_site_jobs

		conn = get_redis_conn()
		gone, kept = "dropped-scratch.localhost::job-1", f"{frappe.local.site}::job-2"
		keys = ("rq:wip:pipeline-test", "rq:queue:pipeline-test", f"rq:job:{gone}", f"rq:job:{kept}")
		try:
			conn.zadd(keys[0], {gone: 1, kept: 2})
			conn.rpush(keys[1], gone, kept)
			conn.hset(keys[2], "status", "started")
			conn.hset(keys[3], "status", "started")
			forget_site_jobs("dropped-scratch.localhost")
			self.assertEqual(conn.zrange(keys[0], 0, -1), [kept.encode()])
			self.assertEqual(conn.lrange(keys[1], 0, -1), [kept.encode()])
			self.assertEqual((conn.exists(keys[2]), conn.exists(keys[3])), (0, 1))
		finally:
			conn.delete(*keys)

	def test_before_the_worker_starts_the_jobs_of_sites_not_in_the_bench_go(self):
		from frappe.utils.background_jobs import get_redis_conn

		from pipeline_app.tests.scratch import forget_jobs_of_missing_sites

		conn = get_redis_conn()
		gone, kept = "never-made-scratch.localhost::job-1", f"{frappe.local.site}::job-2"
		keys = ("rq:wip:pipeline-test-missing", f"rq:job:{gone}", f"rq:job:{kept}")
		try:
			conn.zadd(keys[0], {gone: 1, kept: 2})
			conn.hset(keys[1], "status", "started")
			conn.hset(keys[2], "status", "started")
			sites_dir = os.path.dirname(os.path.abspath(frappe.get_site_path()))
			self.assertIn("never-made-scratch.localhost", forget_jobs_of_missing_sites(sites_dir))
			self.assertEqual(conn.zrange(keys[0], 0, -1), [kept.encode()])
			self.assertEqual((conn.exists(keys[1]), conn.exists(keys[2])), (0, 1))
		finally:
			conn.delete(*keys)
