// Copyright (c) 2026, Pipeline App contributors
// For license information, please see license.txt

frappe.query_reports["Pipeline Funnel Conversion"] = {
	filters: [
		{
			fieldname: "team",
			label: __("Team"),
			fieldtype: "Link",
			options: "Pipeline Team",
			reqd: 1,
		},
		{
			fieldname: "from_date",
			label: __("Created From"),
			fieldtype: "Date",
			default: frappe.datetime.add_days(frappe.datetime.get_today(), -90),
			reqd: 1,
		},
		{
			fieldname: "to_date",
			label: __("Created To"),
			fieldtype: "Date",
			default: frappe.datetime.get_today(),
			reqd: 1,
		},
		{
			fieldname: "opportunity_owner",
			label: __("Owner"),
			fieldtype: "Link",
			options: "User",
		},
	],
	onload(report) {
		if (report.get_filter_value("team")) return;
		frappe.db
			.get_list("Pipeline Team", { fields: ["name"], limit: 1, order_by: "name asc" })
			.then((teams) => teams.length && report.set_filter_value("team", teams[0].name));
	},
};
