"""Data Import goes through the same rules as the form and REST."""

import csv
import os
import tempfile

import frappe
from frappe.core.doctype.data_import.data_import import import_file
from frappe.tests.utils import FrappeTestCase
from frappe.utils import random_string

from pipeline_app.tests.factories import make_team, stage_named


class TestDataImport(FrappeTestCase):
	def setUp(self):
		self.team = make_team().name
		self.other = make_team(template="Deal funnel").name
		self.prefix = f"Imported {random_string(6)}"

	def tearDown(self):
		for name in frappe.get_all(
			"Pipeline Opportunity", {"title": ("like", f"{self.prefix}%")}, pluck="name"
		):
			frappe.delete_doc("Pipeline Opportunity", name, force=True)
		for team in (self.team, self.other):
			frappe.delete_doc("Pipeline Team", team, force=True)
		frappe.db.commit()

	def import_rows(self, rows):
		with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, newline="") as f:
			writer = csv.writer(f)
			writer.writerow(["Title", "Team", "Stage", "Status"])
			writer.writerows(rows)
		try:
			import_file("Pipeline Opportunity", f.name, "Insert", console=True)  # as `bench data-import`
		finally:
			os.unlink(f.name)

	def imported(self, suffix):
		return frappe.db.get_value(
			"Pipeline Opportunity", {"title": f"{self.prefix} {suffix}"}, ["stage", "status"], as_dict=True
		)

	def test_import_applies_the_rules(self):
		self.import_rows(
			[
				[f"{self.prefix} plain", self.team, "", ""],
				[f"{self.prefix} staged", self.team, stage_named(self.team, "Proposal"), ""],
				[f"{self.prefix} cross", self.team, stage_named(self.other, "New Deal"), ""],
			]
		)
		self.assertEqual(self.imported("plain").stage, stage_named(self.team, "New"))
		self.assertEqual(self.imported("staged").stage, stage_named(self.team, "Proposal"))
		self.assertIsNone(self.imported("cross"))
