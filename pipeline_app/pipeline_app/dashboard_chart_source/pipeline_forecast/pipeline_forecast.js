frappe.provide("frappe.dashboards.chart_sources");

frappe.dashboards.chart_sources["Pipeline Forecast"] = {
	method: "pipeline_app.pipeline_app.dashboard_chart_source.pipeline_forecast.pipeline_forecast.get",
	filters: [
		{
			fieldname: "team",
			label: __("Team"),
			fieldtype: "Link",
			options: "Pipeline Team",
		},
	],
};
