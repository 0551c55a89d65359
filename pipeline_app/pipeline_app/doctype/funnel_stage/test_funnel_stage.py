# Copyright (c) 2026, Pipeline App contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase

from pipeline_app.tests.factories import make_opportunity, make_team, stage_named


class TestFunnelStage(FrappeTestCase):
	def setUp(self):
		self.team = make_team().name

	def add_stage(self, stage_name, team=None, **fields):
		return frappe.get_doc(
			{"doctype": "Funnel Stage", "team": team or self.team, "stage_name": stage_name, **fields}
		).insert()

	def test_stage_names_are_unique_within_a_team(self):
		with self.assertRaises(frappe.DuplicateEntryError):
			self.add_stage("Proposal")
		self.assertEqual(frappe.db.count("Funnel Stage", {"team": self.team, "stage_name": "Proposal"}), 1)

	def test_same_stage_name_in_another_team_is_fine(self):
		other = make_team(template=None).name
		stage = self.add_stage("Proposal", team=other)
		self.assertEqual(stage.team, other)

	def test_new_stage_goes_last(self):
		stage = self.add_stage("Contract sent")
		highest = max(frappe.get_all("Funnel Stage", filters={"team": self.team}, pluck="sequence"))
		self.assertEqual(stage.sequence, highest)

	def test_probability_out_of_range_is_refused(self):
		with self.assertRaises(frappe.ValidationError):
			self.add_stage("Odd", probability=120)
		self.assertFalse(frappe.db.exists("Funnel Stage", {"team": self.team, "stage_name": "Odd"}))

	def test_stage_with_opportunities_cannot_change_type_or_be_deleted(self):
		stage_name = stage_named(self.team, "New")
		make_opportunity(self.team)
		stage = frappe.get_doc("Funnel Stage", stage_name)
		stage.stage_type = "Won"
		with self.assertRaises(frappe.ValidationError):
			stage.save()
		with self.assertRaises(frappe.LinkExistsError):
			frappe.delete_doc("Funnel Stage", stage_name)
		self.assertEqual(frappe.db.get_value("Funnel Stage", stage_name, "stage_type"), "Open")
