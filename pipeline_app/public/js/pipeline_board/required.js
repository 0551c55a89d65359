// Mandatory fields an administrator added (pipeline_app/cards.py required_fields): Add New asks for
// them up front; a quick edit or a move that the server refuses for lacking some (`missing_fields`
// in its answer: cards.check_required_fields) asks for exactly those, then tries again with them.

// a field as get_board's team.required_fields and a refusal's missing_fields describe it, as a
// dialog asks for it
export const asked_field = (field) => ({
	fieldname: field.fieldname,
	fieldtype: field.fieldtype,
	label: field.label,
	options: field.options,
	default: field.default,
	reqd: field.reqd,
	depends_on: field.depends_on,
	mandatory_depends_on: field.mandatory_depends_on,
});

// Resolves with the values given, or null when the user closes the dialog.
export function ask_missing_fields(fields, title) {
	return new Promise((resolve) => {
		let answered = false;
		const dialog = new frappe.ui.Dialog({
			title: title || __("Missing Values"),
			fields: [
				{
					fieldname: "missing_intro",
					fieldtype: "HTML",
					options: `<p class="text-muted">${frappe.utils.escape_html(
						__("Fill in these fields to save the change.")
					)}</p>`,
				},
				...fields.map((field) => ({ ...asked_field(field), reqd: 1 })),
			],
			primary_action_label: __("Save"),
			primary_action(values) {
				answered = true;
				dialog.hide();
				const given = {};
				for (const field of fields) given[field.fieldname] = values[field.fieldname];
				resolve(given);
			},
		});
		dialog.onhide = () => answered || resolve(null);
		dialog.$wrapper.addClass("pb-missing-dialog");
		dialog.show();
	});
}

// Runs `attempt(extra)` (a board write; `extra`: the values asked so far) and, while the server
// refuses it for missing mandatory fields, asks for them and tries again. Resolves with the
// attempt's answer, or null when the user closes the dialog (the card is back as it was).
export async function with_missing_fields(attempt, title) {
	let extra = {};
	for (let round = 0; ; round++) {
		try {
			return await attempt(extra);
		} catch (error) {
			const missing = error && error.missing_fields;
			if (!missing || !missing.length || round >= 3) throw error;
			const values = await ask_missing_fields(missing, title);
			if (!values) return null;
			extra = { ...extra, ...values };
		}
	}
}
