// Copyright (c) 2026, Pipeline App contributors
// For license information, please see license.txt

frappe.ui.form.on("Pipeline Team", {
	refresh(frm) {
		if (frm.is_new()) return;
		frm.add_custom_button(__("Funnel Stages"), () =>
			frappe.set_route("List", "Funnel Stage", { team: frm.doc.name })
		);
		frm.add_custom_button(__("Opportunities"), () =>
			frappe.set_route("List", "Pipeline Opportunity", { team: frm.doc.name })
		);
	},
});
