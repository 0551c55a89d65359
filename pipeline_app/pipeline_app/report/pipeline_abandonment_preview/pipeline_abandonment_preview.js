// Copyright (c) 2026, Pipeline App contributors
// For license information, please see license.txt

// What the abandonment job's next nightly run (or one at Run At) would abandon in a team.
frappe.query_reports["Pipeline Abandonment Preview"] = {
	filters: [
		pipeline_app.team_report_filters()[0],
		{
			fieldname: "run_at",
			label: __("Run At"),
			fieldtype: "Datetime",
			// the nightly run
			default: frappe.datetime.add_days(frappe.datetime.get_today(), 1) + " 00:00:00",
		},
	],
	onload: pipeline_app.select_first_team,
};
