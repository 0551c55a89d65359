// Loaded on every desk page (app_include_js): what the opportunity form, the Pipeline Board and the
// reports share.
frappe.provide("pipeline_app");

// The fields an outcome needs before the server accepts it (the server checks them too).
pipeline_app.OUTCOME_FIELDS = {
	Lost: () => [
		{
			fieldname: "lost_reason",
			fieldtype: "Link",
			options: "Pipeline Lost Reason",
			label: __("Lost Reason"),
			reqd: 1,
		},
		{ fieldname: "lost_detail", fieldtype: "Small Text", label: __("Lost Detail") },
	],
	"On Hold": () => [
		{ fieldname: "on_hold_until", fieldtype: "Date", label: __("On Hold Until"), reqd: 1 },
	],
};

// Asks for an outcome's fields; resolves with the values, or with null when the dialog is closed.
pipeline_app.ask_outcome = function (status, title) {
	return new Promise((resolve) => {
		let answered = false;
		const dialog = new frappe.ui.Dialog({
			title,
			fields: pipeline_app.OUTCOME_FIELDS[status](),
			primary_action_label: title,
			primary_action(values) {
				answered = true;
				dialog.hide();
				resolve(values);
			},
		});
		dialog.onhide = () => !answered && resolve(null);
		dialog.show();
	});
};

// The filters of the team reports (Time in Stage, Funnel Conversion): a team, a period, an owner.
pipeline_app.team_report_filters = function (from_label, to_label) {
	return [
		{
			fieldname: "team",
			label: __("Team"),
			fieldtype: "Link",
			options: "Pipeline Team",
			default: (frappe.boot.pipeline_teams || [])[0],
			reqd: 1,
		},
		{
			fieldname: "from_date",
			label: from_label,
			fieldtype: "Date",
			default: frappe.datetime.add_days(frappe.datetime.get_today(), -90),
			reqd: 1,
		},
		{
			fieldname: "to_date",
			label: to_label,
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
	];
};

// A team report opens on the user's first team (managers who are in none: the first they can read).
pipeline_app.select_first_team = function (report) {
	if (report.get_filter_value("team")) return;
	frappe.db
		.get_list("Pipeline Team", { fields: ["name"], limit: 1, order_by: "name asc" })
		.then((teams) => teams.length && report.set_filter_value("team", teams[0].name));
};
