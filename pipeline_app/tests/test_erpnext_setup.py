"""ERPNext detected, never required: the fields each app gets on the other's doctypes are there while
both apps are installed, whichever came first, and go (columns included) when either is uninstalled.
Runs on the ERPNext site only (marker `erpnext`)."""

import json
import os
import subprocess

import frappe
import pytest
from frappe.tests.utils import FrappeTestCase

from pipeline_app.erpnext import LINKED_DOCTYPES, OPPORTUNITY_LINK_FIELD
from pipeline_app.erpnext.setup import create_erpnext_fields, remove_erpnext_fields
from pipeline_app.tests.scratch import forget_site_jobs, wait_for_site_jobs

pytestmark = pytest.mark.erpnext

OPPORTUNITY_FIELDS = {
	"customer": "Customer",
	"prospect": "Prospect",
	"lead": "Lead",
	"erpnext_opportunity": "Opportunity",
	"company": "Company",
}
TEAM_FIELDS = {"selling_price_list": "Price List"}


def erpnext_fields_state() -> dict:
	frappe.clear_cache()
	opportunity = frappe.get_meta("Pipeline Opportunity")
	return {
		"opportunity": {
			name: (opportunity.get_field(name) or frappe._dict()).get("options")
			for name in OPPORTUNITY_FIELDS
		},
		"team": {
			name: (frappe.get_meta("Pipeline Team").get_field(name) or frappe._dict()).get("options")
			for name in TEAM_FIELDS
		},
		"columns": [frappe.db.has_column("Pipeline Opportunity", name) for name in OPPORTUNITY_FIELDS]
		+ [frappe.db.has_column("Pipeline Team", name) for name in TEAM_FIELDS]
		+ [frappe.db.has_column(doctype, OPPORTUNITY_LINK_FIELD) for doctype in LINKED_DOCTYPES],
		"linked": {
			doctype: (frappe.get_meta(doctype).get_field(OPPORTUNITY_LINK_FIELD) or frappe._dict()).get(
				"options"
			)
			for doctype in LINKED_DOCTYPES
		},
		"item": (
			frappe.get_meta("Pipeline Opportunity Item").get_field("item").fieldtype,
			frappe.get_meta("Pipeline Opportunity Item").get_field("item").options,
		),
	}


COLUMNS = len(OPPORTUNITY_FIELDS) + len(TEAM_FIELDS) + len(LINKED_DOCTYPES)
PRESENT = {
	"opportunity": OPPORTUNITY_FIELDS,
	"team": TEAM_FIELDS,
	"columns": [True] * COLUMNS,
	"linked": dict.fromkeys(LINKED_DOCTYPES, "Pipeline Opportunity"),
	"item": ("Link", "Item"),
}
ABSENT = {
	"opportunity": dict.fromkeys(OPPORTUNITY_FIELDS),
	"team": dict.fromkeys(TEAM_FIELDS),
	"columns": [False] * COLUMNS,
	"linked": dict.fromkeys(LINKED_DOCTYPES),
	"item": ("Data", None),
}


class TestErpnextFields(FrappeTestCase):
	def test_erpnext_installed_first_then_the_app_has_the_fields(self):
		# scripts/test installs erpnext, then pipeline_app, on this site
		apps = frappe.get_installed_apps()
		self.assertLess(apps.index("erpnext"), apps.index("pipeline_app"))
		self.assertEqual(erpnext_fields_state(), PRESENT)

	def test_install_hooks_are_wired(self):
		self.assertIn("pipeline_app.erpnext.setup.after_app_install", frappe.get_hooks("after_app_install"))
		self.assertIn(
			"pipeline_app.erpnext.setup.before_app_uninstall", frappe.get_hooks("before_app_uninstall")
		)

	def test_fields_go_with_their_columns_and_come_back(self):
		"""What ERPNext's uninstall runs (before_app_uninstall('erpnext')), then a reinstall."""
		from pipeline_app.erpnext.setup import after_app_install, before_app_uninstall

		frappe.db.commit()
		try:
			before_app_uninstall("erpnext")
			frappe.db.commit()
			self.assertEqual(erpnext_fields_state(), ABSENT)
			self.assertFalse(frappe.db.exists("Custom Field", {"fieldname": OPPORTUNITY_LINK_FIELD}))
			self.assertFalse(frappe.db.exists("Property Setter", {"doc_type": "Pipeline Opportunity Item"}))
			after_app_install("erpnext")
			frappe.db.commit()
			self.assertEqual(erpnext_fields_state(), PRESENT)
		finally:
			create_erpnext_fields()
			frappe.db.commit()

	def test_creating_the_fields_twice_changes_nothing(self):
		create_erpnext_fields()
		create_erpnext_fields()
		self.assertEqual(frappe.db.count("Custom Field", {"fieldname": OPPORTUNITY_LINK_FIELD}), 3)
		self.assertEqual(erpnext_fields_state(), PRESENT)


def state_without_erpnext() -> dict:
	"""On a site ERPNext was uninstalled from (run there by the scratch-site test): what is left of
	the app's ERPNext fields, and an opportunity created (with an item line, then Won) and read back
	through the document API, a list and the board."""
	from pipeline_app.api import get_board

	frappe.set_user("Administrator")
	opportunity, team, item = (
		frappe.get_meta(doctype)
		for doctype in ("Pipeline Opportunity", "Pipeline Team", "Pipeline Opportunity Item")
	)
	app_doctypes = ["Pipeline Opportunity", "Pipeline Team", "Pipeline Opportunity Item"]
	team_doc = frappe.get_doc(
		{
			"doctype": "Pipeline Team",
			"team_name": "After ERPNext",
			"funnel_template": "Sales funnel",
			"deal_amount_enabled": 1,
		}
	).insert()
	doc = frappe.get_doc(
		{
			"doctype": "Pipeline Opportunity",
			"title": "Made without ERPNext",
			"team": team_doc.name,
			"items": [{"item": "Consulting", "qty": 2, "rate": 50}],
		}
	).insert()
	doc.status = "Won"
	doc.save()
	frappe.db.commit()
	board = get_board(team_doc.name)
	return {
		"apps": frappe.get_installed_apps(),
		"fields": [
			name
			for meta, names in ((opportunity, OPPORTUNITY_FIELDS), (team, TEAM_FIELDS))
			for name in names
			if meta.get_field(name)
		],
		"columns": [
			name
			for doctype, names in (
				("Pipeline Opportunity", OPPORTUNITY_FIELDS),
				("Pipeline Team", TEAM_FIELDS),
			)
			for name in names
			if frappe.db.has_column(doctype, name)
		],
		"item": (item.get_field("item").fieldtype, item.get_field("item").options),
		"custom_fields": frappe.db.count("Custom Field", {"dt": ("in", app_doctypes)}),
		"property_setters": frappe.db.count("Property Setter", {"doc_type": ("in", app_doctypes)}),
		"read": frappe.db.get_value("Pipeline Opportunity", doc.name, ["title", "status", "amount"]),
		"listed": frappe.get_list("Pipeline Opportunity", {"team": team_doc.name}, pluck="name"),
		"on_board": sorted(card["name"] for column in board["columns"] for card in column["cards"]),
		"name": doc.name,
	}


class ScratchSite(FrappeTestCase):
	"""A site of its own, made and dropped by the test (PIPELINE_SCRATCH_SITE names it)."""

	SITE = os.environ.get("PIPELINE_SCRATCH_SITE", "pipeline-erpnext-scratch.localhost")
	PASSWORD = os.environ.get("DB_ROOT_PASSWORD", "pipeline-root")

	def bench(self, *args, check=True):
		result = subprocess.run(["bench", *args], cwd="..", capture_output=True, text=True, timeout=1200)
		if check:
			self.assertEqual(
				result.returncode,
				0,
				f"bench {' '.join(args)}: {result.stdout[-1500:]}{result.stderr[-3000:]}",
			)
		return result

	def new_site(self, *apps):
		self.drop_site()
		installs = [arg for app in apps for arg in ("--install-app", app)]
		self.bench(
			"new-site",
			self.SITE,
			"--force",
			"--db-root-password",
			self.PASSWORD,
			"--admin-password",
			"admin",
			*installs,
		)
		# no scheduled jobs on a scratch site: a job running while the test uninstalls an app writes
		# the site's hooks back into the cache as they were (the CI failure: ERPNext's hooks outlived
		# its uninstall, "App erpnext is not installed"), and jobs outliving the site crash the worker
		self.bench("--site", self.SITE, "disable-scheduler")

	def drop_site(self):
		self.bench(
			"drop-site", self.SITE, "--force", "--no-backup", "--db-root-password", self.PASSWORD, check=False
		)
		forget_site_jobs(self.SITE)

	def site_value(self, expression: str):
		result = subprocess.run(
			[
				"../env/bin/python",
				"-c",
				(
					"import frappe, json;"
					f"frappe.init(site='{self.SITE}', sites_path='.');frappe.connect();"
					"from pipeline_app.tests.test_erpnext_setup import erpnext_fields_state, state_without_erpnext;"
					f"print('@@' + json.dumps({expression}, default=str))"
				),
			],
			capture_output=True,
			text=True,
			timeout=300,
		)
		self.assertEqual(result.returncode, 0, result.stderr[-3000:])
		return json.loads(result.stdout.rsplit("@@", 1)[1])


class TestAppFirstThenErpnext(ScratchSite):
	"""A scratch site: pipeline_app installed first, ERPNext second (after_app_install), then the app
	uninstalled (ERPNext's doctypes lose the app's field and column, ERPNext keeps working)."""

	def test_app_first_then_erpnext_then_app_uninstalled(self):
		try:
			self.new_site("pipeline_app", "erpnext")
			state = self.site_value("[frappe.get_installed_apps(), erpnext_fields_state()]")
			self.assertEqual(state[0], ["frappe", "pipeline_app", "erpnext"])
			self.assertEqual(state[1], json.loads(json.dumps(PRESENT)))

			self.bench("--site", self.SITE, "uninstall-app", "pipeline_app", "--yes", "--no-backup")
			left = self.site_value(
				"[frappe.get_installed_apps(),"
				" [frappe.db.has_column(d, 'pipeline_opportunity') for d in ('Quotation', 'Sales Order', 'Project')],"
				" frappe.db.count('Custom Field', {'fieldname': 'pipeline_opportunity'}),"
				" frappe.db.count('Custom Field', {'dt': 'Pipeline Opportunity'}),"
				" frappe.db.count('Property Setter', {'doc_type': 'Pipeline Opportunity Item'}),"
				" frappe.get_meta('Quotation').get_field('pipeline_opportunity') is None,"
				" len(frappe.get_all('Quotation', limit=1)) >= 0]"
			)
			self.assertEqual(left, [["frappe", "erpnext"], [False, False, False], 0, 0, 0, True, True])
		finally:
			self.drop_site()


class TestErpnextUninstalled(ScratchSite):
	"""A scratch site: ERPNext, then the app (the order scripts/test installs them in), then ERPNext
	uninstalled (`bench uninstall-app erpnext`): the app's ERPNext fields, their columns and the
	property setters go from Pipeline Opportunity, its item lines and Pipeline Team, and the app keeps
	working."""

	def test_erpnext_uninstalled_leaves_the_app_working(self):
		try:
			self.new_site("erpnext", "pipeline_app")
			self.assertEqual(self.site_value("erpnext_fields_state()"), json.loads(json.dumps(PRESENT)))

			result = self.bench("--site", self.SITE, "uninstall-app", "erpnext", "--yes", "--no-backup")
			self.assertIn("Uninstalled App erpnext", result.stdout)
			# the uninstall's own jobs (Frappe's delete_dynamic_links, one per deleted record) may
			# still be running in the worker and put ERPNext's hooks back into the site's cache
			# ("App erpnext is not installed"): once they are done, the cache is cleared, as the
			# README says to do after uninstalling ERPNext
			self.assertTrue(wait_for_site_jobs(self.SITE))
			self.bench("--site", self.SITE, "clear-cache")
			left = self.site_value("state_without_erpnext()")
			self.assertEqual(
				{
					key: left[key]
					for key in ("apps", "fields", "columns", "item", "custom_fields", "property_setters")
				},
				{
					"apps": ["frappe", "pipeline_app"],
					"fields": [],
					"columns": [],
					"item": ["Data", None],
					"custom_fields": 0,
					"property_setters": 0,
				},
			)
			self.assertEqual(left["read"], ["Made without ERPNext", "Won", 100])
			self.assertEqual((left["listed"], left["on_board"]), ([left["name"]], [left["name"]]))
		finally:
			self.drop_site()
