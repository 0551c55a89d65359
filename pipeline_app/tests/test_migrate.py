"""Upgrades keep administrators' work: on a fresh site of its own, an administrator customizes the app
(a custom field, Customize Form's property setters, the outcome Workflow, a team's default funnel
and card layout, Pipeline Settings, a lost reason removed), then `bench migrate` runs with every
patch of the app forgotten (as an upgrade from the first release would run them all): everything
they set is still there afterwards, exactly."""

import json
import os
import subprocess

import pytest
from frappe.tests.utils import FrappeTestCase

pytestmark = pytest.mark.http  # drives the bench CLI on a site of its own (minutes)

SITE = "pipeline-migrate.localhost"

CUSTOMIZE = """
import frappe
from frappe.custom.doctype.property_setter.property_setter import make_property_setter
frappe.set_user("Administrator")
frappe.get_doc({"doctype": "Custom Field", "dt": "Pipeline Opportunity", "fieldname": "region",
	"label": "Region", "fieldtype": "Select", "options": "North\\nSouth", "insert_after": "source",
	"in_standard_filter": 1, "reqd": 1, "default": "North"}).insert()
make_property_setter("Pipeline Opportunity", "source", "label", "Lead Source", "Data")
make_property_setter("Pipeline Opportunity", "interest", "hidden", "1", "Check")
workflow = frappe.get_doc("Workflow", "Pipeline Opportunity Outcome")
for transition in workflow.transitions:
	if transition.action == "Win":
		transition.allowed = "Pipeline Manager"
workflow.save()
team = frappe.get_doc({"doctype": "Pipeline Team", "team_name": "Migrated Team",
	"funnel_template": "Sales funnel"}).insert()
stage = frappe.get_doc("Funnel Stage", {"team": team.name, "stage_name": "Proposal"})
stage.stage_name = "Offer sent"
stage.probability = 35
stage.save()
# the team's card layout (Card tab): shown fields in order, custom and standard, some panel-editable
team.reload()
for fieldname, show, edit in (("region", 1, 1), ("name", 1, 0), ("expected_close_date", 1, 1),
		("follow_up_on", 0, 1)):
	team.append("card_fields", {"fieldname": fieldname, "show_on_card": show, "editable_in_panel": edit})
team.save()
frappe.db.set_single_value("Pipeline Settings", {"digest_default_frequency": "Weekly",
	"digest_default_weekday": "Friday", "abandonment_enabled": 0})
reason = frappe.get_all("Pipeline Lost Reason", pluck="name", order_by="name", limit=1)[0]
frappe.delete_doc("Pipeline Lost Reason", reason)
frappe.db.commit()
print("@@" + json.dumps(reason))
"""

SNAPSHOT = """
import frappe
def rows(doctype, filters, fields):
	return [list(r) for r in frappe.get_all(doctype, filters=filters, fields=fields, order_by="name", as_list=True)]
snapshot = {
	"custom_fields": rows("Custom Field", {"dt": "Pipeline Opportunity"},
		["fieldname", "label", "fieldtype", "options", "insert_after", "in_standard_filter", "reqd", "default"]),
	"property_setters": rows("Property Setter", {"doc_type": "Pipeline Opportunity"},
		["field_name", "property", "value"]),
	"transitions": [[t.state, t.action, t.next_state, t.allowed] for t in
		frappe.get_doc("Workflow", "Pipeline Opportunity Outcome").transitions],
	"states": [[s.state, s.doc_status, s.allow_edit] for s in
		frappe.get_doc("Workflow", "Pipeline Opportunity Outcome").states],
	"stages": rows("Funnel Stage", {"team": "Migrated Team"}, ["stage_name", "probability", "stage_type", "sequence"]),
	"card_fields": [[r.idx, r.fieldname, r.label, r.show_on_card, r.editable_in_panel] for r in
		frappe.get_doc("Pipeline Team", "Migrated Team").card_fields],
	"settings": [frappe.db.get_single_value("Pipeline Settings", f) for f in
		("digest_default_frequency", "digest_default_weekday", "abandonment_enabled")],
	"lost_reasons": frappe.get_all("Pipeline Lost Reason", pluck="name", order_by="name"),
	"column": frappe.db.has_column("Pipeline Opportunity", "region"),
}
print("@@" + json.dumps(snapshot, default=str))
"""


class TestMigrateKeepsCustomizations(FrappeTestCase):
	def bench(self, *args, check=True):
		return subprocess.run(
			["bench", *args], cwd="..", capture_output=True, text=True, check=check, timeout=900
		)

	def run_on_site(self, code: str):
		script = f"import frappe, json\nfrappe.init(site='{SITE}', sites_path='.')\nfrappe.connect()\n{code}"
		result = subprocess.run(
			["../env/bin/python", "-c", script], capture_output=True, text=True, timeout=300
		)
		self.assertEqual(result.returncode, 0, result.stderr[-3000:])
		return json.loads(result.stdout.rsplit("@@", 1)[1])

	def test_migrate_with_every_patch_keeps_what_administrators_set(self):
		from pipeline_app.tests.scratch import forget_site_jobs

		password = os.environ.get("DB_ROOT_PASSWORD", "pipeline-root")
		drop = ("drop-site", SITE, "--force", "--no-backup", "--db-root-password", password)
		self.bench(*drop, check=False)
		try:
			self.bench(
				"new-site", SITE, "--force", "--db-root-password", password, "--admin-password", "admin",
				"--install-app", "pipeline_app",
			)  # fmt: skip
			self.bench("--site", SITE, "disable-scheduler")
			removed = self.run_on_site(CUSTOMIZE)
			before = self.run_on_site(SNAPSHOT)
			self.assertIn(["source", "label", "Lead Source"], before["property_setters"])
			self.assertNotIn(removed, before["lost_reasons"])
			self.assertEqual(
				[row[1] for row in before["card_fields"]],
				["region", "name", "expected_close_date", "follow_up_on"],
			)
			# an upgrade from the first release: every patch of the app runs again
			self.run_on_site(
				"frappe.db.delete('Patch Log', {'patch': ('like', 'pipeline_app.%')}); frappe.db.commit(); print('@@0')"
			)
			migrated = self.bench("--site", SITE, "migrate", check=False)
			self.assertEqual(migrated.returncode, 0, (migrated.stdout + migrated.stderr)[-3000:])
			after = self.run_on_site(SNAPSHOT)
			self.assertEqual(after, before)
			patches = self.run_on_site(
				"print('@@' + json.dumps(frappe.db.count('Patch Log', {'patch': ('like', 'pipeline_app.%')})))"
			)
			self.assertGreater(patches, 0)  # the patches did run
		finally:
			self.bench(*drop, check=False)
			forget_site_jobs(SITE)
