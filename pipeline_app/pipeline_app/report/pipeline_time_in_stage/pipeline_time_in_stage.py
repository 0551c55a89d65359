# Copyright (c) 2026, Pipeline App contributors
# For license information, please see license.txt

"""How long a team's opportunities stay in each stage, read from the append-only stage history
(Pipeline Stage Change): every entry into a stage within the period, and when the opportunity left it
(its next stage change, or its closing). Stays not over yet are counted apart, with their age."""

import frappe
from frappe import _
from frappe.utils import flt, get_datetime, now_datetime

from pipeline_app.funnel import CLOSED_STATUSES, OPEN, get_team_stages
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
	rows = summarise(team, get_stage_figures(team, filters))
	return (
		get_columns(),
		rows,
		None,
		stage_chart(rows, "average_days", _("Average Days"), "#5e64ff"),
		get_summary(rows),
	)


def get_stage_figures(team: str, filters) -> dict[str, frappe._dict]:
	"""Per stage of the team: the entries into it within the period, how many ended (the
	opportunity's next stage change, or its closing) and after how many days (average, median,
	longest), and how many have not, for how long so far. Added up in SQL (one row per stage).
	Read after the permission check on the team."""
	conditions = ""
	values = {
		"team": team,
		"from": get_datetime(filters.from_date),
		"to": get_datetime(f"{filters.to_date} 23:59:59.999999"),
		"now": now_datetime(),
		"day": DAY_SECONDS * 1_000_000,
		**{f"closed_{i}": status for i, status in enumerate(sorted(CLOSED_STATUSES))},
	}
	closed = ", ".join(f"%(closed_{i})s" for i in range(len(CLOSED_STATUSES)))
	if filters.get("opportunity_owner"):
		conditions = "and o.opportunity_owner = %(owner)s"
		values["owner"] = filters.opportunity_owner
	# the team's entries in the period first (an index range), then the later stage changes of those
	# opportunities only (the next change of an entry is never before the period): straight_join keeps
	# MariaDB from reading every opportunity and splitting the history per row (1.6 s at 100k)
	rows = frappe.db.sql(
		f"""
		select d.stage, count(*) as entered, count(d.done_days) as moved_on,
			avg(d.done_days) as average_days, max(d.median_days) as median_days,
			max(d.done_days) as longest_days, count(d.age_days) as still_there,
			avg(d.age_days) as average_age_days
		from (
			select t.stage,
				greatest(timestampdiff(microsecond, t.entered, t.ended), 0) / %(day)s as done_days,
				if(t.ended is null,
					greatest(timestampdiff(microsecond, t.entered, %(now)s), 0) / %(day)s, null
				) as age_days,
				median(greatest(timestampdiff(microsecond, t.entered, t.ended), 0) / %(day)s)
					over (partition by t.stage) as median_days
			from (
				select straight_join s.stage, s.entered,
					coalesce(s.next_change, if(o.status in ({closed}), o.closed_on, null)) as ended
				from (
					select c.opportunity, c.team, c.to_value as stage, c.changed_on as entered,
						lead(c.changed_on) over (
							partition by c.opportunity order by c.changed_on, c.creation
						) as next_change
					from (
						select distinct opportunity from `tabPipeline Stage Change`
						where team = %(team)s and change_type = 'Stage'
							and changed_on between %(from)s and %(to)s
					) p
					join `tabPipeline Stage Change` c on c.opportunity = p.opportunity
					where c.change_type = 'Stage' and c.changed_on >= %(from)s
				) s
				join `tabPipeline Opportunity` o on o.name = s.opportunity
				where s.team = %(team)s and s.entered between %(from)s and %(to)s {conditions}
			) t
		) d
		group by d.stage
		""",
		values,
		as_dict=True,
	)
	return {row.stage: row for row in rows}


def summarise(team: str, figures: dict[str, frappe._dict]) -> list[dict]:
	rows = []
	for stage in get_team_stages(team):
		figure = figures.get(stage.name) or frappe._dict(entered=0, moved_on=0, still_there=0)
		row = {
			"stage": stage.name,
			"stage_name": stage.stage_name,
			"stage_type": stage.stage_type,
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
