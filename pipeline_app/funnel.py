"""Funnels: the shipped templates, stage look-ups, and the stage/status rules of an opportunity.

`apply_stage_rules` is the one implementation of the pipeline rules; the opportunity controller calls
it on every save, so the desk form, REST, frappe.client, Data Import, the board and the automations
all share it.
"""

import frappe
from frappe import _
from frappe.utils import flt, getdate, now_datetime, today

from pipeline_app.bulk import bulk_names, insert_rows
from pipeline_app.gates import check_stage_gates
from pipeline_app.journey import set_journey
from pipeline_app.teams import is_team_member

OPEN, WON, LOST, ON_HOLD, ABANDONED = "Open", "Won", "Lost", "On Hold", "Abandoned"
CLOSED_STATUSES = frozenset((WON, LOST, ABANDONED))
OUTCOME_STAGE_TYPES = frozenset((WON, LOST))

# name: [(stage_name, stage_type, probability, color)]
FUNNEL_TEMPLATES: dict[str, list[tuple[str, str, int, str]]] = {
	"Appointment funnel": [
		("Opt In", OPEN, 5, "#7c8ea5"),
		("Contact replied", OPEN, 15, "#2490ef"),
		("Call before intake", OPEN, 30, "#5e64ff"),
		("Intake", OPEN, 50, "#8e44ad"),
		("No Show", OPEN, 10, "#e67e22"),
		("Cancel", OPEN, 5, "#c0392b"),
		("DBR", OPEN, 5, "#95a5a6"),
		("Won", WON, 100, "#29cd42"),
		("Lost", LOST, 0, "#e24c4c"),
	],
	"Deal funnel": [
		("New Deal", OPEN, 10, "#2490ef"),
		("Awaiting Final Approval", OPEN, 60, "#5e64ff"),
		("Awaiting Payment", OPEN, 90, "#8e44ad"),
		("Hold", OPEN, 20, "#e67e22"),
		("Deal Won", WON, 100, "#29cd42"),
		("Deal Lost", LOST, 0, "#e24c4c"),
	],
	"Sales funnel": [
		("New", OPEN, 10, "#7c8ea5"),
		("Qualification", OPEN, 20, "#2490ef"),
		("Proposal", OPEN, 40, "#5e64ff"),
		("Negotiation", OPEN, 60, "#8e44ad"),
		("Closing", OPEN, 80, "#e67e22"),
		("Won", WON, 100, "#29cd42"),
		("Lost", LOST, 0, "#e24c4c"),
	],
}


# Automation set up with a template: team fields naming stages, stages marked abandonable, team flags.
TEMPLATE_AUTOMATION: dict[str, dict] = {
	"Appointment funnel": {
		"stages": {
			"booked_stage": "Call before intake",
			"appointment_day_stage": "Intake",
			"no_show_stage": "No Show",
			"cancelled_stage": "Cancel",
			"replied_stage": "Contact replied",
		},
		"abandonable": ("Opt In", "Contact replied", "Call before intake"),
		"flags": {"create_opportunity_from_inbound": 1},
	},
}


def create_stages_from_template(team: str, template: str) -> list[str]:
	"""Creates the template's stages for a team that has none yet; returns their names."""
	if template not in FUNNEL_TEMPLATES:
		frappe.throw(
			_("Unknown funnel template {0}").format(frappe.bold(template)), title=_("Invalid Template")
		)
	if frappe.db.exists("Funnel Stage", {"team": team}):
		return []
	names = []
	for sequence, (stage_name, stage_type, probability, color) in enumerate(FUNNEL_TEMPLATES[template], 1):
		stage = frappe.get_doc(
			{
				"doctype": "Funnel Stage",
				"team": team,
				"stage_name": _(stage_name),
				"stage_type": stage_type,
				"sequence": sequence * 10,
				"probability": probability,
				"color": color,
			}
		)
		stage.insert(ignore_permissions=True)
		names.append(stage.name)
	_apply_template_automation(
		team, template, dict(zip((s[0] for s in FUNNEL_TEMPLATES[template]), names, strict=True))
	)
	return names


def _apply_template_automation(team: str, template: str, stage_names: dict[str, str]) -> None:
	automation = TEMPLATE_AUTOMATION.get(template)
	if not automation:
		return
	for stage in automation["abandonable"]:
		frappe.db.set_value("Funnel Stage", stage_names[stage], "abandonable", 1)
	values = {field: stage_names[stage] for field, stage in automation["stages"].items()}
	values.update(automation["flags"])
	frappe.db.set_value("Pipeline Team", team, values)


def get_team_stages(team: str) -> list[frappe._dict]:
	"""The team's stages in board order, the one order of the app: the board's columns, the rules'
	first stage, the reports' rows. Trusted server code (callers check the team first)."""
	# a constant statement: Frappe's query building cost more than the query (read on every save)
	return frappe.db.sql(
		"""select name, stage_name, stage_type, sequence, probability, color, required_fields,
		allowed_next_stages, entry_roles, leads_only, reach_bit from `tabFunnel Stage`
		where team = %s order by sequence asc, creation asc, name asc""",
		team,
		as_dict=True,
	)


def first_stage(team: str, stage_type: str = OPEN) -> frappe._dict | None:
	return next((s for s in get_team_stages(team) if s.stage_type == stage_type), None)


def get_stage(stage: str) -> frappe._dict | None:
	# a constant statement, as get_team_stages (read on every save)
	rows = frappe.db.sql(
		"""select name, team, stage_name, stage_type, probability, reach_bit from `tabFunnel Stage`
		where name = %s""",
		stage,
		as_dict=True,
	)
	return rows[0] if rows else None


def apply_stage_rules(doc) -> None:
	"""Keeps team, stage, status and their dependants consistent. `doc` is a Pipeline Opportunity
	being saved; the values it held before come from `doc.get_doc_before_save()`."""
	before = doc.get_doc_before_save()
	team_changed = before is not None and before.team != doc.team
	stage_changed = before is None or before.stage != doc.stage
	status_changed = before is not None and before.status != doc.status

	if not doc.team:
		frappe.throw(_("An opportunity needs a team"), frappe.MandatoryError, title=_("Missing Team"))

	stage = get_stage(doc.stage) if doc.stage else None
	if doc.stage and not stage:
		frappe.throw(_("Stage {0} does not exist").format(frappe.bold(doc.stage)), title=_("Invalid Stage"))

	if team_changed and not (stage_changed and stage and stage.team == doc.team):
		# a new team means the new team's first stage, unless a stage of that team was chosen too
		stage = None
		doc.stage = None
	if stage and stage.team != doc.team:
		frappe.throw(
			_("Stage {0} belongs to team {1}, not to {2}").format(
				frappe.bold(stage.stage_name), frappe.bold(stage.team), frappe.bold(doc.team)
			),
			title=_("Invalid Stage"),
		)
	if not stage:
		stage = first_stage(doc.team)
		if not stage:
			frappe.throw(
				_("Team {0} has no open funnel stage; add stages to its funnel first").format(
					frappe.bold(doc.team)
				),
				title=_("No Funnel Stages"),
			)
		doc.stage = stage.name
		stage_changed = before is None or before.stage != doc.stage

	if before is None and doc.status in (WON, LOST) and stage.stage_type == OPEN:
		status_changed = True  # a record created as Won/Lost (e.g. imported) goes to that stage

	if status_changed and stage_changed and stage.stage_type in OUTCOME_STAGE_TYPES:
		if doc.status != stage.stage_type:
			frappe.throw(
				_("Stage {0} means {1}, but the status was set to {2}").format(
					frappe.bold(stage.stage_name), _(stage.stage_type), _(doc.status)
				),
				title=_("Conflicting Stage and Status"),
			)
	elif status_changed:
		stage = _stage_for_status(doc, stage, before)
	elif stage_changed:
		_status_for_stage(doc, stage)

	if stage_changed:
		doc.probability = stage.probability
	set_journey(doc, before, stage)  # the stages reached, for the reports (pipeline_app/journey.py)
	check_stage_gates(doc, before, get_team_stages(doc.team))
	_validate_outcome_fields(doc, before)
	_validate_amount(doc)
	_validate_owner(doc, team_changed)


def _stage_for_status(doc, stage, before):
	"""The status was set directly (workflow action, REST): move to the matching stage."""
	if doc.status in OUTCOME_STAGE_TYPES:
		outcome_stage = first_stage(doc.team, doc.status)
		if outcome_stage:
			doc.stage = outcome_stage.name
			return outcome_stage
	elif stage.stage_type != OPEN:
		# reopened, held or abandoned from Won/Lost: back to the open stage it was in last
		reopened = _last_open_stage(doc) or first_stage(doc.team)
		doc.stage = reopened.name
		return reopened
	return stage


def _status_for_stage(doc, stage):
	"""The stage was changed (board, form, REST): make the status follow."""
	if stage.stage_type in OUTCOME_STAGE_TYPES:
		doc.status = stage.stage_type
	elif doc.status in OUTCOME_STAGE_TYPES:
		doc.status = OPEN


def _last_open_stage(doc):
	open_stages = {s.name: s for s in get_team_stages(doc.team) if s.stage_type == OPEN}
	if not open_stages or doc.is_new():
		return None
	change = frappe.qb.DocType("Pipeline Stage Change")
	last = (
		frappe.qb.from_(change)
		.select(change.to_value)
		.where(
			(change.opportunity == doc.name)
			& (change.change_type == "Stage")
			& change.to_value.isin(list(open_stages))
		)
		.orderby(change.changed_on, order=frappe.qb.desc)
		.orderby(change.creation, order=frappe.qb.desc)
		.limit(1)
		.run(pluck=True)
	)
	return open_stages[last[0]] if last else None


def _validate_outcome_fields(doc, before) -> None:
	if doc.status == LOST and not doc.lost_reason:
		frappe.throw(
			_("Choose a lost reason before marking the opportunity Lost"),
			frappe.MandatoryError,
			title=_("Missing Lost Reason"),
		)
	if doc.status == ON_HOLD:
		if not doc.on_hold_until:
			frappe.throw(
				_("Set the date the opportunity is on hold until"),
				frappe.MandatoryError,
				title=_("Missing Hold Date"),
			)
		entering_hold = before is None or before.status != ON_HOLD
		if (entering_hold or before.on_hold_until != doc.on_hold_until) and getdate(
			doc.on_hold_until
		) <= getdate(today()):
			frappe.throw(
				_("On Hold Until must be a future date"), frappe.ValidationError, title=_("Invalid Hold Date")
			)
	else:
		doc.on_hold_until = None

	if doc.status in CLOSED_STATUSES:
		if not doc.closed_on or (before is not None and before.status != doc.status):
			doc.closed_on = now_datetime()
	else:
		doc.closed_on = None


def _validate_amount(doc) -> None:
	if doc.get("items"):
		# with item lines, the amount is their total
		for row in doc.items:
			row.amount = flt(row.qty) * flt(row.rate)
		doc.amount = sum(row.amount for row in doc.items)
	if (doc.amount or 0) < 0:
		frappe.throw(_("Amount cannot be negative"), frappe.ValidationError, title=_("Invalid Amount"))
	if doc.probability is not None and not 0 <= doc.probability <= 100:
		frappe.throw(_("Probability must be between 0 and 100"), title=_("Invalid Probability"))
	if not frappe.get_cached_value("Pipeline Team", doc.team, "deal_amount_enabled"):
		doc.amount = 0
	doc.weighted_amount = flt((doc.amount or 0) * (doc.probability or 0) / 100)


def _validate_owner(doc, team_changed: bool) -> None:
	if not doc.opportunity_owner or is_team_member(doc.team, doc.opportunity_owner):
		return
	before = doc.get_doc_before_save()
	if team_changed and before and before.opportunity_owner == doc.opportunity_owner:
		doc.opportunity_owner = None  # the owner stays behind in the old team
		return
	frappe.throw(
		_("{0} is not a member of team {1}").format(
			frappe.bold(doc.opportunity_owner), frappe.bold(doc.team)
		),
		title=_("Invalid Owner"),
	)


# what a bulk writer gives per Pipeline Stage Change row (insert_stage_changes)
STAGE_CHANGE_COLUMNS = (
	"opportunity",
	"team",
	"change_type",
	"from_value",
	"to_value",
	"changed_by",
	"changed_on",
)


def insert_stage_changes(changes, caused_by: tuple[str | None, str | None] = (None, None)) -> None:
	"""Pipeline Stage Change rows in one statement, for bulk writers (the abandonment job, the demo):
	each change is a tuple in STAGE_CHANGE_COLUMNS order, completed with the name and bookkeeping
	columns a document insert would set (created and modified when changed, owned by who changed).
	`caused_by`: the (doctype, name) that made them all, as record_changes names it."""
	changes = list(changes)
	insert_rows(
		"Pipeline Stage Change",
		[
			"name",
			*STAGE_CHANGE_COLUMNS,
			"caused_by_doctype",
			"caused_by",
			"creation",
			"modified",
			"owner",
			"modified_by",
		],
		[
			(name, *change, *caused_by, change[6], change[6], change[5], change[5])
			for name, change in zip(bulk_names(len(changes)), changes, strict=True)
		],
	)


def record_changes(doc) -> None:
	"""Logs each stage and status change (from, to, who, when) as a Pipeline Stage Change, the
	history that time-in-stage reports read (rows are never rewritten, except `left_on`: end_stays). Called after every insert and save. A move
	caused by another document (an ERPNext quotation or order) names it: `doc.flags.caused_by` is
	its (doctype, name).

	The rows are written straight to the table (as the demo's bulk insert does, with the same
	columns): a bookkeeping row needs none of the document machinery Frappe runs on
	every insert (its hooks, realtime, global search), which cost a board move about a quarter of its
	time."""
	before = doc.get_doc_before_save()
	now = now_datetime()
	caused_by_doctype, caused_by = doc.flags.caused_by or (None, None)
	for change_type, fieldname in (("Stage", "stage"), ("Status", "status")):
		old = before.get(fieldname) if before is not None else None
		new = doc.get(fieldname)
		if old != new:
			row = frappe.get_doc(
				{
					"doctype": "Pipeline Stage Change",
					"opportunity": doc.name,
					"team": doc.team,
					"change_type": change_type,
					"from_value": old,
					"to_value": new,
					"changed_by": frappe.session.user,
					"changed_on": now,
					"caused_by_doctype": caused_by_doctype,
					"caused_by": caused_by,
				}
			)
			row.set_new_name()
			row.set_user_and_timestamp()
			row.db_insert()
			if change_type == "Stage" and before is not None:
				end_stays([doc.name], now, keep=row.name)
	if before is None or before.status != doc.status:
		if doc.status in CLOSED_STATUSES:
			end_stays([doc.name], doc.closed_on or now)
		elif before is not None and before.status in CLOSED_STATUSES:
			reopen_stay(doc.name, doc.stage)


def end_stays(names, when, keep: str | None = None) -> None:
	"""The opportunities left the stage they were in at `when` (a move, or their closing): their stays
	still open in the history end then (`left_on`), except the row `keep` (the stage entered now)."""
	change = frappe.qb.DocType("Pipeline Stage Change")
	condition = (
		change.opportunity.isin(list(names)) & (change.change_type == "Stage") & change.left_on.isnull()
	)
	if keep:
		condition &= change.name != keep
	frappe.qb.update(change).set(change.left_on, when).where(condition).run()


def end_stays_at_closing(names) -> None:
	"""For bulk writers (the demo, the backfill patch): the open stays of those of `names` that are
	Won, Lost or Abandoned end when each closed (its `closed_on`), as end_stays records a closing."""
	names = list(names)
	if not names:
		return
	frappe.db.sql(
		"""update `tabPipeline Stage Change` c
		join `tabPipeline Opportunity` o on o.name = c.opportunity
		set c.left_on = coalesce(o.closed_on, o.modified)
		where c.opportunity in %(names)s and c.change_type = 'Stage' and c.left_on is null
			and o.status in %(closed)s""",
		{"names": tuple(names), "closed": tuple(sorted(CLOSED_STATUSES))},
	)


def reopen_stay(name: str, stage: str) -> None:
	"""A closed opportunity reopened in the stage it stayed in: that stay goes on (its latest stage
	row is open again)."""
	change = frappe.qb.DocType("Pipeline Stage Change")
	latest = (
		frappe.qb.from_(change)
		.select(change.name, change.to_value)
		.where((change.opportunity == name) & (change.change_type == "Stage"))
		.orderby(change.changed_on, order=frappe.qb.desc)
		.orderby(change.creation, order=frappe.qb.desc)
		.limit(1)
		.run()
	)
	if latest and latest[0][1] == stage:
		frappe.qb.update(change).set(change.left_on, None).where(change.name == latest[0][0]).run()
