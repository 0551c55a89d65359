// Copyright (c) 2026, Pipeline App contributors
// For license information, please see license.txt

frappe.ui.form.on("Funnel Stage", {
	refresh(frm) {
		if (frm.is_new() && !frm.doc.team && frappe.route_options?.team) {
			frm.set_value("team", frappe.route_options.team);
		}
	},
});
