// Copyright (c) 2026, Pipeline App contributors
// For license information, please see license.txt

// Outcome actions that need more input before the workflow can apply them
// (fields and dialog in public/js/pipeline_app.bundle.js, shared with the Pipeline Board).
const OUTCOME_PROMPTS = {
	"Mark Lost": { status: "Lost", needed: (doc) => !doc.lost_reason },
	"Put On Hold": {
		status: "On Hold",
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
		const action = frm.selected_workflow_action;
		const prompt = OUTCOME_PROMPTS[action];
		if (!prompt || !prompt.needed(frm.doc)) return;
		frappe.dom.unfreeze();
		// Frappe v15's apply_workflow reloads the document from the database, so values set on
		// frm.doc here would be dropped: apply the outcome together with its fields in one save
		// (the Workflow's transitions and roles are still checked), then stop Frappe's own call by
		// never settling the promise it waits on.
		return pipeline_app.ask_outcome(prompt.status, __(action)).then((values) => {
			const stop = new Promise(() => {});
			if (!values) return stop;
			return frappe
				.xcall("pipeline_app.api.update_opportunity", {
					name: frm.doc.name,
					values: { status: prompt.status, ...values },
					expected_modified: frm.doc.modified,
				})
				.then(() => frm.reload_doc())
				.catch(() => frm.reload_doc()) // refused (the server said why) or changed meanwhile
				.then(() => stop);
		});
	},
});
