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

// Card Fields: any field of Pipeline Opportunity a card can show (custom fields included), of the
// types the server says a card shows (pipeline_app/cards.py SHOWABLE_TYPES, in the desk's boot:
// pipeline_app/boot.py); the server checks each row when the team is saved
async function set_card_field_options(frm) {
	await frappe.model.with_doctype("Pipeline Opportunity");
	const types = frappe.boot.pipeline_card_field_types || [];
	const fields = frappe
		.get_meta("Pipeline Opportunity")
		.fields.filter((df) => types.includes(df.fieldtype) && !df.hidden);
	const options = [
		"",
		{ value: "name", label: `${__("ID")} (name)` },
		...fields.map((df) => ({
			value: df.fieldname,
			label: `${__(df.label || df.fieldname)} (${df.fieldname})`,
		})),
	];
	frm.fields_dict.card_fields.grid.update_docfield_property("fieldname", "options", options);
}

frappe.ui.form.on("Pipeline Card Field", {
	fieldname(frm, cdt, cdn) {
		const row = locals[cdt][cdn];
		const df = frappe.meta.get_docfield("Pipeline Opportunity", row.fieldname);
		frappe.model.set_value(
			cdt,
			cdn,
			"label",
			row.fieldname === "name" ? "ID" : df ? df.label : ""
		);
	},
});

frappe.ui.form.on("Pipeline Team", {
	onload(frm) {
		set_card_field_options(frm);
	},

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
