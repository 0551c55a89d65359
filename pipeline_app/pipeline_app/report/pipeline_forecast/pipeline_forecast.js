// Copyright (c) 2026, Pipeline App contributors
// For license information, please see license.txt

// The team reports' filters, over whole months of expected closing: this month and the next five.
frappe.query_reports["Pipeline Forecast"] = {
	filters: pipeline_app
		.team_report_filters(__("Expected Close From"), __("Expected Close To"))
		.map((filter) => {
			if (filter.fieldname === "from_date") {
				return { ...filter, default: frappe.datetime.month_start() };
			}
			if (filter.fieldname === "to_date") {
				return {
					...filter,
					default: frappe.datetime.add_months(frappe.datetime.month_start(), 5),
				};
			}
			return filter;
		}),
	onload: pipeline_app.select_first_team,
};
