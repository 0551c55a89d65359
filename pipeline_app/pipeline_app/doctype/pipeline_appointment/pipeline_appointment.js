// Copyright (c) 2026, Pipeline App contributors
// For license information, please see license.txt

frappe.ui.form.on("Pipeline Appointment", {
	setup(frm) {
		frm.set_query("host", () => ({
			query: "pipeline_app.api.search_team_members",
			filters: { team: frm.doc.team || "" },
		}));
	},
	onload_post_render(frm) {
		// a new appointment from an empty calendar slot has its time: it asks for its opportunity first
		if (frm.is_new() && !frm.doc.opportunity) frm.scroll_to_field("opportunity");
	},
	starts_at(frm) {
		if (frm.doc.starts_at && !frm.doc.ends_at) {
			frm.set_value(
				"ends_at",
				moment(frm.doc.starts_at).add(45, "minutes").format("YYYY-MM-DD HH:mm:ss")
			);
		}
	},
});
