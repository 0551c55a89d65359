// "Add New": pick a contact by search or create one inline; the opportunity lands on top of the
// team's first stage (the server decides which stage that is).

import { post } from "./api";
// the fields an administrator made mandatory (get_board's team.required_fields), asked as well
import { asked_field } from "./required";

export function add_new(board) {
	const store = board.store;
	const info = store.team_info;
	const mandatory = new Set((info.required_fields || []).map((field) => field.fieldname));
	const required = (info.required_fields || []).filter(
		(field) => !["opportunity_owner", "amount"].includes(field.fieldname)
	);
	const dialog = new frappe.ui.Dialog({
		title: __("New opportunity in {0}", [frappe.utils.escape_html(store.team)]),
		fields: [
			{ fieldname: "title", fieldtype: "Data", label: __("Title") },
			{
				fieldname: "contact",
				fieldtype: "Link",
				options: "Contact",
				label: __("Contact"),
				description: __("Search by name, or create a new contact below"),
				depends_on: "eval:!doc.new_contact",
			},
			{ fieldname: "new_contact", fieldtype: "Check", label: __("Create a new contact") },
			{
				fieldname: "first_name",
				fieldtype: "Data",
				label: __("First Name"),
				depends_on: "new_contact",
				mandatory_depends_on: "new_contact",
			},
			{
				fieldname: "last_name",
				fieldtype: "Data",
				label: __("Last Name"),
				depends_on: "new_contact",
			},
			{
				fieldname: "email",
				fieldtype: "Data",
				options: "Email",
				label: __("Email"),
				depends_on: "new_contact",
			},
			{
				fieldname: "phone",
				fieldtype: "Data",
				options: "Phone",
				label: __("Phone"),
				depends_on: "new_contact",
			},
			{ fieldname: "section_deal", fieldtype: "Section Break" },
			{
				fieldname: "opportunity_owner",
				fieldtype: "Select",
				label: __("Owner"),
				reqd: mandatory.has("opportunity_owner") ? 1 : 0,
				options: [
					{ value: "", label: __("Unassigned") },
					...info.members.map((m) => ({
						value: m.user,
						label: (store.users[m.user] && store.users[m.user].full_name) || m.user,
					})),
				],
				default: info.members.some((m) => m.user === frappe.session.user)
					? frappe.session.user
					: "",
			},
			...(info.deal_amount_enabled
				? [
						{
							fieldname: "amount",
							fieldtype: "Currency",
							label: __("Amount"),
							reqd: mandatory.has("amount") ? 1 : 0,
							options: info.currency,
						},
				  ]
				: []),
			...(required.length
				? [{ fieldname: "section_required", fieldtype: "Section Break" }]
				: []),
			...required.map(asked_field),
		],
		primary_action_label: __("Add"),
		primary_action: async (values) => {
			if (!values.new_contact && !values.contact) {
				frappe.msgprint(__("Pick a contact or create a new one"));
				return;
			}
			const extra = {};
			if (values.opportunity_owner) extra.opportunity_owner = values.opportunity_owner;
			if (values.amount) extra.amount = values.amount;
			for (const field of required) {
				if (values[field.fieldname] !== undefined && values[field.fieldname] !== "") {
					extra[field.fieldname] = values[field.fieldname];
				}
			}
			dialog.disable_primary_action();
			try {
				const result = await post("add_opportunity", {
					team: store.team,
					title: values.title || null,
					contact: values.new_contact ? null : values.contact,
					first_name: values.new_contact ? values.first_name : null,
					last_name: values.new_contact ? values.last_name : null,
					email: values.new_contact ? values.email : null,
					phone: values.new_contact ? values.phone : null,
					values: extra,
				});
				dialog.hide();
				store.apply_card(result.card.name, result.card);
				board.focus_card(result.card.name);
				frappe.show_alert({
					message: __("Opportunity {0} added", [
						frappe.utils.escape_html(result.card.name),
					]),
					indicator: "green",
				});
			} catch (error) {
				frappe.msgprint({
					title: __("Not added"),
					message: error.message,
					indicator: "red",
				});
			} finally {
				dialog.enable_primary_action();
			}
		},
	});
	dialog.show();
}
