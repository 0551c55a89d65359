// Loaded on every desk page (app_include_js): what the opportunity form and the Pipeline Board share.
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
