"""Stage gates: what an opportunity needs to enter a stage (Required on Entry), where it may go from
a stage (Allowed Next Stages, the team's No Skipping Forward) and who may move it there (Roles That
May Enter, Team Leads Only). Managers edit them on the Funnel Stage and the team.

`check_stage_gates` runs from the opportunity's rules (funnel.apply_stage_rules) on every save, so the
form, REST, frappe.client, Data Import, bulk edits and the board all obey; `move_refusal` is the one
answer to "may this user move a card from this stage to that one", which the board also asks for each
pair of stages to show the stages a dragged card may not enter as closed. The automations named in
GATE_EXEMPT_AUTOMATIONS pass, and each pass is logged."""

import frappe
from frappe import _

from pipeline_app.cards import board_editable_fields

# the automations that move opportunities because something happened (an appointment, the end of a
# hold, an ERPNext document, a message): the gates would otherwise leave the stage wrong
GATE_EXEMPT_AUTOMATIONS = frozenset(("appointment", "hold", "erpnext", "conversation", "booking"))

# fields a gate cannot ask for: the rules and the automations set them
NOT_REQUIRABLE = frozenset(
	(
		"team",
		"stage",
		"status",
		"probability",
		"weighted_amount",
		"contact_name",
		"contact_email",
		"contact_phone",
		"deal_amount_enabled",
		"currency",
		"closed_on",
		"board_rank",
		"last_message_preview",
		"unread_count",
		"unanswered",
		"last_activity_on",
		"last_inbound_on",
		"last_outbound_on",
		"follow_up_notified_for",
	)
)
LAYOUT = frozenset(("Section Break", "Column Break", "Tab Break", "HTML", "Button", "Heading"))
MANAGER_ROLES = ("Pipeline Manager", "System Manager")


class StageGateError(frappe.ValidationError):
	pass


def lines(text: str | None) -> list[str]:
	return [line.strip() for line in (text or "").splitlines() if line.strip()]


def team_rules(team_doc, user: str) -> frappe._dict:
	"""What the gates read of the team and the user: the team's No Skipping Forward, the user's roles
	and whether they lead the team (read once, then asked for every pair of stages)."""
	roles = set(frappe.get_roles(user))
	return frappe._dict(
		no_skipping_forward=team_doc.no_skipping_forward,
		roles=roles,
		leads=bool(roles.intersection(MANAGER_ROLES))
		or any(member.user == user and member.is_lead for member in team_doc.members),
	)


def move_refusal(stages: dict, from_stage: str | None, to_stage: str, team) -> str | None:
	"""Why the user of `team` (team_rules) may not move an opportunity from `from_stage` (None: it
	comes from nowhere or from another team) into `to_stage`, or None. `stages`: the team's stages by
	name, in board order."""
	target = stages[to_stage]
	entry_roles = lines(target.entry_roles)
	if entry_roles and not team.roles.intersection(entry_roles):
		return _("Only {0} may move an opportunity into stage {1}").format(
			", ".join(_(role) for role in entry_roles), frappe.bold(_(target.stage_name))
		)
	if target.leads_only and not team.leads:
		return _("Only the team's leads may move an opportunity into stage {0}").format(
			frappe.bold(_(target.stage_name))
		)
	source = stages.get(from_stage) if from_stage else None
	if source is None or from_stage == to_stage:
		return None
	allowed = lines(source.allowed_next_stages)
	if allowed and target.stage_name not in allowed:
		return _("From stage {0} an opportunity may move only to {1}").format(
			frappe.bold(_(source.stage_name)), ", ".join(_(name) for name in allowed)
		)
	if team.no_skipping_forward and source.stage_type == "Open" and target.stage_type == "Open":
		open_stages = [name for name, stage in stages.items() if stage.stage_type == "Open"]
		position, wanted = open_stages.index(from_stage), open_stages.index(to_stage)
		if wanted > position + 1:
			return _("Stage {0} comes after {1}: move the opportunity to {1} first").format(
				frappe.bold(_(target.stage_name)),
				frappe.bold(_(stages[open_stages[position + 1]].stage_name)),
			)
	return None


def missing_fields(doc, stage) -> list[str]:
	"""The Required on Entry fields of `stage` that `doc` leaves empty."""
	return [fieldname for fieldname in lines(stage.required_fields) if is_empty(doc.get(fieldname))]


def is_empty(value) -> bool:
	return value is None or value == "" or value == 0 or value == []


def check_stage_gates(doc, before, team_stages: list) -> None:
	"""Refuses the save when the opportunity enters a stage its gates keep it out of (nothing is
	changed: this runs in validate). Called by apply_stage_rules once the stage is settled, with the
	team's stages (funnel.get_team_stages)."""
	if before is not None and before.stage == doc.stage and before.team == doc.team:
		return
	stages = {stage.name: stage for stage in team_stages}
	target = stages.get(doc.stage)
	if target is None:
		return
	from_stage = before.stage if before is not None and before.team == doc.team else None
	team = team_rules(frappe.get_cached_doc("Pipeline Team", doc.team), frappe.session.user)
	if doc.flags.automation in GATE_EXEMPT_AUTOMATIONS:
		if move_refusal(stages, from_stage, doc.stage, team) or missing_fields(doc, target):
			frappe.logger("pipeline_app").info(
				f"stage gates of {doc.stage} passed by automation {doc.flags.automation} for {doc.name}"
			)
		return
	reason = move_refusal(stages, from_stage, doc.stage, team)
	if reason:
		frappe.throw(reason, StageGateError, title=_("Stage Gate"))
	missing = missing_fields(doc, target)
	if missing:
		meta = frappe.get_meta("Pipeline Opportunity")
		frappe.throw(
			_("Stage {0} needs {1} before an opportunity enters it").format(
				frappe.bold(_(target.stage_name)), ", ".join(_(meta.get_label(field)) for field in missing)
			),
			StageGateError,
			title=_("Stage Gate"),
		)


def board_gates(team_doc, stages: list) -> dict[str, dict]:
	"""Per stage, what the board needs to follow the gates without knowing them: the stages a card
	may come from (move_refusal for each pair, for the session user) and the fields to ask for."""
	by_name = {stage.name: stage for stage in stages}
	team = team_rules(team_doc, frappe.session.user)
	meta = frappe.get_meta("Pipeline Opportunity")
	editable = board_editable_fields(team_doc)  # a card layout's panel fields

	gates = {}
	for stage in stages:
		required = []
		for fieldname in lines(stage.required_fields):
			df = meta.get_field(fieldname)
			if df:
				required.append(
					{
						"fieldname": fieldname,
						"label": _(df.label),
						"fieldtype": df.fieldtype,
						"options": df.options,
						"on_board": fieldname in editable,
					}
				)
		gates[stage.name] = {
			"required_fields": required,
			"may_enter": move_refusal(by_name, None, stage.name, team) is None,
			"enterable_from": [
				source for source in by_name if move_refusal(by_name, source, stage.name, team) is None
			],
		}
	return gates


def validate_stage_gates(stage) -> None:
	"""A Funnel Stage's gates name real fields, stages of its team and roles."""
	meta = frappe.get_meta("Pipeline Opportunity")
	for fieldname in lines(stage.required_fields):
		df = meta.get_field(fieldname)
		if not df or df.fieldtype in LAYOUT or fieldname in NOT_REQUIRABLE:
			frappe.throw(
				_("Required on Entry: {0} is not a field an opportunity can be asked for").format(
					frappe.bold(fieldname)
				),
				title=_("Invalid Stage Gate"),
			)
	names = set(frappe.get_all("Funnel Stage", {"team": stage.team}, pluck="stage_name")) | {stage.stage_name}
	for name in lines(stage.allowed_next_stages):
		if name not in names:
			frappe.throw(
				_("Allowed Next Stages: team {0} has no stage named {1}").format(
					frappe.bold(stage.team), frappe.bold(name)
				),
				title=_("Invalid Stage Gate"),
			)
	for role in lines(stage.entry_roles):
		if not frappe.db.exists("Role", role):
			frappe.throw(
				_("Roles That May Enter: there is no role {0}").format(frappe.bold(role)),
				title=_("Invalid Stage Gate"),
			)
