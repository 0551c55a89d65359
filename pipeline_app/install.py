"""Install hooks. Whatever administrators may edit (the Workflow, lost reasons, Contact permissions)
is created only when missing, so their edits survive upgrades; patches call the same functions."""

import frappe
from frappe import _

ROLES = ("Pipeline User", "Pipeline Manager")
WORKFLOW_NAME = "Pipeline Opportunity Outcome"
WORKFLOW_STATES = {  # state: style
	"Open": "Primary",
	"Won": "Success",
	"Lost": "Danger",
	"On Hold": "Warning",
	"Abandoned": "Inverse",
}
# (from, action, to)
WORKFLOW_TRANSITIONS = (
	("Open", "Win", "Won"),
	("Open", "Mark Lost", "Lost"),
	("Open", "Put On Hold", "On Hold"),
	("Open", "Abandon", "Abandoned"),
	("On Hold", "Resume", "Open"),
	("On Hold", "Win", "Won"),
	("On Hold", "Mark Lost", "Lost"),
	("On Hold", "Abandon", "Abandoned"),
	("Won", "Reopen", "Open"),
	("Won", "Mark Lost", "Lost"),
	("Lost", "Reopen", "Open"),
	("Lost", "Win", "Won"),
	("Abandoned", "Reopen", "Open"),
	("Abandoned", "Win", "Won"),
	("Abandoned", "Mark Lost", "Lost"),
)
DEFAULT_LOST_REASONS = ("Price", "No budget", "Chose a competitor", "No response", "Not a fit", "Bad timing")


def before_install():
	create_roles()


def after_install():
	create_roles()
	create_outcome_workflow()
	create_lost_reasons()
	grant_contact_access()
	create_settings()


def create_settings():
	"""Stores the settings' defaults once (a Single has no row until saved)."""
	if frappe.db.exists("Singles", {"doctype": "Pipeline Settings"}):
		return
	settings = frappe.get_doc("Pipeline Settings")
	settings.abandonment_enabled = 1
	settings.board_page_size = 50
	settings.save(ignore_permissions=True)


def create_roles():
	for role in ROLES:
		if not frappe.db.exists("Role", role):
			frappe.get_doc({"doctype": "Role", "role_name": role, "desk_access": 1}).insert(
				ignore_permissions=True
			)


def create_outcome_workflow():
	"""The outcome Workflow on Pipeline Opportunity.status, created once: administrators may edit it."""
	for state, style in WORKFLOW_STATES.items():
		if not frappe.db.exists("Workflow State", state):
			frappe.get_doc(
				{"doctype": "Workflow State", "workflow_state_name": state, "style": style}
			).insert(ignore_permissions=True)
	for action in {action for _from, action, _to in WORKFLOW_TRANSITIONS}:
		if not frappe.db.exists("Workflow Action Master", action):
			frappe.get_doc({"doctype": "Workflow Action Master", "workflow_action_name": action}).insert(
				ignore_permissions=True
			)
	if frappe.db.exists("Workflow", WORKFLOW_NAME):
		return
	frappe.get_doc(
		{
			"doctype": "Workflow",
			"workflow_name": WORKFLOW_NAME,
			"document_type": "Pipeline Opportunity",
			"workflow_state_field": "status",
			"is_active": 1,
			"send_email_alert": 0,
			"override_status": 1,
			"states": [{"state": state, "doc_status": "0", "allow_edit": "All"} for state in WORKFLOW_STATES],
			"transitions": [
				{
					"state": state,
					"action": action,
					"next_state": next_state,
					"allowed": "All",
					"allow_self_approval": 1,
				}
				for state, action, next_state in WORKFLOW_TRANSITIONS
			],
		}
	).insert(ignore_permissions=True)


def create_lost_reasons():
	if frappe.db.count("Pipeline Lost Reason"):
		return
	for reason in DEFAULT_LOST_REASONS:
		frappe.get_doc({"doctype": "Pipeline Lost Reason", "lost_reason": _(reason)}).insert(
			ignore_permissions=True
		)


def grant_contact_access():
	"""Pipeline Users pick and create the contacts of their opportunities (Custom DocPerm, so it shows
	in Role Permissions Manager and can be changed there)."""
	from frappe.permissions import add_permission, update_permission_property

	if frappe.db.exists("Custom DocPerm", {"parent": "Contact", "role": "Pipeline User"}):
		return
	add_permission("Contact", "Pipeline User", 0)
	for ptype in ("read", "write", "create", "report", "email", "print"):
		update_permission_property("Contact", "Pipeline User", 0, ptype, 1)


def before_uninstall():
	"""Removes what the install hooks made (Frappe removes the module's doctypes and workspace, and
	commits after this hook)."""
	for workflow in frappe.get_all("Workflow", {"document_type": "Pipeline Opportunity"}, pluck="name"):
		frappe.delete_doc("Workflow", workflow, force=True, ignore_permissions=True)
	frappe.db.delete("Custom DocPerm", {"role": ("in", ROLES)})
	frappe.clear_cache(doctype="Contact")
	for role in ROLES:
		frappe.db.delete("Has Role", {"role": role})
		frappe.delete_doc("Role", role, force=True, ignore_missing=True, ignore_permissions=True)
