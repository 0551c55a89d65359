"""The workspace's Open by Stage chart: one team's open opportunities per stage, in funnel order,
under the stages' own names. The totals are the board's (pipeline_app.board.get_column_totals):
kept column counts for a reader of the whole team, a count of their own cards for anyone else."""

import frappe
from frappe import _

from pipeline_app.board import get_column_totals
from pipeline_app.funnel import get_team_stages
from pipeline_app.reporting import chart_team


@frappe.whitelist()
def get(
	chart_name: str | None = None,
	chart: str | None = None,
	no_cache: str | int | None = None,
	filters: dict | str | None = None,
	from_date: str | None = None,
	to_date: str | None = None,
	timespan: str | None = None,
	time_interval: str | None = None,
	heatmap_year: str | int | None = None,
) -> dict:
	"""Dashboard Chart Source method (the desk's chart widget calls it with the chart's filters).
	`team`: the team shown; the user's first team when not given. Another team's answers as a
	missing one."""
	team = chart_team(filters)
	if not team:
		return {"labels": [], "datasets": [{"name": _("Open"), "values": []}]}
	stages = get_team_stages(team)
	totals = get_column_totals(team, [stage.name for stage in stages], {"status": ["Open"]})
	shown = [s for s in stages if s.stage_type == "Open" or (totals.get(s.name) or {}).get("count")]
	return {
		"labels": [_(stage.stage_name) for stage in shown],  # as the board shows them
		"datasets": [
			{"name": _("Open"), "values": [(totals.get(s.name) or {}).get("count") or 0 for s in shown]}
		],
	}
