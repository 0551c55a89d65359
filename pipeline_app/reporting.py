"""What the team reports (Time in Stage, Funnel Conversion, Forecast, Win Loss) share: their filters,
their chart, the month buckets and the labels of their rows."""

import threading
from functools import wraps

import frappe
from frappe import _
from frappe.core.doctype.report.report import enable_prepared_report
from frappe.utils import add_days, get_fullname, getdate, month_diff, today

from pipeline_app.api import _readable_team
from pipeline_app.validation import parse_json_argument

DEFAULT_PERIOD_DAYS = 90
MAX_PERIOD_MONTHS = 60  # the month reports (Forecast, Win Loss) read at most five years at once


def keeps_report_unprepared(report: str):
	"""For a script report's `execute`. Frappe v15 (before frappe/frappe#31484) starts a 15 s timer
	with each run that turns the report into a prepared report for every user, and cancels it only
	when the run returns: a run that refuses its filters flips the report 15 s later. When `execute`
	raises, this run's timer is cancelled."""

	def decorate(execute):
		@wraps(execute)
		def wrapper(*args, **kwargs):
			try:
				return execute(*args, **kwargs)
			except Exception:
				for timer in prepared_report_timers(report):
					timer.cancel()
				raise

		return wrapper

	return decorate


def prepared_report_timers(report: str) -> list[threading.Timer]:
	"""The live timers that would make `report` a prepared report on this site."""
	return [
		thread
		for thread in threading.enumerate()
		if isinstance(thread, threading.Timer)
		and getattr(thread, "function", None) is enable_prepared_report
		and thread.kwargs.get("report") == report
		and thread.kwargs.get("site") == frappe.local.site
	]


def validate_team(filters) -> str:
	"""Checks the team filter: the user must be able to read the team (the reports read the team's
	rows after this). Returns the team."""
	team = filters.get("team")
	if not team or not isinstance(team, str):
		frappe.throw(_("Choose a team"), title=_("Missing Team"))
	# another team's team fails to load as a missing one does (TeamScopedDocument)
	frappe.get_doc("Pipeline Team", team).check_permission("read")
	return team


def validate_team_filters(filters) -> str:
	"""Checks the team (validate_team) and the period, filling in the last 90 days. Returns the team."""
	team = validate_team(filters)
	owner = filters.get("opportunity_owner")
	if owner and not isinstance(owner, str):
		frappe.throw(_("Choose one owner"), title=_("Invalid Filter"))
	for key in ("from_date", "to_date"):
		if filters.get(key) and not isinstance(filters.get(key), str):
			frappe.throw(_("{0} must be a date").format(frappe.bold(key)), title=_("Invalid Filter"))
	filters.from_date = getdate(filters.get("from_date") or add_days(today(), -DEFAULT_PERIOD_DAYS))
	filters.to_date = getdate(filters.get("to_date") or today())
	if filters.from_date > filters.to_date:
		frappe.throw(_("From Date must be before To Date"), title=_("Invalid Period"))
	return team


def stage_chart(rows, fieldname: str, label: str, color: str) -> dict:
	"""A bar per stage of one column of the report, under the rows' `stage_name` (the stage's name in
	the user's language, as the board shows it)."""
	return {
		"data": {
			"labels": [row["stage_name"] for row in rows],
			"datasets": [{"name": label, "values": [row.get(fieldname) or 0 for row in rows]}],
		},
		"type": "bar",
		"colors": [color],
	}


def stage_columns() -> list[dict]:
	"""The first columns of a team report: the stage and its type."""
	return [
		{
			"fieldname": "stage",
			"label": _("Stage"),
			"fieldtype": "Link",
			"options": "Funnel Stage",
			"width": 220,
		},
		{"fieldname": "stage_type", "label": _("Type"), "fieldtype": "Data", "width": 80},
	]


def parse_date_filter(filters, key: str) -> None:
	"""Turns a date filter given as text into a date, refusing anything else in words."""
	value = filters.get(key)
	if value is None or value == "":
		return
	parsed = None
	if isinstance(value, str):
		try:
			parsed = getdate(value)
		except (ValueError, OverflowError):
			parsed = None
	if not parsed:
		frappe.throw(_("{0} must be a date").format(frappe.bold(key)), title=_("Invalid Filter"))
	filters[key] = str(parsed)


def check_period_months(filters) -> None:
	"""The period (already validated, from_date before to_date) covers at most MAX_PERIOD_MONTHS."""
	if month_diff(filters.to_date, filters.from_date) > MAX_PERIOD_MONTHS:
		frappe.throw(
			_("Choose a period of at most {0} months").format(MAX_PERIOD_MONTHS), title=_("Invalid Period")
		)


def months_between(from_date, to_date) -> list[str]:
	"""Every month from from_date's to to_date's, as the reports name them: YYYY-MM."""
	year, month = getdate(from_date).year, getdate(from_date).month
	last = (getdate(to_date).year, getdate(to_date).month)
	months = []
	while (year, month) <= last:
		months.append(f"{year:04d}-{month:02d}")
		year, month = (year + 1, 1) if month == 12 else (year, month + 1)
	return months


def team_amounts(team: str) -> tuple[bool, str | None]:
	"""Whether the team tracks deal amounts, and in which currency. Trusted: after the team check."""
	tracks, currency = frappe.get_cached_value("Pipeline Team", team, ["deal_amount_enabled", "currency"])
	return bool(tracks), currency


def owner_label(owner: str | None) -> str:
	return get_fullname(owner) if owner else _("Unassigned")


def chart_team(filters) -> str | None:
	"""The team a workspace chart (a Dashboard Chart Source) shows: its `team` filter, or the user's
	first team; None when the user has none. Another team's fails as a missing one does."""
	frappe.has_permission("Pipeline Opportunity", "read", throw=True)
	filters = parse_json_argument("filters", filters, dict) or {}
	team = filters.get("team")
	if team is not None and not isinstance(team, str):
		frappe.throw(_("Choose one team"), title=_("Invalid Filter"))
	if not team:
		teams = frappe.get_list("Pipeline Team", pluck="name", order_by="name asc", limit=1)
		if not teams:
			return None
		team = teams[0]
	_readable_team(team)
	return team


@frappe.whitelist()
def open_value_card(filters: str | None = None) -> str:
	"""The workspace's *Open Value* number card (a Custom card): the open amount of the opportunities
	the user may read, in each team's own currency. `filters` (the card's, as JSON) is not needed."""
	return value_card("amount")


@frappe.whitelist()
def weighted_value_card(filters: str | None = None) -> str:
	"""The workspace's *Weighted Value* number card: amount x probability, as open_value_card."""
	return value_card("weighted_amount")


def value_card(field: str) -> str:
	"""Only teams that track amounts count; each currency is summed apart (never added across
	currencies) and shown formatted, like `€ 12,300 · $ 4,000`; a user whose teams track no amounts
	reads "No amounts tracked". Through frappe.get_list: what the user may read."""
	frappe.has_permission("Pipeline Opportunity", "read", throw=True)
	teams = frappe.get_list(
		"Pipeline Team", filters={"deal_amount_enabled": 1}, fields=["name", "currency"], limit_page_length=0
	)
	if not teams:
		return _("No amounts tracked")
	default = frappe.db.get_default("currency")
	totals: dict[str, float] = {}
	# one team at a time: each is one range of the covering open_value_index (team, status, currency,
	# amount, weighted_amount); with all the teams in one `in`, MariaDB read the rows of every open
	# opportunity by the status index instead (1.4 s for a manager at a million, 60 ms this way)
	rows = [
		row
		for team in teams
		for row in frappe.get_list(
			"Pipeline Opportunity",
			filters={"status": "Open", "team": team.name},
			fields=["currency", f"sum({field}) as total"],
			group_by="currency",
			order_by="currency asc",
			limit_page_length=0,
		)
	]
	for row in sorted(rows, key=lambda row: row.currency or ""):
		currency = row.currency or default
		totals[currency] = totals.get(currency, 0) + (row.total or 0)
	if not totals:
		totals = {teams[0].currency or default: 0}
	return " · ".join(
		frappe.utils.fmt_money(total, precision=0, currency=currency) for currency, total in totals.items()
	)
