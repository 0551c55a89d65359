# Copyright (c) 2026, Pipeline App contributors
# For license information, please see license.txt

"""How long a team's opportunities stay in each stage, read from the stage history
(Pipeline Stage Change): every entry into a stage within the period, and when the opportunity left it
(its next stage change, or its closing). Stays not over yet are counted apart, with their age."""

import frappe
from frappe import _
from frappe.utils import flt, get_datetime, now_datetime

from pipeline_app.funnel import OPEN, get_team_stages
from pipeline_app.reporting import keeps_report_unprepared, stage_chart, stage_columns, validate_team_filters

DAY_SECONDS = 86400
DURATION_FIELDS = (
	"moved_on",
	"average_days",
	"median_days",
	"longest_days",
	"still_there",
	"average_age_days",
)


@keeps_report_unprepared("Pipeline Time in Stage")
def execute(filters: dict | None = None):
	filters = frappe._dict(filters or {})
	team = validate_team_filters(filters)
	stages = get_team_stages(team)
	rows = summarise(stages, get_stage_figures(team, stages, filters))
	return (
		get_columns(),
		rows,
		None,
		stage_chart(rows, "average_days", _("Average Days"), "#5e64ff"),
		get_summary(rows),
	)


def get_stage_figures(team: str, stages, filters) -> dict[str, frappe._dict]:
	"""Per stage of the team: the entries into it within the period, how many have ended (`left_on`:
	the opportunity's next stage change, or its closing) and after how many days (average, median,
	longest), and how many have not, for how long so far. Added up in SQL, per stage from one range of
	the covering index (team, change_type, to_value, changed_on, left_on), and for an open stage the
	middle of its ended stays in order for the median. Read after the permission check on the team."""
	values = {
		"team": team,
		"from": get_datetime(filters.from_date),
		"to": get_datetime(f"{filters.to_date} 23:59:59.999999"),
		"now": now_datetime(),
		"day": DAY_SECONDS * 1_000_000,
	}
	join, owner = "", ""
	if filters.get("opportunity_owner"):
		join = "join `tabPipeline Opportunity` o on o.name = c.opportunity"
		owner = "and o.opportunity_owner = %(owner)s"
		values["owner"] = filters.opportunity_owner
	entries = f"""from `tabPipeline Stage Change` c {join}
		where c.team = %(team)s and c.change_type = 'Stage' and c.to_value = %(stage)s
			and c.changed_on between %(from)s and %(to)s {owner}"""
	duration = "greatest(timestampdiff(microsecond, c.changed_on, c.left_on), 0) / %(day)s"
	figures = {}
	for stage in stages:
		stage_values = {**values, "stage": stage.name}
		if stage.stage_type != OPEN:  # Won / Lost stages end the journey: only entries count
			figures[stage.name] = frappe._dict(
				entered=frappe.db.sql(f"select count(*) {entries}", stage_values)[0][0]
			)
			continue
		figure = frappe.db.sql(
			f"""select count(*) as entered, count(c.left_on) as moved_on,
				avg({duration}) as average_days, max({duration}) as longest_days,
				count(*) - count(c.left_on) as still_there,
				avg(if(c.left_on is null,
					greatest(timestampdiff(microsecond, c.changed_on, %(now)s), 0) / %(day)s, null)
				) as average_age_days
			{entries}""",
			stage_values,
			as_dict=True,
		)[0]
		if figure.moved_on:
			# the middle one or two of the stage's ended stays, in order of length
			middle = frappe.db.sql(
				f"""select {duration} as days {entries} and c.left_on is not null
				order by days limit %(offset)s, %(count)s""",
				{**stage_values, "offset": (figure.moved_on - 1) // 2, "count": 2 - figure.moved_on % 2},
				pluck=True,
			)
			figure.median_days = sum(middle) / len(middle) if middle else None
		figures[stage.name] = figure
	return figures


def summarise(stages, figures: dict[str, frappe._dict]) -> list[dict]:
	rows = []
	for stage in stages:
		figure = figures.get(stage.name) or frappe._dict(entered=0, moved_on=0, still_there=0)
		row = {
			"stage": stage.name,
			"stage_name": _(stage.stage_name),  # in the user's language, as the board shows it
			"stage_type": _(stage.stage_type),
			"entered": int(figure.entered or 0),
		}
		if stage.stage_type != OPEN:  # Won / Lost stages end the journey: only entries count
			rows.append({**row, **dict.fromkeys(DURATION_FIELDS)})
			continue
		rows.append(
			{
				**row,
				"moved_on": int(figure.moved_on or 0),
				"average_days": days(figure.get("average_days")),
				"median_days": days(figure.get("median_days")),
				"longest_days": days(figure.get("longest_days")),
				"still_there": int(figure.still_there or 0),
				"average_age_days": days(figure.get("average_age_days")),
			}
		)
	return rows


def days(value) -> float | None:
	return None if value is None else flt(value, 2)


def get_columns() -> list[dict]:
	return [
		*stage_columns(),
		{"fieldname": "entered", "label": _("Entered"), "fieldtype": "Int", "width": 90},
		{"fieldname": "moved_on", "label": _("Moved On"), "fieldtype": "Int", "width": 100},
		{
			"fieldname": "average_days",
			"label": _("Average Days"),
			"fieldtype": "Float",
			"precision": 1,
			"width": 120,
		},
		{
			"fieldname": "median_days",
			"label": _("Median Days"),
			"fieldtype": "Float",
			"precision": 1,
			"width": 120,
		},
		{
			"fieldname": "longest_days",
			"label": _("Longest Days"),
			"fieldtype": "Float",
			"precision": 1,
			"width": 120,
		},
		{"fieldname": "still_there", "label": _("Still There"), "fieldtype": "Int", "width": 100},
		{
			"fieldname": "average_age_days",
			"label": _("Days There So Far"),
			"fieldtype": "Float",
			"precision": 1,
			"width": 140,
		},
	]


def get_summary(rows) -> list[dict]:
	entered = sum(row["entered"] for row in rows)
	still = sum(row.get("still_there") or 0 for row in rows)
	return [
		{"value": entered, "label": _("Stage Entries"), "datatype": "Int", "indicator": "Blue"},
		{"value": still, "label": _("Still In Their Stage"), "datatype": "Int", "indicator": "Orange"},
	]
