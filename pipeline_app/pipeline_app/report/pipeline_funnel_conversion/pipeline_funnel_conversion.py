# Copyright (c) 2026, Pipeline App contributors
# For license information, please see license.txt

"""How a team's funnel converts: of the opportunities created in a period, how many reached each
stage (entered it, or got past it to a later stage or to Won), the share of the stage before that
went on, and how many were won and lost. Read from each opportunity's Stages Reached (the stages its
history entered, one bit each: pipeline_app/journey.py), one covering index range (team, creation,
status, owner, stages_reached) grouped by status and stages reached, mapped to the stages' current
order and types here; a team with a stage without a bit of its own is read from the history itself."""

import frappe
from frappe import _
from frappe.utils import flt, get_datetime

from pipeline_app.funnel import LOST, OPEN, WON, get_team_stages
from pipeline_app.journey import stages_in
from pipeline_app.reporting import keeps_report_unprepared, stage_chart, stage_columns, validate_team_filters


@keeps_report_unprepared("Pipeline Funnel Conversion")
def execute(filters: dict | None = None):
	filters = frappe._dict(filters or {})
	team = validate_team_filters(filters)
	stages = get_team_stages(team)
	depths = get_depths(team, stages, filters)
	rows = summarise(stages, depths)
	return (
		get_columns(),
		rows,
		None,
		stage_chart(rows, "reached", _("Reached"), "#29cd42"),
		get_summary(depths),
	)


def get_depths(team: str, stages, filters) -> list[frappe._dict]:
	"""The opportunities created in the period, counted by how far along the team's open stages each
	got (`depth`: the index of the furthest open stage it entered, -1 for none, past all of them when
	won), with how many of them are Won and Lost now and how many entered each outcome stage
	(`outcome_<i>`, in the order of the outcome stages). SQL counts the opportunities per status and
	stages reached (a few dozen groups, whatever their number); each group's depth and outcomes come
	from the stages' current order and types. Read after the permission check on the team."""
	bits = [stage.reach_bit for stage in stages]
	if not all(bits) or len(set(bits)) < len(bits):
		return get_depths_from_history(team, stages, filters)  # a stage without a bit of its own
	values = {
		"team": team,
		"from": get_datetime(filters.from_date),
		"to": get_datetime(f"{filters.to_date} 23:59:59.999999"),
	}
	conditions = ""
	if filters.get("opportunity_owner"):
		conditions = "and opportunity_owner = %(owner)s"
		values["owner"] = filters.opportunity_owner
	groups = frappe.db.sql(
		f"""
		select status, stages_reached, count(*) as journeys
		from `tabPipeline Opportunity` force index (reached_index)
		where team = %(team)s and creation between %(from)s and %(to)s {conditions}
		group by status, stages_reached
		""",
		values,
		as_dict=True,
	)
	open_stages = [s for s in stages if s.stage_type == OPEN]
	outcome_stages = [s for s in stages if s.stage_type != OPEN]
	depths: dict[int, frappe._dict] = {}
	for group in groups:
		reached = {stage.name for stage in stages_in(group.stages_reached, stages)}
		won_path = any(s.name in reached for s in stages if s.stage_type == WON)
		furthest = max((i for i, s in enumerate(open_stages) if s.name in reached), default=-1)
		depth = len(open_stages) if group.status == WON or won_path else furthest
		row = depths.setdefault(
			depth,
			frappe._dict(
				depth=depth,
				journeys=0,
				won=0,
				lost=0,
				**{f"outcome_{i}": 0 for i in range(len(outcome_stages))},
			),
		)
		row.journeys += group.journeys
		row.won += group.journeys if group.status == WON else 0
		row.lost += group.journeys if group.status == LOST else 0
		for i, stage in enumerate(outcome_stages):
			if stage.name in reached:
				row[f"outcome_{i}"] += group.journeys
	return list(depths.values())


def get_depths_from_history(team: str, stages, filters) -> list[frappe._dict]:
	"""get_depths read from the stage history itself, every opportunity's rows: for a team with more
	stages than bits (journey.MAX_REACH_BIT) or two stages given one bit (created at the same
	instant), and the reference the tests hold get_depths to."""
	open_stages = [s.name for s in stages if s.stage_type == OPEN]
	won_stages = [s.name for s in stages if s.stage_type == WON]
	outcome_stages = [s.name for s in stages if s.stage_type != OPEN]
	values = {
		"team": team,
		"from": get_datetime(filters.from_date),
		"to": get_datetime(f"{filters.to_date} 23:59:59.999999"),
		"past": len(open_stages),
	}
	# stage names go in as parameters, never as SQL text
	values.update({f"open_{i}": name for i, name in enumerate(open_stages)})
	values.update({f"won_{i}": name for i, name in enumerate(won_stages)})
	values.update({f"outcome_{i}": name for i, name in enumerate(outcome_stages)})
	furthest = (
		"coalesce(max(field(c.to_value, {})), 0) - 1".format(
			", ".join(f"%(open_{i})s" for i in range(len(open_stages)))
		)
		if open_stages
		else "-1"
	)
	won_path = (
		"coalesce(max(c.to_value in ({})), 0)".format(
			", ".join(f"%(won_{i})s" for i in range(len(won_stages)))
		)
		if won_stages
		else "0"
	)
	entered_outcomes = "".join(
		f", coalesce(max(c.to_value = %(outcome_{i})s), 0) as outcome_{i}" for i in range(len(outcome_stages))
	)
	summed_outcomes = "".join(f", sum(outcome_{i}) as outcome_{i}" for i in range(len(outcome_stages)))
	conditions = ""
	if filters.get("opportunity_owner"):
		conditions = "and o.opportunity_owner = %(owner)s"
		values["owner"] = filters.opportunity_owner
	return frappe.db.sql(
		f"""
		select if(j.status = 'Won' or j.won_path, %(past)s, j.furthest) as depth, count(*) as journeys,
			sum(j.status = 'Won') as won, sum(j.status = 'Lost') as lost {summed_outcomes}
		from (
			select o.name, o.status, {furthest} as furthest, {won_path} as won_path {entered_outcomes}
			from `tabPipeline Opportunity` o
			left join `tabPipeline Stage Change` c
				on c.opportunity = o.name and c.change_type = 'Stage' and c.team = %(team)s
			where o.team = %(team)s and o.creation between %(from)s and %(to)s {conditions}
			group by o.name, o.status
		) j
		group by depth
		""",
		values,
		as_dict=True,
	)


def summarise(stages, depths) -> list[dict]:
	open_stages = [s for s in stages if s.stage_type == OPEN]
	outcome_stages = [s for s in stages if s.stage_type != OPEN]
	created = sum(d.journeys for d in depths)

	def row(stage, reached: int, previous: int | None) -> dict:
		return {
			"stage": stage.name,
			"stage_name": _(stage.stage_name),  # in the user's language, as the board shows it
			"stage_type": _(stage.stage_type),
			"reached": reached,
			"share_of_all": flt(100 * reached / created, 1) if created else None,
			"from_previous": flt(100 * reached / previous, 1) if previous else None,
		}

	rows, previous = [], None
	for index, stage in enumerate(open_stages):
		reached = int(sum(d.journeys for d in depths if d.depth >= index))
		rows.append(row(stage, reached, previous))
		previous = reached
	# the outcome stages: how many ended there
	outcomes = {
		stage.name: int(sum(d[f"outcome_{i}"] for d in depths)) for i, stage in enumerate(outcome_stages)
	}
	rows += [row(stage, outcomes[stage.name], None) for stage in stages if stage.stage_type != OPEN]
	return rows


def get_columns() -> list[dict]:
	return [
		*stage_columns(),
		{"fieldname": "reached", "label": _("Reached"), "fieldtype": "Int", "width": 100},
		{"fieldname": "share_of_all", "label": _("% of Created"), "fieldtype": "Percent", "width": 120},
		{
			"fieldname": "from_previous",
			"label": _("% from Previous Stage"),
			"fieldtype": "Percent",
			"width": 170,
		},
	]


def get_summary(depths) -> list[dict]:
	created = int(sum(d.journeys for d in depths))
	won = int(sum(d.won for d in depths))
	lost = int(sum(d.lost for d in depths))
	return [
		{"value": created, "label": _("Created"), "datatype": "Int", "indicator": "Blue"},
		{"value": won, "label": _("Won"), "datatype": "Int", "indicator": "Green"},
		{"value": lost, "label": _("Lost"), "datatype": "Int", "indicator": "Red"},
		{
			"value": flt(100 * won / (won + lost), 1) if won + lost else 0,
			"label": _("Win Rate (of Closed)"),
			"datatype": "Percent",
			"indicator": "Green",
		},
	]
