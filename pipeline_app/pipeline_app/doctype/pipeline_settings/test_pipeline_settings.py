# Copyright (c) 2026, Pipeline App contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase

from pipeline_app import api
from pipeline_app.boot import extend_bootinfo
from pipeline_app.tests.factories import make_opportunity, make_team, make_user


class TestPipelineSettings(FrappeTestCase):
	"""Every setting does what its label says."""

	def set_settings(self, **values):
		settings = frappe.get_doc("Pipeline Settings")
		before = {key: settings.get(key) for key in values}
		settings.update(values).save(ignore_permissions=True)
		self.addCleanup(
			lambda: frappe.get_doc("Pipeline Settings").update(before).save(ignore_permissions=True)
		)

	def test_board_cards_per_column_pages_the_columns_when_scrolling(self):
		user = make_user()
		team = make_team(members=[user]).name
		for _ in range(7):
			make_opportunity(team)
		stage = frappe.get_all("Funnel Stage", {"team": team}, pluck="name", order_by="sequence asc")[0]
		self.set_settings(board_page_size=3)
		frappe.set_user(user)
		self.addCleanup(frappe.set_user, "Administrator")
		self.assertEqual(api.get_board(team)["page_size"], 3)
		self.assertEqual(len(api.get_stage_cards(team, stage)["cards"]), 3)
		self.assertEqual(len(api.get_stage_cards(team, stage, limit=5)["cards"]), 5)  # asked for: kept
		boot = frappe._dict()
		extend_bootinfo(boot)
		self.assertEqual(boot.pipeline_board["page_size"], 3)
		self.assertEqual(boot.pipeline_board["realtime_event"], "pipeline_app:board")

	def test_default_funnel_template_is_a_new_teams_template(self):
		self.set_settings(default_funnel_template="Deal funnel")
		team = frappe.get_doc(
			{"doctype": "Pipeline Team", "team_name": f"Default {frappe.generate_hash(length=6)}"}
		)
		team.insert(ignore_permissions=True)
		self.assertEqual(team.funnel_template, "Deal funnel")
		self.assertIn("Deal Won", frappe.get_all("Funnel Stage", {"team": team.name}, pluck="stage_name"))
		self.assertEqual(
			frappe.new_doc("Pipeline Team").funnel_template, "Deal funnel"
		)  # the desk's New form
		# a team that names its template keeps it
		self.assertEqual(make_team(template="Sales funnel").funnel_template, "Sales funnel")

	def test_no_default_funnel_template_leaves_new_teams_without_stages(self):
		self.set_settings(default_funnel_template="Deal funnel")
		self.set_settings(default_funnel_template="")
		team = frappe.get_doc(
			{"doctype": "Pipeline Team", "team_name": f"Bare {frappe.generate_hash(length=6)}"}
		)
		team.insert(ignore_permissions=True)
		self.assertFalse(team.funnel_template)
		self.assertFalse(frappe.get_all("Funnel Stage", {"team": team.name}))
		# and no customization is left behind (an install saves the settings once)
		self.assertFalse(
			frappe.db.exists("Property Setter", {"doc_type": "Pipeline Team", "property": "default"})
		)
