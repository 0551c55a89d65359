# Copyright (c) 2026, Pipeline App contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase

from pipeline_app.funnel import FUNNEL_TEMPLATES
from pipeline_app.tests.factories import make_opportunity, make_team, make_user


class TestPipelineTeam(FrappeTestCase):
	def stages(self, team):
		return frappe.get_all(
			"Funnel Stage",
			filters={"team": team},
			fields=["stage_name", "stage_type", "sequence"],
			order_by="sequence asc",
		)

	def test_each_template_creates_its_stages_in_order(self):
		for template, expected in FUNNEL_TEMPLATES.items():
			team = make_team(template=template).name
			stages = self.stages(team)
			self.assertEqual([s.stage_name for s in stages], [name for name, *_ in expected], template)
			self.assertEqual([s.stage_type for s in stages], [kind for _, kind, *_ in expected], template)

	def test_template_stage_types_follow_names(self):
		team = make_team(template="Deal funnel").name
		types = {s.stage_name: s.stage_type for s in self.stages(team)}
		self.assertEqual(types["Deal Won"], "Won")
		self.assertEqual(types["Deal Lost"], "Lost")
		self.assertEqual(types["Hold"], "Open")

	def test_team_without_template_has_no_stages(self):
		self.assertEqual(self.stages(make_team(template=None).name), [])

	def test_duplicate_member_is_refused(self):
		user = make_user()
		with self.assertRaises(frappe.ValidationError):
			make_team(name="Dup Team", members=[user, user])
		self.assertFalse(frappe.db.exists("Pipeline Team", "Dup Team"))

	def test_negative_abandon_days_is_refused(self):
		with self.assertRaises(frappe.ValidationError):
			make_team(name="Negative Team", abandon_after_days=-1)
		self.assertFalse(frappe.db.exists("Pipeline Team", "Negative Team"))

	def test_team_with_opportunities_cannot_be_deleted(self):
		team = make_team().name
		make_opportunity(team)
		with self.assertRaises(frappe.LinkExistsError):
			frappe.delete_doc("Pipeline Team", team)
		self.assertTrue(frappe.db.exists("Pipeline Team", team))
		self.assertTrue(frappe.db.exists("Funnel Stage", {"team": team}))

	def test_deleting_an_empty_team_deletes_its_funnel(self):
		team = make_team().name
		frappe.delete_doc("Pipeline Team", team)
		self.assertFalse(frappe.db.exists("Funnel Stage", {"team": team}))

	def test_membership_change_updates_user_teams(self):
		from pipeline_app.teams import get_user_teams

		user = make_user()
		team = make_team()
		self.assertNotIn(team.name, get_user_teams(user))
		team.append("members", {"user": user})
		team.save()
		self.assertIn(team.name, get_user_teams(user))
		team.members = []
		team.save()
		self.assertNotIn(team.name, get_user_teams(user))

	def test_automation_stage_must_belong_to_the_team(self):
		team = make_team(template="Appointment funnel")
		other = make_team(template="Sales funnel").name
		foreign = frappe.db.get_value("Funnel Stage", {"team": other, "stage_name": "New"})
		team.reload()
		kept = team.no_show_stage
		team.no_show_stage = foreign
		with self.assertRaises(frappe.ValidationError):
			team.save()
		self.assertEqual(frappe.db.get_value("Pipeline Team", team.name, "no_show_stage"), kept)
