// Copyright (c) 2026, Pipeline App contributors
// For license information, please see license.txt

frappe.query_reports["Pipeline Time in Stage"] = {
	filters: pipeline_app.team_report_filters(__("From Date"), __("To Date")),
	onload: pipeline_app.select_first_team,
	formatter: pipeline_app.stage_formatter,
};
