import frappe

from pipeline_app.install import WORKFLOW_NAME


def execute():
	"""The outcome Workflow's states become optional, so Frappe stops making Workflow Actions for
	opportunities (approval to-dos nobody needs, listed to every Pipeline User across teams), and the
	ones already made go. Only the shipped workflow's states are touched; an administrator's own
	workflow on Pipeline Opportunity is left as it is."""
	if frappe.db.exists("Workflow", WORKFLOW_NAME):
		frappe.db.set_value(
			"Workflow Document State",
			{"parent": WORKFLOW_NAME, "parenttype": "Workflow"},
			"is_optional_state",
			1,
			update_modified=False,
		)
		frappe.clear_cache(doctype="Pipeline Opportunity")
	actions = frappe.get_all("Workflow Action", {"reference_doctype": "Pipeline Opportunity"}, pluck="name")
	for batch in frappe.utils.create_batch(actions, 1000):
		frappe.db.delete("Workflow Action Permitted Role", {"parent": ("in", batch)})
		frappe.db.delete("Workflow Action", {"name": ("in", batch)})
