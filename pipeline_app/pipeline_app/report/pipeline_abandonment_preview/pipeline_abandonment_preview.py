# Copyright (c) 2026, Pipeline App contributors
# For license information, please see license.txt

"""What the abandonment job would abandon in a team if it ran now, and why: the job's own query
(automation.abandonment.due_opportunities), so the preview and the run cannot disagree."""

import frappe
from frappe import _
from frappe.utils import add_days, date_diff, get_datetime, today

from pipeline_app.automation.abandonment import due_opportunities
from pipeline_app.reporting import keeps_report_unprepared, validate_team

LIMIT = 1000  # rows shown; the summary counts them all up to this many


@keeps_report_unprepared("Pipeline Abandonment Preview")
def execute(filters: dict | None = None):
	filters = frappe._dict(filters or {})
	team = validate_team(filters)
	run_at = next_run(filters)
	days = frappe.db.get_value("Pipeline Team", team, "abandon_after_days") or 0
	enabled = frappe.db.get_single_value("Pipeline Settings", "abandonment_enabled")
	names = due_opportunities(team, days, LIMIT, run_at) if enabled else []
	rows = get_rows(names, days, run_at)
	return get_columns(), rows, get_message(enabled, days, len(rows)), None, None


def next_run(filters):
	"""The run previewed: `run_at`, by default the next nightly run (the daily jobs start at midnight)."""
	value = filters.get("run_at")
	if value and not isinstance(value, str):
		frappe.throw(_("Run At must be a date and time"), title=_("Invalid Filter"))
	try:
		return get_datetime(value) if value else get_datetime(add_days(today(), 1))
	except Exception:
		frappe.throw(_("Run At must be a date and time"), title=_("Invalid Filter"))


def get_rows(names: list[str], days: int, run_at) -> list[dict]:
	if not names:
		return []
	rows = frappe.get_all(
		"Pipeline Opportunity",
		filters={"name": ("in", names)},
		fields=["name", "title", "stage", "opportunity_owner", "contact", "last_inbound_on", "creation"],
		order_by="name asc",
	)
	for row in rows:
		silent_since = row.last_inbound_on or row.creation
		row.silent_since = silent_since
		row.silent_days = date_diff(run_at, get_datetime(silent_since))
		row.reason = _("No reply for {0} days (the team abandons after {1})").format(row.silent_days, days)
	return rows


def get_message(enabled, days: int, count: int) -> str:
	if not enabled:
		return _("Abandonment is switched off in Pipeline Settings: nothing will be abandoned.")
	if not days:
		return _("This team abandons nothing: its Abandon After (Days) is 0.")
	return _("{0} opportunities would be abandoned by that run, as things stand now.").format(count)


def get_columns() -> list[dict]:
	return [
		{
			"fieldname": "name",
			"label": _("Opportunity"),
			"fieldtype": "Link",
			"options": "Pipeline Opportunity",
			"width": 140,
		},
		{"fieldname": "title", "label": _("Title"), "fieldtype": "Data", "width": 200},
		{
			"fieldname": "stage",
			"label": _("Stage"),
			"fieldtype": "Link",
			"options": "Funnel Stage",
			"width": 180,
		},
		{
			"fieldname": "opportunity_owner",
			"label": _("Owner"),
			"fieldtype": "Link",
			"options": "User",
			"width": 160,
		},
		{
			"fieldname": "contact",
			"label": _("Contact"),
			"fieldtype": "Link",
			"options": "Contact",
			"width": 160,
		},
		{"fieldname": "silent_since", "label": _("Silent Since"), "fieldtype": "Datetime", "width": 160},
		{"fieldname": "silent_days", "label": _("Days Silent"), "fieldtype": "Int", "width": 100},
		{"fieldname": "reason", "label": _("Why"), "fieldtype": "Data", "width": 300},
	]
