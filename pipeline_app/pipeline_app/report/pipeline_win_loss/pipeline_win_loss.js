// Copyright (c) 2026, Pipeline App contributors
// For license information, please see license.txt

// The team reports' filters over the period of closing, and what to group the outcomes by.
frappe.query_reports["Pipeline Win Loss"] = {
	filters: [
		...pipeline_app.team_report_filters(__("Closed From"), __("Closed To")),
		{
			fieldname: "group_by",
			label: __("Group By"),
			fieldtype: "Select",
			options: [
				{ value: "Owner", label: __("Owner") },
				{ value: "Source", label: __("Source") },
				{ value: "Interest", label: __("Interest") },
				{ value: "Stage Lost From", label: __("Stage Lost From") },
				{ value: "Lost Reason", label: __("Lost Reason") },
				{ value: "Month", label: __("Month Closed") },
			],
			default: "Owner",
			reqd: 1,
		},
	],
	onload: pipeline_app.select_first_team,
};
