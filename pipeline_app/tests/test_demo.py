"""The demo tells the truth: its site's country, time zone and currency agree with its teams, the
team whose funnel is about appointments publishes a valid booking page, and its history reads as a
year of work."""

import random
from unittest.mock import patch

import frappe
from frappe.geo.country_info import get_country_info
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, getdate, now_datetime, random_string

from pipeline_app.automation.abandonment import abandon_team
from pipeline_app.demo import (
	DEMO_BOOKING,
	DEMO_LOCALE,
	DEMO_TEAMS,
	HISTORY_DAYS,
	_bulk_opportunities,
	_opportunities_by_api,
	set_site_locale,
)
from pipeline_app.funnel import get_team_stages
from pipeline_app.tests.factories import make_contact, make_opportunity, make_team, make_user, purge_team


class TestDemoTruth(FrappeTestCase):
	def test_the_sites_country_time_zone_and_currency_agree_with_the_teams(self):
		country = get_country_info(DEMO_LOCALE["country"])
		self.assertEqual(country["currency"], DEMO_LOCALE["currency"])
		self.assertIn(DEMO_LOCALE["time_zone"], country["timezones"])
		currencies = {currency for *_team, currency, _days in DEMO_TEAMS if currency}
		self.assertEqual(currencies, {DEMO_LOCALE["currency"]})

	def test_the_demo_puts_the_site_in_the_teams_country_time_zone_and_currency(self):
		"""make_demo's set_site_locale writes them to System Settings and the global default currency.
		The site is the whole suite's: the previous values go back, committed, through the same save
		(which clears the settings' caches)."""
		if "erpnext" in frappe.get_installed_apps():
			self.skipTest("on a site with ERPNext its setup wizard decides the locale")
		before = frappe.db.get_value("System Settings", None, list(DEMO_LOCALE), as_dict=True)
		default_currency = frappe.db.get_default("currency")
		try:
			set_site_locale()
			self.assertEqual(
				frappe.db.get_value("System Settings", None, list(DEMO_LOCALE), as_dict=True), DEMO_LOCALE
			)
			self.assertEqual({field: frappe.get_system_settings(field) for field in DEMO_LOCALE}, DEMO_LOCALE)
			self.assertEqual(frappe.db.get_default("currency"), DEMO_LOCALE["currency"])
		finally:
			settings = frappe.get_single("System Settings")
			settings.update(before)
			settings.flags.ignore_mandatory = True
			settings.save(ignore_permissions=True)
			frappe.db.set_default("currency", default_currency)
			frappe.db.commit()
		self.assertEqual(
			frappe.db.get_value("System Settings", None, list(DEMO_LOCALE), as_dict=True), before
		)
		self.assertEqual(frappe.db.get_default("currency"), default_currency)

	def test_the_demo_booking_page_is_a_valid_one(self):
		host = make_user()
		team = make_team(f"Demo booking {random_string(5)}", members=[host], template="Appointment funnel")
		self.addCleanup(purge_team, team.name)
		team = frappe.get_doc("Pipeline Team", team.name)
		team.update({**DEMO_BOOKING, "booking_route": f"demo-{random_string(6).lower()}"})
		team.members[0].booking_host = 1
		team.save(ignore_permissions=True)  # validate_booking_settings accepts it
		self.assertEqual(len(team.booking_hours), 5)


class TestDemoHistory(FrappeTestCase):
	"""The demo's won / lost / abandoned history is spread over the past year, each closed after it came
	in and never in the future; what is open came in recently, none silent past its team's abandonment
	(the nightly job would close it the first night); the document API's rows tell the same dates."""

	def setUp(self):  # each test's work goes with its rollback (conftest)
		seller = make_user()
		self.team = make_team(members=[seller], abandon_after_days=30).name
		team = {
			"name": self.team,
			"stages": get_team_stages(self.team),
			"members": [seller],
			"amounts": 1,
			"currency": "EUR",
			"abandon_days": 30,
		}
		contacts = [make_contact() for _ in range(5)]
		reasons = frappe.get_all("Pipeline Lost Reason", pluck="name", limit=3)
		# as the demo runs: no mail; versions written (Frappe skips them in tests); no commit per batch
		with (
			patch.dict(frappe.flags, {"mute_emails": True, "in_test": False}),
			patch.object(frappe.db, "commit"),
		):
			_opportunities_by_api(random.Random(3), [team], contacts, reasons, 40)
			_bulk_opportunities(random.Random(4), [team], contacts, reasons, 400)

	def opportunities(self):
		return frappe.get_all(
			"Pipeline Opportunity",
			filters={"team": self.team},
			fields=["name", "status", "creation", "modified", "closed_on", "expected_close_date"],
		)

	def test_closed_ones_spread_over_the_year_and_closed_after_they_came_in(self):
		now = now_datetime()
		closed = [row for row in self.opportunities() if row.status in ("Won", "Lost", "Abandoned")]
		self.assertGreater(len(closed), 60)
		for row in closed:
			self.assertLess(row.creation, row.closed_on, row.name)
			self.assertLessEqual(row.closed_on, now, row.name)
			self.assertGreaterEqual(row.creation, add_days(now, -HISTORY_DAYS - 1), row.name)
			self.assertEqual(getdate(row.expected_close_date), getdate(row.closed_on), row.name)
		months = {(row.closed_on.year, row.closed_on.month) for row in closed}
		self.assertGreaterEqual(len(months), 11)  # a believable year, not one week
		self.assertGreater((max(r.creation for r in closed) - min(r.creation for r in closed)).days, 250)

	def test_open_ones_came_in_within_their_teams_abandonment(self):
		now = now_datetime()
		open_ones = [row for row in self.opportunities() if row.status == "Open"]
		self.assertGreater(len(open_ones), 100)
		for row in open_ones:
			self.assertIsNone(row.closed_on)
			self.assertLess((now - row.creation).days, 30, row.name)
		with patch.object(frappe.db, "commit"):
			self.assertEqual(abandon_team(self.team, 30), 0)  # the first night abandons none

	def test_the_history_rows_tell_the_same_dates(self):
		rows = self.opportunities()
		self.assertEqual(len(rows), 440)
		self.assertGreater(
			frappe.db.count(
				"Version", {"ref_doctype": "Pipeline Opportunity", "docname": ("in", [r.name for r in rows])}
			),
			20,
		)
		for row in rows:
			changes = frappe.get_all(
				"Pipeline Stage Change",
				filters={"opportunity": row.name},
				fields=["change_type", "to_value", "changed_on", "left_on"],
				order_by="changed_on asc",
			)
			self.assertTrue(changes, row.name)
			self.assertEqual(changes[0].changed_on, row.creation, row.name)
			last = row.closed_on or now_datetime()
			for change in changes:
				self.assertLessEqual(change.changed_on, last, row.name)
				if change.left_on:
					self.assertGreaterEqual(change.left_on, change.changed_on, row.name)
					self.assertLessEqual(change.left_on, last, row.name)
			if row.closed_on:
				status = [c for c in changes if c.change_type == "Status"][-1]
				self.assertEqual((status.to_value, status.changed_on), (row.status, row.closed_on), row.name)
			versions = frappe.get_all(
				"Version",
				filters={"ref_doctype": "Pipeline Opportunity", "docname": row.name},
				pluck="creation",
			)
			for created in versions:  # the document API's edits happened in the demo's time too
				self.assertGreaterEqual(created, row.creation, row.name)
				self.assertLessEqual(created, last, row.name)


class TestBulkAssignments(FrappeTestCase):
	"""The bulk-inserted opportunities carry the rows the document API leaves of the owner's
	assignment: the same ToDo, `_assign`, timeline comments and notifications, open and closed."""

	IGNORED = frozenset(("name", "creation", "modified", "reference_name", "document_name", "_seen"))

	def setUp(self):
		self.seller = make_user()
		self.team = make_team(members=[self.seller]).name

	def twin(self, name: str) -> str:
		"""A bulk-inserted copy of opportunity `name` (its row under a new name), as the demo writes it."""
		from pipeline_app.demo import OPPORTUNITY_COLUMNS, _next_names, record_assignments

		row = list(frappe.db.get_value("Pipeline Opportunity", name, OPPORTUNITY_COLUMNS))
		row[0] = _next_names("OPP-", 1)[0]
		frappe.db.bulk_insert("Pipeline Opportunity", OPPORTUNITY_COLUMNS, [row])
		record_assignments([row])
		return row[0]

	def left_by(self, name: str) -> dict:
		found = {"_assign": frappe.db.get_value("Pipeline Opportunity", name, "_assign")}
		for doctype, link in (
			("ToDo", "reference_name"),
			("Comment", "reference_name"),
			("Notification Log", "document_name"),
		):
			rows = frappe.get_all(doctype, filters={link: name}, fields=["*"], order_by="creation asc")
			found[doctype] = [
				{field: value for field, value in row.items() if field not in self.IGNORED} for row in rows
			]
		return found

	def test_open_and_closed_ones_leave_what_the_document_api_does(self):
		for status in ("Open", "Lost"):
			with self.subTest(status):
				doc = make_opportunity(
					self.team,
					title="Fence <b>repair</b> & paint",
					opportunity_owner=self.seller,
					follow_up_on=add_days(now_datetime(), 3),
				)
				if status == "Lost":
					doc.status = "Lost"
					doc.lost_reason = frappe.get_all("Pipeline Lost Reason", pluck="name", limit=1)[0]
					doc.save()
				by_api = self.left_by(doc.name)
				self.assertEqual(len(by_api["ToDo"]), 1)
				self.assertEqual(len(by_api["Notification Log"]), 1 if status == "Open" else 2)
				self.assertEqual(self.left_by(self.twin(doc.name)), by_api)
