# Copyright (c) 2026, Pipeline App contributors
# For license information, please see license.txt

"""Why a team wins and loses: the opportunities closed (Won, Lost or Abandoned) in a period, grouped by
owner, source, interest, the stage they were lost from, lost reason or month of closing. Per group:
the outcomes, the win rate with and without the abandoned ones, the days from creation to the outcome
(`closed_on`, set when the status changed to it) and the average deal won. Aggregated in SQL from one
range of a covering index (team, status, closed_on, creation, amount, owner and the group keys), so no
table row is read."""

import frappe
from frappe import _
from frappe.utils import flt, get_datetime

from pipeline_app.funnel import ABANDONED, LOST, WON, get_team_stages
from pipeline_app.reporting import (
	check_period_months,
	keeps_report_unprepared,
	owner_label,
	parse_date_filter,
	team_amounts,
	validate_team_filters,
)

DAY_SECONDS = 86400
OUTCOMES = (WON, LOST, ABANDONED)
# group by → the SQL expression of its key: constant text, chosen by name (never the user's string)
GROUPS = {
	"Owner": "o.opportunity_owner",
	"Source": "o.source",
	"Interest": "o.interest",
	# the open stage it closed from: an abandoned one stays in its stage; a lost (or won) one moved to
	# the outcome stage from the stage its latest move into that stage came from (kept on the
	# opportunity: pipeline_app/journey.py)
	"Stage Lost From": "o.closed_from_stage",
	"Lost Reason": "o.lost_reason",
	"Month": "date_format(o.closed_on, '%%Y-%%m')",
}
# the covering index each grouping reads (two: one holding every group key would pass InnoDB's
# 3,072-byte key limit); Pipeline Opportunity's on_doctype_update makes them
GROUP_INDEXES = {
	"Owner": "closed_index",
	"Source": "closed_index",
	"Interest": "closed_index",
	"Stage Lost From": "closed_reason_index",
	"Lost Reason": "closed_reason_index",
	"Month": "closed_index",
}
DEFAULT_GROUP = "Owner"


def group_labels() -> dict[str, str]:
	return {
		"Owner": _("Owner"),
		"Source": _("Source"),
		"Interest": _("Interest"),
		"Stage Lost From": _("Stage Lost (or Won) From"),
		"Lost Reason": _("Lost Reason"),
		"Month": _("Month Closed"),
	}


@keeps_report_unprepared("Pipeline Win Loss")
def execute(filters: dict | None = None):
	filters = frappe._dict(filters or {})
	team = validate_win_loss_filters(filters)
	tracks_amounts, currency = team_amounts(team)
	groups = get_outcomes(team, filters)
	rows = summarise(team, filters.group_by, groups, currency)
	return (
		get_columns(filters.group_by, tracks_amounts),
		rows,
		None,
		outcome_chart(rows),
		get_summary(rows, tracks_amounts, currency),
	)


def validate_win_loss_filters(filters) -> str:
	group_by = filters.get("group_by") or DEFAULT_GROUP
	if not isinstance(group_by, str) or group_by not in GROUPS:
		frappe.throw(
			_("Group By must be one of {0}").format(", ".join(group_labels().values())),
			title=_("Invalid Filter"),
		)
	filters.group_by = group_by
	parse_date_filter(filters, "from_date")
	parse_date_filter(filters, "to_date")
	team = validate_team_filters(filters)  # the last 90 days of closing by default
	check_period_months(filters)
	return team


def get_outcomes(team: str, filters) -> list[frappe._dict]:
	"""Per group key and outcome: how many, their amount and their days open in total. Trusted: the
	caller checked the team."""
	values = {
		"team": team,
		"outcomes": OUTCOMES,
		"from": get_datetime(filters.from_date),
		"to": get_datetime(f"{filters.to_date} 23:59:59.999999"),
		"owner": filters.get("opportunity_owner"),
	}
	owner_condition = "and o.opportunity_owner = %(owner)s" if filters.get("opportunity_owner") else ""
	return frappe.db.sql(
		f"""
		select {GROUPS[filters.group_by]} as group_key, o.status, count(*) as count,
			sum(o.amount) as amount,
			sum(greatest(timestampdiff(second, o.creation, o.closed_on), 0)) as seconds_open
		from `tabPipeline Opportunity` o force index ({GROUP_INDEXES[filters.group_by]})
		where o.team = %(team)s and o.status in %(outcomes)s
			and o.closed_on between %(from)s and %(to)s {owner_condition}
		group by group_key, o.status
		""",
		values,
		as_dict=True,
	)


def summarise(team: str, group_by: str, groups, currency: str | None) -> list[dict]:
	rows: dict[str | None, dict] = {}
	for group in groups:
		row = rows.setdefault(
			group.group_key,
			{"group_value": group.group_key, "won": 0, "lost": 0, "abandoned": 0, "won_amount": 0.0},
		)
		row.setdefault("seconds", {})[group.status] = flt(group.seconds_open)
		row[group.status.lower()] = group.count
		if group.status == WON:
			row["won_amount"] = flt(group.amount)
	labels, order = group_names(team, group_by, list(rows))
	result = []
	for key, row in rows.items():
		seconds = row.pop("seconds")
		won, lost, abandoned = row["won"], row["lost"], row["abandoned"]
		closed = won + lost + abandoned
		row.update(
			{
				"group": labels.get(key, key),
				"closed": closed,
				"win_rate": flt(100 * won / (won + lost), 1) if won + lost else None,
				"win_rate_with_abandoned": flt(100 * won / closed, 1) if closed else None,
				"average_days_to_close": flt(sum(seconds.values()) / closed / DAY_SECONDS, 1),
				"average_days_to_win": flt(seconds.get(WON, 0) / won / DAY_SECONDS, 1) if won else None,
				"average_deal_size": flt(row["won_amount"] / won, 2) if won else None,
				"currency": currency,
			}
		)
		result.append(row)
	return sorted(result, key=lambda row: order(row["group_value"], row["group"]))


def group_names(team: str, group_by: str, keys: list):
	"""The readable name of each group key, and the order of the rows: funnel order for stages, time
	for months, the field's options for source and interest, names otherwise; no value last."""
	if group_by == "Owner":
		labels = {key: owner_label(key) for key in keys}
	elif group_by == "Stage Lost From":
		stages = get_team_stages(team)
		position = {stage.name: index for index, stage in enumerate(stages)}
		labels = {stage.name: _(stage.stage_name) for stage in stages}  # as the board shows them
		labels[None] = _("Not Recorded")
		return labels, lambda key, label: (key is None, position.get(key, len(stages)), label.lower())
	elif group_by in ("Source", "Interest"):
		options = frappe.get_meta("Pipeline Opportunity").get_options(group_by.lower()).split("\n")
		position = {option: index for index, option in enumerate(option for option in options if option)}
		labels = {key: _(key) if key else _("Not Set") for key in keys}
		return labels, lambda key, label: (key is None, position.get(key, len(position)), label.lower())
	else:
		labels = {key: key for key in keys if key}
	labels[None] = _("Unassigned") if group_by == "Owner" else _("Not Set")
	return labels, lambda key, label: (key is None, label.lower())


def get_columns(group_by: str, tracks_amounts: bool) -> list[dict]:
	columns = [
		{"fieldname": "group", "label": group_labels()[group_by], "fieldtype": "Data", "width": 200},
		{"fieldname": "won", "label": _("Won"), "fieldtype": "Int", "width": 80},
		{"fieldname": "lost", "label": _("Lost"), "fieldtype": "Int", "width": 80},
		{"fieldname": "abandoned", "label": _("Abandoned"), "fieldtype": "Int", "width": 100},
		{"fieldname": "closed", "label": _("Closed"), "fieldtype": "Int", "width": 80},
		{
			"fieldname": "win_rate",
			"label": _("Win Rate without Abandoned (Won ÷ Won + Lost)"),
			"fieldtype": "Percent",
			"width": 280,
		},
		{
			"fieldname": "win_rate_with_abandoned",
			"label": _("Win Rate with Abandoned (Won ÷ Won + Lost + Abandoned)"),
			"fieldtype": "Percent",
			"width": 330,
		},
		{
			"fieldname": "average_days_to_close",
			"label": _("Average Days to Close (All Outcomes)"),
			"fieldtype": "Float",
			"precision": 1,
			"width": 250,
		},
		{
			"fieldname": "average_days_to_win",
			"label": _("Average Days to Win"),
			"fieldtype": "Float",
			"precision": 1,
			"width": 160,
		},
	]
	if tracks_amounts:
		columns += [
			{
				"fieldname": "won_amount",
				"label": _("Won Amount"),
				"fieldtype": "Currency",
				"options": "currency",
				"width": 140,
			},
			{
				"fieldname": "average_deal_size",
				"label": _("Average Deal Size (Won Amount ÷ Won)"),
				"fieldtype": "Currency",
				"options": "currency",
				"width": 250,
			},
		]
	columns.append(
		{
			"fieldname": "currency",
			"label": _("Currency"),
			"fieldtype": "Link",
			"options": "Currency",
			"hidden": 1,
		}
	)
	return columns


def outcome_chart(rows) -> dict:
	"""A stacked bar per group: won, lost, abandoned."""
	return {
		"data": {
			"labels": [row["group"] for row in rows],
			"datasets": [
				{"name": _("Won"), "values": [row["won"] for row in rows]},
				{"name": _("Lost"), "values": [row["lost"] for row in rows]},
				{"name": _("Abandoned"), "values": [row["abandoned"] for row in rows]},
			],
		},
		"type": "bar",
		"barOptions": {"stacked": 1},
		"colors": ["#29cd42", "#e24c4c", "#95a5a6"],
	}


def get_summary(rows, tracks_amounts: bool, currency: str | None) -> list[dict]:
	won = sum(row["won"] for row in rows)
	lost = sum(row["lost"] for row in rows)
	abandoned = sum(row["abandoned"] for row in rows)
	won_amount = sum(row["won_amount"] for row in rows)
	summary = [
		{"value": won, "label": _("Won"), "datatype": "Int", "indicator": "Green"},
		{"value": lost, "label": _("Lost"), "datatype": "Int", "indicator": "Red"},
		{"value": abandoned, "label": _("Abandoned"), "datatype": "Int", "indicator": "Grey"},
		{
			"value": flt(100 * won / (won + lost), 1) if won + lost else 0,
			"label": _("Win Rate without Abandoned"),
			"datatype": "Percent",
			"indicator": "Green",
		},
		{
			"value": flt(100 * won / (won + lost + abandoned), 1) if won + lost + abandoned else 0,
			"label": _("Win Rate with Abandoned"),
			"datatype": "Percent",
			"indicator": "Blue",
		},
	]
	if tracks_amounts:
		summary.append(
			{
				"value": flt(won_amount / won, 2) if won else 0,
				"label": _("Average Deal Size"),
				"datatype": "Currency",
				"currency": currency,
				"indicator": "Purple",
			}
		)
	return summary
