frappe.provide("frappe.dashboards.chart_sources");

frappe.dashboards.chart_sources["Pipeline Open by Stage"] = {
	method: "pipeline_app.pipeline_app.dashboard_chart_source.pipeline_open_by_stage.pipeline_open_by_stage.get",
	filters: [
		{
			fieldname: "team",
			label: __("Team"),
			fieldtype: "Link",
			options: "Pipeline Team",
		},
	],
};
