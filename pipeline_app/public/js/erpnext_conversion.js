// ERPNext's Lead and Opportunity forms (hooks.doctype_js): Create > Convert to Pipeline Opportunity.
// The server (pipeline_app.erpnext.conversion) checks every permission and answers the opportunity
// made before when the team has one for this document.
frappe.provide("pipeline_app.erpnext");

pipeline_app.erpnext.CONVERT_METHOD =
	"pipeline_app.erpnext.conversion.convert_to_pipeline_opportunity";

pipeline_app.erpnext.add_convert_button = function (frm) {
	if (frm.is_new() || !frappe.model.can_create("Pipeline Opportunity")) return;
	frm.add_custom_button(
		__("Convert to Pipeline Opportunity"),
		() => pipeline_app.erpnext.convert(frm),
		__("Create")
	);
};

pipeline_app.erpnext.convert = function (frm) {
	const dialog = new frappe.ui.Dialog({
		title: __("Convert to Pipeline Opportunity"),
		fields: [
			{
				fieldname: "team",
				fieldtype: "Link",
				options: "Pipeline Team",
				label: __("Team"),
				reqd: 1,
				default: (frappe.boot.pipeline_teams || [])[0],
				description: __("The team whose funnel gets the opportunity"),
			},
		],
		primary_action_label: __("Convert"),
		primary_action({ team }) {
			dialog.disable_primary_action();
			frappe
				.xcall(pipeline_app.erpnext.CONVERT_METHOD, {
					doctype: frm.doctype,
					name: frm.docname,
					team,
				})
				.then(({ name, created }) => {
					dialog.hide();
					const esc = frappe.utils.escape_html;
					frappe.show_alert(
						{
							message: created
								? __("Pipeline Opportunity {0} made in team {1}", [
										esc(name),
										esc(team),
								  ])
								: __(
										"Team {0} already has Pipeline Opportunity {1} for this document",
										[esc(team), esc(name)]
								  ),
							indicator: created ? "green" : "blue",
						},
						7
					);
					frappe.set_route("Form", "Pipeline Opportunity", name);
				})
				.finally(() => dialog.enable_primary_action());
		},
	});
	dialog.show();
};

// Frappe runs this file with each of the two forms' scripts: the handlers are added once
pipeline_app.erpnext.convert_forms = pipeline_app.erpnext.convert_forms || new Set();
for (const doctype of ["Lead", "Opportunity"]) {
	if (!pipeline_app.erpnext.convert_forms.has(doctype)) {
		pipeline_app.erpnext.convert_forms.add(doctype);
		frappe.ui.form.on(doctype, { refresh: pipeline_app.erpnext.add_convert_button });
	}
}
