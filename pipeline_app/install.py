"""Install hooks. Whatever administrators may edit (the Workflow, lost reasons, Contact permissions)
is created only when missing, so their edits survive upgrades; patches call the same functions."""

import frappe
from frappe import _
from frappe.permissions import add_permission, update_permission_property

from pipeline_app.erpnext import setup as erpnext_setup

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
# the system reason the abandonment job gives (its name is what the job writes: not translated)
ABANDONED_REASON = "No reply"


def before_install():
	create_roles()


def after_install():
	create_roles()
	create_outcome_workflow()
	create_lost_reasons()
	create_abandoned_reason()
	grant_contact_access()
	create_settings()
	erpnext_setup.after_install()


def create_settings():
	"""Stores the settings' defaults once (a Single has no row until saved): never over what an
	administrator saved since (tabSingles has no name column: frappe.db.exists cannot ask it)."""
	if frappe.db.sql("select 1 from `tabSingles` where doctype = 'Pipeline Settings' limit 1"):
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
			# optional states: Frappe makes no Workflow Action (an approval to-do per opportunity and
			# state, listed to every role holder across teams) for transitions into them
			"states": [
				{"state": state, "doc_status": "0", "allow_edit": "All", "is_optional_state": 1}
				for state in WORKFLOW_STATES
			],
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


def create_abandoned_reason():
	"""The lost reason of abandoned opportunities, so reports tell abandonment from real losses."""
	if not frappe.db.exists("Pipeline Lost Reason", ABANDONED_REASON):
		frappe.get_doc(
			{
				"doctype": "Pipeline Lost Reason",
				"lost_reason": ABANDONED_REASON,
				"description": _(
					"Given by the abandonment job: the contact sent nothing for the team's days."
				),
			}
		).insert(ignore_permissions=True)


def grant_contact_access():
	"""Pipeline Users pick and create the contacts of their opportunities (Custom DocPerm, so it shows
	in Role Permissions Manager and can be changed there)."""
	if frappe.db.exists("Custom DocPerm", {"parent": "Contact", "role": "Pipeline User"}):
		return
	add_permission("Contact", "Pipeline User", 0)
	for ptype in ("read", "write", "create", "report", "email", "print"):
		update_permission_property("Contact", "Pipeline User", 0, ptype, 1)


def before_uninstall():
	"""Removes what the install hooks made (Frappe removes the module's doctypes and workspace, and
	commits after this hook)."""
	erpnext_setup.before_app_uninstall("pipeline_app")
	for workflow in frappe.get_all("Workflow", {"document_type": "Pipeline Opportunity"}, pluck="name"):
		frappe.delete_doc("Workflow", workflow, force=True, ignore_permissions=True)
	frappe.db.delete("Custom DocPerm", {"role": ("in", ROLES)})
	drop_copied_contact_permissions()
	frappe.clear_cache(doctype="Contact")
	remove_unused_workflow_masters()
	frappe.db.delete("Singles", {"doctype": "Pipeline Settings"})
	for role in ROLES:
		frappe.db.delete("Has Role", {"role": role})
		frappe.delete_doc("Role", role, force=True, ignore_missing=True, ignore_permissions=True)


PERMISSION_FLAGS = (
	"if_owner",
	"select",
	"read",
	"write",
	"create",
	"delete",
	"submit",
	"cancel",
	"amend",
	"report",
	"export",
	"import",
	"share",
	"print",
	"email",
)


def drop_copied_contact_permissions():
	"""Granting Contact to Pipeline User made Frappe copy Contact's standard permissions into Custom
	DocPerm, where they would override the standard ones for good. Once our rows are gone, a copy that
	nobody changed is dropped, so Contact follows its standard permissions again."""

	def rows(doctype):
		return sorted(
			tuple(row.values())
			for row in frappe.get_all(
				doctype, filters={"parent": "Contact"}, fields=["role", "permlevel", *PERMISSION_FLAGS]
			)
		)

	custom = rows("Custom DocPerm")
	if custom and custom == rows("DocPerm"):
		frappe.db.delete("Custom DocPerm", {"parent": "Contact"})


def remove_unused_workflow_masters():
	"""The workflow states and actions the app made, where no other workflow uses them."""
	state_in_use = set(frappe.get_all("Workflow Document State", pluck="state", distinct=True))
	state_in_use |= set(frappe.get_all("Workflow Transition", pluck="next_state", distinct=True))
	for state in WORKFLOW_STATES:
		if state not in state_in_use:
			frappe.delete_doc(
				"Workflow State", state, force=True, ignore_missing=True, ignore_permissions=True
			)
	action_in_use = set(frappe.get_all("Workflow Transition", pluck="action", distinct=True))
	for action in {action for _from, action, _to in WORKFLOW_TRANSITIONS}:
		if action not in action_in_use:
			frappe.delete_doc(
				"Workflow Action Master", action, force=True, ignore_missing=True, ignore_permissions=True
			)
