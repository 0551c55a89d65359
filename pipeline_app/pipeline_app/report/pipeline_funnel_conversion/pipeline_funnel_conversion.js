// Copyright (c) 2026, Pipeline App contributors
// For license information, please see license.txt

frappe.query_reports["Pipeline Funnel Conversion"] = {
	filters: pipeline_app.team_report_filters(__("Created From"), __("Created To")),
	onload: pipeline_app.select_first_team,
	formatter: pipeline_app.stage_formatter,
};
