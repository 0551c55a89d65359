"""Board filters from the doctype (issue 14): the fields an administrator marks In Standard Filter on
Pipeline Opportunity, custom fields included, filter the board by fieldname (`{"region": "North"}`)
in get_board and get_stage_cards, count in the column totals, are listed in the board's answer, are
checked against their field type, and a field the user may not read (higher permission level) never
narrows their board. In process and over HTTP."""

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import random_string

from pipeline_app import api
from pipeline_app.tests.factories import make_opportunity, make_team, make_user, purge_team, stage_named
from pipeline_app.tests.http_client import Client, message


def add_custom_field(fieldname: str, **values) -> None:
	"""Committed: adding a column is DDL, which MariaDB commits anyway."""
	frappe.get_doc(
		{
			"doctype": "Custom Field",
			"dt": "Pipeline Opportunity",
			"fieldname": fieldname,
			"label": fieldname.replace("_", " ").title(),
			"insert_after": "source",
			"in_standard_filter": 1,
			**values,
		}
	).insert(ignore_permissions=True)
	frappe.db.commit()
	frappe.clear_cache(doctype="Pipeline Opportunity")


def remove_custom_field(fieldname: str) -> None:
	frappe.db.rollback()
	name = frappe.db.get_value("Custom Field", {"dt": "Pipeline Opportunity", "fieldname": fieldname})
	if name:
		frappe.delete_doc("Custom Field", name, ignore_permissions=True)
	frappe.db.commit()
	frappe.clear_cache(doctype="Pipeline Opportunity")


class TestDoctypeFilters(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		suffix = random_string(5).lower()
		cls.region, cls.secret = f"region_{suffix}", f"margin_band_{suffix}"
		add_custom_field(cls.region, fieldtype="Select", options="\nNorth\nSouth")
		add_custom_field(cls.secret, fieldtype="Select", options="\nLow\nHigh", permlevel=1)
		cls.seller = make_user()
		cls.team = make_team(f"Filters {suffix}", members=[cls.seller]).name
		cls.new = stage_named(cls.team, "New")
		cls.north = [
			make_opportunity(cls.team, title=f"North {i}", **{cls.region: "North", cls.secret: "High"}).name
			for i in range(3)
		]
		cls.south = make_opportunity(cls.team, title="South", **{cls.region: "South", cls.secret: "Low"}).name
		cls.unset = make_opportunity(cls.team, title="Unset").name
		frappe.db.set_value("Pipeline Opportunity", cls.unset, "unanswered", 1)
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		frappe.set_user("Administrator")
		purge_team(cls.team)
		remove_custom_field(cls.region)
		remove_custom_field(cls.secret)
		super().tearDownClass()

	def setUp(self):
		frappe.set_user(self.seller)

	def tearDown(self):
		frappe.set_user("Administrator")

	def column(self, board):
		return next(c for c in board["columns"] if c["name"] == self.new)

	def test_a_custom_field_filters_the_board_and_its_totals(self):
		board = api.get_board(self.team, {self.region: "North"})
		column = self.column(board)
		self.assertEqual(sorted(c.name for c in column["cards"]), sorted(self.north))
		self.assertEqual(column["count"], 3)
		self.assertEqual(self.column(api.get_board(self.team, {self.region: "South"}))["count"], 1)
		self.assertEqual(self.column(api.get_board(self.team))["count"], 5)
		listed = {f["fieldname"]: f for f in board["doctype_filters"]}
		self.assertEqual(listed[self.region]["options"], "\nNorth\nSouth")
		self.assertIn("unanswered", listed)  # a standard field marked In Standard Filter
		# the next page of a column, filtered the same way
		page = api.get_stage_cards(self.team, self.new, start=1, limit=10, filters={self.region: "North"})
		self.assertEqual(len(page["cards"]), 2)
		self.assertTrue(all(c.name in self.north for c in page["cards"]))

	def test_a_check_field_and_combined_filters(self):
		self.assertEqual(
			[c.name for c in self.column(api.get_board(self.team, {"unanswered": 1}))["cards"]], [self.unset]
		)
		combined = api.get_board(self.team, {self.region: "North", "q": "North 1"})
		self.assertEqual([c.title for c in self.column(combined)["cards"]], ["North 1"])

	def test_values_are_checked_against_their_field(self):
		for filters in (
			{self.region: "East"},
			{self.region: ["North"]},
			{"unanswered": "maybe"},
			{"contact": "No such contact anywhere"},
			{"description": "text"},  # not marked In Standard Filter
		):
			with self.subTest(filters=filters), self.assertRaises(frappe.ValidationError):
				api.get_board(self.team, filters)

	def test_a_field_the_user_may_not_read_never_narrows_their_board(self):
		with self.assertRaisesRegex(frappe.ValidationError, "Unknown board filter"):
			api.get_board(self.team, {self.secret: "High"})
		listed = [f["fieldname"] for f in api.get_board(self.team)["doctype_filters"]]
		self.assertNotIn(self.secret, listed)
		self.assertIn(self.region, listed)

	def test_over_http_as_integrators_call_it(self):
		client = Client.as_user(self.seller)
		board = message(
			client.call("pipeline_app.api.get_board", "GET", team=self.team, filters={self.region: "North"})
		)
		self.assertEqual(self.column(board)["count"], 3)
		refused = client.call(
			"pipeline_app.api.get_board", "GET", team=self.team, filters={self.secret: "Low"}
		)
		self.assertEqual(refused.status_code, 417, refused.text)
		self.assertIn("Unknown board filter", refused.text)
		# Frappe's own REST list honours the same field (its own rules; the team rule as everywhere)
		rows = client.get(
			"/api/resource/Pipeline Opportunity",
			filters=frappe.as_json([[self.region, "=", "North"], ["team", "=", self.team]]),
			limit_page_length=50,
		).json()["data"]
		self.assertEqual(sorted(r["name"] for r in rows), sorted(self.north))


class TestLinkFilterValues(FrappeTestCase):
	"""A Link field marked In Standard Filter takes a record the user may see: another team's record is
	refused exactly as a missing one is, so the filter is no way to learn that it exists."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		suffix = random_string(5).lower()
		cls.referral = f"referral_{suffix}"
		add_custom_field(cls.referral, fieldtype="Link", options="Pipeline Opportunity")
		cls.seller, cls.outsider = make_user(), make_user()
		cls.team = make_team(f"Links {suffix}", members=[cls.seller]).name
		cls.other_team = make_team(f"Links other {suffix}", members=[cls.outsider]).name
		cls.source = make_opportunity(cls.team, title="Source").name
		cls.referred = make_opportunity(cls.team, title="Referred", **{cls.referral: cls.source}).name
		cls.theirs = make_opportunity(cls.other_team, title="Theirs").name
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		frappe.set_user("Administrator")
		purge_team(cls.team, cls.other_team)
		remove_custom_field(cls.referral)
		super().tearDownClass()

	def tearDown(self):
		frappe.set_user("Administrator")

	def refusal(self, value):
		with self.assertRaises(frappe.ValidationError) as refused:
			api.get_board(self.team, {self.referral: value})
		return str(refused.exception).replace(value, "<value>")

	def test_another_teams_record_is_refused_as_a_missing_one(self):
		frappe.set_user(self.seller)
		board = api.get_board(self.team, {self.referral: self.source})
		self.assertEqual([c.name for column in board["columns"] for c in column["cards"]], [self.referred])
		self.assertEqual(self.refusal(self.theirs), self.refusal("OPP-NO-SUCH-ONE"))
		# its own seller filters by it as by any record of theirs
		frappe.set_user(self.outsider)
		self.assertEqual(
			sum(
				column["count"]
				for column in api.get_board(self.other_team, {self.referral: self.theirs})["columns"]
			),
			0,
		)
