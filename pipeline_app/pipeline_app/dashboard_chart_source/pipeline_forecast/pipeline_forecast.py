"""The workspace's Forecast chart: one team's next six months as the Pipeline Forecast report shows
them (won, and open weighted by probability; counts where the team tracks no amounts)."""

import frappe
from frappe import _
from frappe.utils import add_months, get_first_day, get_last_day, today

from pipeline_app.api import _readable_team
from pipeline_app.pipeline_app.report.pipeline_forecast.pipeline_forecast import (
	DEFAULT_MONTHS,
	forecast_chart,
	get_forecast,
)
from pipeline_app.reporting import months_between, team_amounts
from pipeline_app.validation import parse_json_argument


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
	frappe.has_permission("Pipeline Opportunity", "read", throw=True)
	filters = parse_json_argument("filters", filters, dict) or {}
	team = filters.get("team")
	if team is not None and not isinstance(team, str):
		frappe.throw(_("Choose one team"), title=_("Invalid Filter"))
	start = get_first_day(today())
	end = get_last_day(add_months(start, DEFAULT_MONTHS - 1))
	months = months_between(start, end)
	if not team:
		teams = frappe.get_list("Pipeline Team", pluck="name", order_by="name asc", limit=1)
		if not teams:
			return forecast_chart([], months, False, None)["data"]
		team = teams[0]
	_readable_team(team)
	tracks_amounts, currency = team_amounts(team)
	return forecast_chart(get_forecast(team, start, end), months, tracks_amounts, currency)["data"]
