"""One value of one record as a constant statement (pipeline_app/lookups.py): Frappe's answers."""

import frappe
from frappe.tests.utils import FrappeTestCase

from pipeline_app.lookups import record_exists, value_of
from pipeline_app.tests.factories import make_opportunity, make_team


class TestLookups(FrappeTestCase):
	def test_answers_as_frappe_does(self):
		team = make_team().name
		card = make_opportunity(team).name
		cases = [
			("Pipeline Opportunity", card, "team"),
			("Pipeline Opportunity", card.lower(), "stage"),  # names compare as MariaDB compares them
			("Pipeline Opportunity", "OPP-missing", "team"),
			("Pipeline Team", team, "name"),
			("Pipeline Settings", "Pipeline Settings", "board_page_size"),  # a single doctype
		]
		for doctype, name, column in cases:
			with self.subTest(doctype=doctype, name=name):
				self.assertEqual(value_of(doctype, name, column), frappe.db.get_value(doctype, name, column))
				self.assertEqual(record_exists(doctype, name), bool(frappe.db.exists(doctype, name)))
		self.assertEqual(value_of("Pipeline Opportunity", card, "team"), team)
		for name in (None, "", ["OPP"], True):
			self.assertIsNone(value_of("Pipeline Opportunity", name, "team"))

	def test_refuses_a_column_that_is_not_a_plain_name(self):
		for column in ("team`, (select 1)", "team from x", "Team"):
			with self.subTest(column=column), self.assertRaises(frappe.ValidationError):
				value_of("Pipeline Opportunity", "OPP-1", column)
