"""The workspace's Forecast chart: one team's next six months as the Pipeline Forecast report shows
them (won, and open weighted by probability; counts where the team tracks no amounts)."""

import frappe
from frappe.utils import add_months, get_first_day, get_last_day, today

from pipeline_app.pipeline_app.report.pipeline_forecast.pipeline_forecast import (
	DEFAULT_MONTHS,
	forecast_chart,
	get_forecast,
)
from pipeline_app.reporting import chart_team, months_between, team_amounts


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
	start = get_first_day(today())
	end = get_last_day(add_months(start, DEFAULT_MONTHS - 1))
	months = months_between(start, end)
	team = chart_team(filters)
	if not team:
		return forecast_chart([], months, False, None)["data"]
	tracks_amounts, currency = team_amounts(team)
	return forecast_chart(get_forecast(team, start, end), months, tracks_amounts, currency)["data"]
