"""The outcome Workflow (Frappe's Workflow on Pipeline Opportunity.status), as the administrator edited
it: the one source of which outcome actions a user may take.

- `get_outcome_actions`: what the board's card panel offers (the form shows Frappe's own list, from
  the same `frappe.model.workflow.get_transitions`).
- `check_outcome_transition`: run by the opportunity's `validate` once the stage rules have settled
  the status (a drag into a Won stage has made it Won by then), so a status change the Workflow does
  not allow the session user is refused on every path: the board, REST, `frappe.client.*`, the form.
- `WORKFLOW_EXEMPT_AUTOMATIONS`: the automations that pass without the check, by name.
- `validate_outcome_workflow`: what an administrator may change in the Workflow (hook on Workflow).
"""

import frappe
from frappe import _
from frappe.model.workflow import (
	WorkflowPermissionError,
	get_transitions,
	get_workflow,
	get_workflow_name,
	has_approval_access,
)
from frappe.utils import escape_html
from frappe.workflow.doctype.workflow_action import workflow_action

from pipeline_app.funnel import ABANDONED, LOST, ON_HOLD, OPEN, WON
from pipeline_app.install import WORKFLOW_TRANSITIONS

DOCTYPE = "Pipeline Opportunity"
STATE_FIELD = "status"
# the Workflow's states are the opportunity's statuses, the first one new opportunities start in
OUTCOME_STATES = (OPEN, WON, LOST, ON_HOLD, ABANDONED)

# Automations apply what a trigger decided, whoever's session runs them: an appointment marked No Show
# moves a closed opportunity back into the funnel ("appointment", pipeline_app/automation/appointments.py),
# a hold that ended resumes it ("hold", automation/follow_ups.py), an ERPNext order or quotation wins,
# loses or reopens it ("erpnext", erpnext/outcomes.py). Their saves carry `doc.flags.automation` with
# that name and skip the Workflow's transitions and roles; the stage rules still apply. (The
# abandonment job writes its batches in bulk and passes no document check at all; conversations only
# move open opportunities between open stages.)
WORKFLOW_EXEMPT_AUTOMATIONS = frozenset(("appointment", "hold", "erpnext"))


def active_workflow():
	"""The active Workflow of Pipeline Opportunity (Frappe's cached document), or None."""
	name = get_workflow_name(DOCTYPE)
	return get_workflow(DOCTYPE) if name else None


def is_exempt_automation(doc) -> bool:
	return doc.flags.automation in WORKFLOW_EXEMPT_AUTOMATIONS


def allowed_transitions(doc, workflow=None) -> list[dict]:
	"""The transitions the session user may take from `doc`'s status (as stored): Frappe's
	`get_transitions` (roles and conditions) and its self-approval rule, as its form applies them."""
	workflow = workflow or active_workflow()
	if not workflow:
		return []
	user = frappe.session.user
	return [t for t in get_transitions(doc, workflow) if has_approval_access(user, doc, t)]


def outcome_actions(doc) -> list[dict]:
	"""The actions of `allowed_transitions`, each once: `{"action", "label", "next_state"}`. Without an
	active Workflow nothing restricts the status: the app's default transitions are offered."""
	if active_workflow():
		transitions = allowed_transitions(doc)
	else:
		transitions = [
			{"action": action, "next_state": next_state}
			for state, action, next_state in WORKFLOW_TRANSITIONS
			if state == doc.status
		]
	actions, seen = [], set()
	for transition in transitions:
		key = (transition["action"], transition["next_state"])
		if key in seen:
			continue
		seen.add(key)
		actions.append(
			{
				"action": transition["action"],
				"label": _(transition["action"]),
				"next_state": transition["next_state"],
			}
		)
	return actions


@frappe.whitelist(methods=["GET"])
def get_outcome_actions(name: str) -> dict:
	"""The outcome actions the session user may take on opportunity `name` now (none without write
	permission), with the status and `modified` they were computed for. The board's card panel asks
	when it opens a card, so a board load costs nothing for them."""
	doc = frappe.get_doc(DOCTYPE, name)
	doc.check_permission("read")
	actions = outcome_actions(doc) if doc.has_permission("write") else []
	return {"name": doc.name, "status": doc.status, "modified": doc.modified, "actions": actions}


def check_outcome_transition(doc) -> None:
	"""Refuses a status change the outcome Workflow does not allow the session user (Frappe checks it
	again after `validate`, with a vaguer message). Automations in WORKFLOW_EXEMPT_AUTOMATIONS pass."""
	before = doc.get_doc_before_save()
	if before is None or before.status == doc.status or is_exempt_automation(doc):
		return
	check_transition_allowed(before, doc.status)


def check_transition_allowed(doc, next_state: str) -> None:
	"""Refuses unless the session user may take `doc`, as stored, from its status to `next_state`."""
	workflow = active_workflow()
	if not workflow:
		return
	if any(t["next_state"] == next_state for t in allowed_transitions(doc, workflow)):
		return
	frappe.throw(
		refusal_message(doc, next_state, workflow),
		WorkflowPermissionError,
		title=_("Not Allowed by the Workflow"),
	)


def refusal_message(doc, next_state: str, workflow) -> str:
	def bold(text):
		return frappe.bold(escape_html(text))

	title = bold(doc.title or doc.name)
	from_state, to_state, name = bold(_(doc.status)), bold(_(next_state)), bold(workflow.name)
	ways = [t for t in workflow.transitions if t.state == doc.status and t.next_state == next_state]
	if not ways:
		return _("{0} cannot go from {1} to {2}: the Workflow {3} has no such transition").format(
			title, from_state, to_state, name
		)
	actions = ", ".join(bold(_(action)) for action in dict.fromkeys(t.action for t in ways))
	if not set(frappe.get_roles()) & {t.allowed for t in ways}:
		roles = ", ".join(bold(_(role)) for role in sorted({t.allowed for t in ways}))
		return _("You cannot move {0} from {1} to {2}: in the Workflow {3}, {4} is for {5} only").format(
			title, from_state, to_state, name, actions, roles
		)
	return _(
		"You cannot move {0} from {1} to {2} now: in the Workflow {3}, the condition or self-approval rule of {4} does not allow it"
	).format(title, from_state, to_state, name, actions)


def validate_outcome_workflow(workflow, method=None) -> None:
	"""doc_events: Workflow before_validate (before Workflow's own validate writes to the database).
	A Workflow on Pipeline Opportunity may rename its actions, choose the roles and conditions of each
	transition, and add or remove transitions; its states stay the opportunity's statuses, because the
	stage types, the board, the automations and the reports all mean them."""
	if workflow.document_type != DOCTYPE:
		return
	if workflow.workflow_state_field != STATE_FIELD:
		frappe.throw(
			_("A Workflow on {0} must use the field {1}: the opportunity's status is its outcome").format(
				_(DOCTYPE), frappe.bold(STATE_FIELD)
			),
			title=_("Invalid Outcome Workflow"),
		)
	allowed = ", ".join(_(state) for state in OUTCOME_STATES)
	used = [row.state for row in workflow.states]
	used += [state for row in workflow.transitions for state in (row.state, row.next_state)]
	unknown = [state for state in dict.fromkeys(used) if state not in OUTCOME_STATES]
	if unknown:
		frappe.throw(
			_(
				"State {0} cannot be used in a Workflow on {1}: its states are the opportunity's statuses ({2}), which the funnel stages, the board, the automations and the reports rely on. Rename the actions, change who may take them, or add and remove transitions between these states instead"
			).format(", ".join(frappe.bold(state) for state in unknown), _(DOCTYPE), allowed),
			title=_("Invalid Outcome Workflow"),
		)
	if not workflow.states or workflow.states[0].state != OPEN:
		frappe.throw(
			_("The first state of a Workflow on {0} must be {1}: new opportunities start there").format(
				_(DOCTYPE), frappe.bold(_(OPEN))
			),
			title=_("Invalid Outcome Workflow"),
		)
	submitting = [row.state for row in workflow.states if str(row.doc_status or "0") != "0"]
	if submitting:
		frappe.throw(
			_(
				"State {0} must keep Doc Status 0: Pipeline Opportunities are not submitted or cancelled"
			).format(", ".join(frappe.bold(_(state)) for state in submitting)),
			title=_("Invalid Outcome Workflow"),
		)


# Frappe's Workflow Action bookkeeping
# ------------------------------------
# Frappe runs `process_workflow_actions` after every save of every document ("*" on_update in its
# hooks.py): for a document under a Workflow it completes the open Workflow Actions of the state left
# and creates one for each role of each transition out of the new state, unless that transition leads
# to an optional state. It looks all of that up on each save, about ten queries, and deletes and
# updates Workflow Action rows under locks that concurrent saves of other opportunities contend for.
# The outcome Workflow ships with every state optional: then no save can create an action, and a save
# of an opportunity with no open action has nothing to complete, so the whole pass is skipped for it
# (one query). Once an administrator makes a state of the Workflow non-optional, every save takes
# Frappe's full pass again. A doc_event cannot be taken out of another app's hooks, so the hook's
# function is wrapped where Frappe looks it up (frappe.get_attr resolves the hook by name on each save),
# when this module is imported: the opportunity's controller imports it, before any save of one.

_frappe_process_workflow_actions = workflow_action.process_workflow_actions


def process_workflow_actions(doc, state):
	if state == "on_update" and doc.doctype == DOCTYPE and not makes_workflow_actions(doc):
		return
	return _frappe_process_workflow_actions(doc, state)


def makes_workflow_actions(doc) -> bool:
	"""Whether Frappe's Workflow Action pass could do anything for this save of an opportunity: the
	Workflow has a state that is not optional, or the opportunity has an open Workflow Action."""
	workflow = active_workflow()
	if not workflow:
		return False  # Frappe's pass returns at once
	if any(not state.is_optional_state for state in workflow.states):
		return True
	# a constant statement: asked on every save (pipeline_app/lookups.py says why)
	return bool(
		frappe.db.sql(
			"""select 1 from `tabWorkflow Action`
			where reference_doctype = %s and reference_name = %s and status = 'Open' limit 1""",
			(DOCTYPE, doc.name),
		)
	)


if workflow_action.process_workflow_actions is _frappe_process_workflow_actions:
	workflow_action.process_workflow_actions = process_workflow_actions
