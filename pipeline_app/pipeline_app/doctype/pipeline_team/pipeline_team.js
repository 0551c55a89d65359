// Copyright (c) 2026, Pipeline App contributors
// For license information, please see license.txt

const AUTOMATION_STAGE_FIELDS = [
	"booked_stage",
	"appointment_day_stage",
	"no_show_stage",
	"cancelled_stage",
	"replied_stage",
	"booking_stage",
];

frappe.ui.form.on("Pipeline Team", {
	setup(frm) {
		for (const field of AUTOMATION_STAGE_FIELDS) {
			frm.set_query(field, () => ({
				filters: { team: frm.doc.name, stage_type: "Open" },
				order_by: "sequence asc",
			}));
		}
	},

	refresh(frm) {
		if (frm.is_new()) return;
		frm.add_custom_button(__("Funnel Stages"), () =>
			frappe.set_route("List", "Funnel Stage", { team: frm.doc.name })
		);
		frm.add_custom_button(__("Opportunities"), () =>
			frappe.set_route("List", "Pipeline Opportunity", { team: frm.doc.name })
		);
		if (frm.doc.booking_enabled && frm.doc.booking_route) {
			frm.add_custom_button(__("Booking Page"), () =>
				window.open(`/book/${encodeURIComponent(frm.doc.booking_route)}`, "_blank")
			);
		}
	},
});
