# Copyright (c) 2026, Pipeline App contributors
# For license information, please see license.txt

"""How long a team's opportunities stay in each stage, read from the append-only stage history
(Pipeline Stage Change): every entry into a stage within the period, and when the opportunity left it
(its next stage change, or its closing). Stays not over yet are counted apart, with their age."""

from statistics import median

import frappe
from frappe import _
from frappe.utils import flt, get_datetime, now_datetime, time_diff_in_seconds

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
	stays = get_stays(team, filters)
	rows = summarise(team, stays)
	return (
		get_columns(),
		rows,
		None,
		stage_chart(rows, "average_days", _("Average Days"), "#5e64ff"),
		get_summary(rows),
	)


def get_stays(team: str, filters) -> list[frappe._dict]:
	"""One row per entry into a stage of the team within the period, with when it ended (None while
	the opportunity is still there). Read after the permission check on the team."""
	conditions = ""
	values = {
		"team": team,
		"from": get_datetime(filters.from_date),
		"to": get_datetime(f"{filters.to_date} 23:59:59.999999"),
	}
	if filters.get("opportunity_owner"):
		conditions = "and o.opportunity_owner = %(owner)s"
		values["owner"] = filters.opportunity_owner
	# the team's entries in the period first (an index range), then the later stage changes of those
	# opportunities only (the next change of an entry is never before the period): straight_join keeps
	# MariaDB from reading every opportunity and splitting the history per row (1.6 s at 100k)
	stays = frappe.db.sql(
		f"""
		select straight_join s.opportunity, s.stage, s.entered, s.next_change, o.status, o.closed_on
		from (
			select c.opportunity, c.team, c.to_value as stage, c.changed_on as entered,
				lead(c.changed_on) over (
					partition by c.opportunity order by c.changed_on, c.creation
				) as next_change
			from (
				select distinct opportunity from `tabPipeline Stage Change`
				where team = %(team)s and change_type = 'Stage' and changed_on between %(from)s and %(to)s
			) e
			join `tabPipeline Stage Change` c on c.opportunity = e.opportunity
			where c.change_type = 'Stage' and c.changed_on >= %(from)s
		) s
		join `tabPipeline Opportunity` o on o.name = s.opportunity
		where s.team = %(team)s and s.entered between %(from)s and %(to)s {conditions}
		""",
		values,
		as_dict=True,
	)
	for stay in stays:
		stay.ended = stay.next_change or (stay.closed_on if stay.status in CLOSED_STATUSES else None)
	return stays


def summarise(team: str, stays) -> list[dict]:
	now = now_datetime()
	by_stage: dict[str, dict[str, list[float]]] = {}
	for stay in stays:
		bucket = by_stage.setdefault(stay.stage, {"done": [], "open": []})
		if stay.ended:
			bucket["done"].append(max(time_diff_in_seconds(stay.ended, stay.entered), 0) / DAY_SECONDS)
		else:
			bucket["open"].append(max(time_diff_in_seconds(now, stay.entered), 0) / DAY_SECONDS)
	rows = []
	for stage in get_team_stages(team):
		bucket = by_stage.get(stage.name, {"done": [], "open": []})
		done, still = bucket["done"], bucket["open"]
		if stage.stage_type != OPEN:  # Won / Lost stages end the journey: only entries count
			rows.append(
				{
					"stage": stage.name,
					"stage_name": stage.stage_name,
					"stage_type": stage.stage_type,
					"entered": len(done) + len(still),
					**dict.fromkeys(DURATION_FIELDS),
				}
			)
			continue
		rows.append(
			{
				"stage": stage.name,
				"stage_name": stage.stage_name,
				"stage_type": stage.stage_type,
				"entered": len(done) + len(still),
				"moved_on": len(done),
				"average_days": flt(sum(done) / len(done), 2) if done else None,
				"median_days": flt(median(done), 2) if done else None,
				"longest_days": flt(max(done), 2) if done else None,
				"still_there": len(still),
				"average_age_days": flt(sum(still) / len(still), 2) if still else None,
			}
		)
	return rows


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
