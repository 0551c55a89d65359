// Copyright (c) 2026, Pipeline App contributors
// For license information, please see license.txt

// Outcome actions that need more input before the workflow can apply them.
const OUTCOME_PROMPTS = {
	"Mark Lost": {
		fields: [
			{
				fieldname: "lost_reason",
				fieldtype: "Link",
				options: "Pipeline Lost Reason",
				label: __("Lost Reason"),
				reqd: 1,
			},
			{ fieldname: "lost_detail", fieldtype: "Small Text", label: __("Lost Detail") },
		],
		needed: (doc) => !doc.lost_reason,
	},
	"Put On Hold": {
		fields: [
			{ fieldname: "on_hold_until", fieldtype: "Date", label: __("On Hold Until"), reqd: 1 },
		],
		needed: (doc) => !doc.on_hold_until || doc.on_hold_until <= frappe.datetime.get_today(),
	},
};

frappe.ui.form.on("Pipeline Opportunity", {
	setup(frm) {
		frm.set_query("stage", () => ({
			filters: { team: frm.doc.team || "" },
			order_by: "sequence asc",
		}));
		frm.set_query("opportunity_owner", () => ({
			query: "pipeline_app.api.search_team_members",
			filters: { team: frm.doc.team || "" },
		}));
	},

	team(frm) {
		// the server puts the opportunity in the new team's first stage
		frm.set_value("stage", null);
	},

	before_workflow_action(frm) {
		const prompt = OUTCOME_PROMPTS[frm.selected_workflow_action];
		if (!prompt || !prompt.needed(frm.doc)) return;
		frappe.dom.unfreeze();
		return new Promise((resolve, reject) => {
			const dialog = new frappe.ui.Dialog({
				title: __(frm.selected_workflow_action),
				fields: prompt.fields,
				primary_action_label: __(frm.selected_workflow_action),
				primary_action(values) {
					Object.assign(frm.doc, values);
					dialog.hide();
					frappe.dom.freeze();
					resolve();
				},
			});
			dialog.onhide = () => reject();
			dialog.show();
		});
	},
});
