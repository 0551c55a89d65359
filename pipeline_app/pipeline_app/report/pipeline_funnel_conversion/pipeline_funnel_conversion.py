# Copyright (c) 2026, Pipeline App contributors
# For license information, please see license.txt

"""How a team's funnel converts: of the opportunities created in a period, how many reached each
stage (entered it, or got past it to a later stage or to Won), the share of the stage before that
went on, and how many were won and lost. Read from the stage history (Pipeline Stage Change)."""

import frappe
from frappe import _
from frappe.utils import flt, get_datetime

from pipeline_app.funnel import LOST, OPEN, WON, get_team_stages
from pipeline_app.reporting import keeps_report_unprepared, stage_chart, stage_columns, validate_team_filters


@keeps_report_unprepared("Pipeline Funnel Conversion")
def execute(filters: dict | None = None):
	filters = frappe._dict(filters or {})
	team = validate_team_filters(filters)
	journeys = get_journeys(team, filters)
	rows = summarise(team, journeys)
	return (
		get_columns(),
		rows,
		None,
		stage_chart(rows, "reached", _("Reached"), "#29cd42"),
		get_summary(journeys),
	)


def get_journeys(team: str, filters) -> list[frappe._dict]:
	"""Per opportunity created in the period: the stages it entered and its status now. Read after
	the permission check on the team."""
	values = {
		"team": team,
		"from": get_datetime(filters.from_date),
		"to": get_datetime(f"{filters.to_date} 23:59:59.999999"),
	}
	conditions = ""
	if filters.get("opportunity_owner"):
		conditions = "and o.opportunity_owner = %(owner)s"
		values["owner"] = filters.opportunity_owner
	rows = frappe.db.sql(
		f"""
		select o.name, o.status, c.to_value as stage
		from `tabPipeline Opportunity` o
		left join `tabPipeline Stage Change` c
			on c.opportunity = o.name and c.change_type = 'Stage' and c.team = %(team)s
		where o.team = %(team)s and o.creation between %(from)s and %(to)s {conditions}
		""",
		values,
		as_dict=True,
	)
	journeys: dict[str, frappe._dict] = {}
	for row in rows:
		journey = journeys.setdefault(row.name, frappe._dict(status=row.status, stages=set()))
		if row.stage:
			journey.stages.add(row.stage)
	return list(journeys.values())


def summarise(team: str, journeys) -> list[dict]:
	stages = get_team_stages(team)
	open_stages = [s for s in stages if s.stage_type == OPEN]
	position = {s.name: index for index, s in enumerate(open_stages)}
	won_stages = {s.name for s in stages if s.stage_type == WON}

	def furthest(journey) -> int:
		"""How far along the open stages it got; past all of them when won."""
		if journey.status == WON or journey.stages & won_stages:
			return len(open_stages)
		reached = [position[stage] for stage in journey.stages if stage in position]
		return max(reached, default=-1)

	def row(stage, reached: int, previous: int | None) -> dict:
		return {
			"stage": stage.name,
			"stage_name": stage.stage_name,
			"stage_type": stage.stage_type,
			"reached": reached,
			"share_of_all": flt(100 * reached / len(journeys), 1) if journeys else None,
			"from_previous": flt(100 * reached / previous, 1) if previous else None,
		}

	depth = [furthest(journey) for journey in journeys]
	rows, previous = [], None
	for index, stage in enumerate(open_stages):
		reached = sum(1 for d in depth if d >= index)
		rows.append(row(stage, reached, previous))
		previous = reached
	for stage in stages:  # the outcome stages: how many ended there
		if stage.stage_type != OPEN:
			rows.append(row(stage, sum(1 for journey in journeys if stage.name in journey.stages), None))
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


def get_summary(journeys) -> list[dict]:
	created = len(journeys)
	won = sum(1 for journey in journeys if journey.status == WON)
	lost = sum(1 for journey in journeys if journey.status == LOST)
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
