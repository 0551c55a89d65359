// Loaded on every desk page (app_include_js): what the opportunity form, the Pipeline Board and the
// reports share.
frappe.provide("pipeline_app");

// Indicator colours (Frappe's indicator-pill classes) of an opportunity's status, and of the status
// of an ERPNext document made for it
pipeline_app.STATUS_COLOR = {
	Open: "blue",
	Won: "green",
	Lost: "red",
	"On Hold": "orange",
	Abandoned: "gray",
};
pipeline_app.DOCUMENT_COLOR = {
	Draft: "gray",
	Ordered: "green",
	Completed: "green",
	"To Bill": "green",
	Closed: "green",
	Lost: "red",
	Expired: "red",
	Cancelled: "red",
};

// The fields an outcome needs before the server accepts it (the server checks them too).
pipeline_app.OUTCOME_FIELDS = {
	Lost: () => [
		{
			fieldname: "lost_reason",
			fieldtype: "Link",
			options: "Pipeline Lost Reason",
			label: __("Lost Reason"),
			reqd: 1,
		},
		{ fieldname: "lost_detail", fieldtype: "Small Text", label: __("Lost Detail") },
	],
	"On Hold": () => [
		{ fieldname: "on_hold_until", fieldtype: "Date", label: __("On Hold Until"), reqd: 1 },
	],
};

// Asks for an outcome's fields; resolves with the values, or with null when the dialog is closed.
pipeline_app.ask_outcome = function (status, title) {
	return new Promise((resolve) => {
		let answered = false;
		const dialog = new frappe.ui.Dialog({
			title,
			fields: pipeline_app.OUTCOME_FIELDS[status](),
			primary_action_label: title,
			primary_action(values) {
				answered = true;
				dialog.hide();
				resolve(values);
			},
		});
		dialog.onhide = () => !answered && resolve(null);
		dialog.show();
	});
};

// With ERPNext, the Won dialog of the form and the board: what to make for the deal. Resolves with
// the doctype to make ("" to just close), or null when the dialog is closed.
pipeline_app.WIN_DOCUMENTS = ["Quotation", "Sales Order", "Project"];

pipeline_app.ask_win = function ({ win_on_sales_order }) {
	const makeable = pipeline_app.WIN_DOCUMENTS.filter((doctype) =>
		frappe.model.can_create(doctype)
	);
	const NOTHING = "close";
	const outcome = (choice) => {
		if (choice === NOTHING) return __("The opportunity is marked Won.");
		if (choice === "Project")
			return __("A Project is made and the opportunity is marked Won.");
		if (win_on_sales_order)
			return choice === "Quotation"
				? __(
						"A draft Quotation is made. The opportunity stays open and is won when the quotation is ordered."
				  )
				: __(
						"A draft Sales Order is made. The opportunity stays open and is won when the order is submitted."
				  );
		return __("A draft {0} is made and the opportunity is marked Won.", [__(choice)]);
	};
	return new Promise((resolve) => {
		let answered = false;
		const dialog = new frappe.ui.Dialog({
			title: __("Won"),
			fields: [
				{
					fieldname: "document",
					fieldtype: "Select",
					label: __("Make"),
					reqd: 1,
					options: [
						...makeable.map((doctype) => ({ value: doctype, label: __(doctype) })),
						{ value: NOTHING, label: __("Nothing, just close") },
					],
					default: makeable[0] || NOTHING,
					change: () => dialog.set_df_property("outcome", "options", describe()),
				},
				{ fieldname: "outcome", fieldtype: "HTML" },
			],
			primary_action_label: __("Won"),
			primary_action(values) {
				answered = true;
				dialog.hide();
				resolve(values.document === NOTHING ? "" : values.document);
			},
		});
		const describe = () =>
			`<p class="text-muted pb-win-outcome">${frappe.utils.escape_html(
				outcome(dialog.get_value("document"))
			)}</p>`;
		dialog.onhide = () => !answered && resolve(null);
		dialog.show();
		dialog.set_df_property("outcome", "options", describe());
	});
};

// After the Won dialog: says what was made, with a link to it.
pipeline_app.show_win_result = function (result) {
	const esc = frappe.utils.escape_html;
	if (!result.document) {
		frappe.show_alert({ message: __("Marked Won"), indicator: "green" });
		return;
	}
	const { doctype, name } = result.document;
	const link = `<a href="/app/${frappe.router.slug(doctype)}/${encodeURIComponent(name)}">${esc(
		__(doctype)
	)} ${esc(name)}</a>`;
	frappe.show_alert(
		{
			message: result.won
				? __("Marked Won; {0} made", [link])
				: __("{0} made; the opportunity is won when its order is submitted", [link]),
			indicator: "green",
		},
		10
	);
};

// The filters of the team reports (Time in Stage, Funnel Conversion): a team, a period, an owner.
pipeline_app.team_report_filters = function (from_label, to_label) {
	return [
		{
			fieldname: "team",
			label: __("Team"),
			fieldtype: "Link",
			options: "Pipeline Team",
			default: (frappe.boot.pipeline_teams || [])[0],
			reqd: 1,
		},
		{
			fieldname: "from_date",
			label: from_label,
			fieldtype: "Date",
			default: frappe.datetime.add_days(frappe.datetime.get_today(), -90),
			reqd: 1,
		},
		{
			fieldname: "to_date",
			label: to_label,
			fieldtype: "Date",
			default: frappe.datetime.get_today(),
			reqd: 1,
		},
		{
			fieldname: "opportunity_owner",
			label: __("Owner"),
			fieldtype: "Link",
			options: "User",
		},
	];
};

// The Stage column of the team reports: the stage's name in the user's language (the row's
// stage_name, which the server translates as the board does), still a link to the stage.
pipeline_app.stage_formatter = function (value, row, column, data, default_formatter) {
	if (column.fieldname === "stage" && value && data && data.stage_name) {
		frappe.utils.add_link_title("Funnel Stage", value, data.stage_name);
	}
	return default_formatter(value, row, column, data);
};

// A team report opens on the user's first team (managers who are in none: the first they can read).
pipeline_app.select_first_team = function (report) {
	if (report.get_filter_value("team")) return;
	frappe.db
		.get_list("Pipeline Team", { fields: ["name"], limit: 1, order_by: "name asc" })
		.then((teams) => teams.length && report.set_filter_value("team", teams[0].name));
};
