// Copyright (c) 2026, Pipeline App contributors
// For license information, please see license.txt

// Outcomes that need more input before the workflow can apply them, by the state the action leads
// to (an administrator may rename the actions; fields and dialog in public/js/pipeline_app.bundle.js,
// shared with the Pipeline Board).
const OUTCOME_PROMPTS = {
	Lost: { needed: (doc) => !doc.lost_reason },
	"On Hold": {
		needed: (doc) => !doc.on_hold_until || doc.on_hold_until <= frappe.datetime.get_today(),
	},
	// with ERPNext, the Won dialog: a Quotation, Sales Order or Project, or just close
	Won: { needed: () => frappe.boot.pipeline_erpnext },
};

// The state the Workflow's action leads to from the document's status (the form lists the actions
// Frappe's get_transitions allows the user).
function next_state(frm, action) {
	frappe.workflow.setup(frm.doctype);
	const transition = frappe.workflow
		.get_all_transitions(frm.doctype)
		.find((t) => t.state === frm.doc.status && t.action === action);
	return transition && transition.next_state;
}

// With ERPNext: Create > Quotation / Sales Order / Project, and the documents made for the deal.
function erpnext_actions(frm) {
	if (!frappe.boot.pipeline_erpnext || frm.is_new()) return;
	const open = !["Lost", "Abandoned"].includes(frm.doc.status);
	const methods = {
		Quotation: "make_quotation",
		"Sales Order": "make_sales_order",
		Project: "make_project",
	};
	for (const [doctype, method] of Object.entries(methods)) {
		if (!open || !frappe.model.can_create(doctype) || !frm.perm[0].write) continue;
		frm.add_custom_button(
			__(doctype),
			() =>
				frappe
					.xcall(`pipeline_app.erpnext.documents.${method}`, {
						opportunity: frm.doc.name,
					})
					.then((made) => frappe.set_route("Form", made.doctype, made.name)),
			__("Create")
		);
	}
	show_erpnext_documents(frm);
}

function show_erpnext_documents(frm) {
	const esc = frappe.utils.escape_html;
	frappe
		.call({
			method: "pipeline_app.erpnext.linked.get_opportunity_documents",
			args: { opportunity: frm.doc.name },
			type: "GET",
		})
		.then(({ message: documents }) => {
			// one section, however many refreshes answered ("custom" sections go at each refresh)
			frm.dashboard.parent.find(".pipeline-erpnext-section").remove();
			if (!documents.length) return;
			const rows = documents
				.map(
					(d) => `<tr>
					<td><a href="/app/${frappe.router.slug(d.doctype)}/${encodeURIComponent(d.name)}">${esc(
						__(d.doctype)
					)} ${esc(d.name)}</a></td>
					<td><span class="indicator-pill ${pipeline_app.DOCUMENT_COLOR[d.status] || "orange"}">${esc(
						__(d.status || "")
					)}</span></td>
					<td>${d.date ? esc(frappe.datetime.str_to_user(d.date)) : ""}</td>
					<td class="text-right">${esc(format_currency(d.grand_total || 0, d.currency))}</td>
				</tr>`
				)
				.join("");
			frm.dashboard.add_section(
				`<table class="table table-sm pipeline-erpnext-documents"><tbody>${rows}</tbody></table>`,
				__("Quotations, Orders and Projects"),
				"custom pipeline-erpnext-section"
			);
			frm.dashboard.show();
		});
}

function win_with_document(frm) {
	return frappe.db.get_value("Pipeline Team", frm.doc.team, "win_on_sales_order").then((r) =>
		pipeline_app.ask_win(r.message || {}).then((document) => {
			if (document === null) return;
			return frappe
				.xcall("pipeline_app.erpnext.documents.win_opportunity", {
					opportunity: frm.doc.name,
					document: document || null,
					expected_modified: frm.doc.modified,
				})
				.then((result) => {
					if (result.conflict) {
						frappe.msgprint(frappe.utils.escape_html(result.message));
						return;
					}
					pipeline_app.show_win_result(result);
				});
		})
	);
}

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

	refresh(frm) {
		erpnext_actions(frm);
		follow_button(frm);
	},

	team(frm) {
		// the server puts the opportunity in the new team's first stage
		frm.set_value("stage", null);
	},

	before_workflow_action(frm) {
		const action = frm.selected_workflow_action;
		const status = next_state(frm, action);
		const prompt = OUTCOME_PROMPTS[status];
		if (!prompt || !prompt.needed(frm.doc)) return;
		frappe.dom.unfreeze();
		if (status === "Won") {
			// the Won dialog decides in one request (win_opportunity); Frappe's own call never runs
			const stop = new Promise(() => {});
			return win_with_document(frm)
				.catch(() => null)
				.then(() => frm.reload_doc())
				.then(() => stop);
		}
		// Frappe v15's apply_workflow reloads the document from the database, so values set on
		// frm.doc here would be dropped: apply the outcome together with its fields in one save
		// (the Workflow's transitions and roles are still checked), then stop Frappe's own call by
		// never settling the promise it waits on.
		return pipeline_app.ask_outcome(status, __(action)).then((values) => {
			const stop = new Promise(() => {});
			if (!values) return stop;
			return frappe
				.xcall("pipeline_app.api.update_opportunity", {
					name: frm.doc.name,
					values: { status, ...values },
					expected_modified: frm.doc.modified,
				})
				.then(() => frm.reload_doc())
				.catch(() => frm.reload_doc()) // refused (the server said why) or changed meanwhile
				.then(() => stop);
		});
	},
});

// Follow for the digest (pipeline_app/automation/digests.py); owners follow their own anyway
function follow_button(frm) {
	if (frm.is_new()) return;
	frappe
		.xcall("pipeline_app.api.get_following", { name: frm.doc.name }, "GET")
		.then((answer) => {
			if (answer.owner) return;
			const label = answer.opportunity ? __("Unfollow") : __("Follow");
			frm.add_custom_button(label, () =>
				frappe
					.xcall("pipeline_app.api.follow_opportunity", {
						name: frm.doc.name,
						follow: answer.opportunity ? 0 : 1,
					})
					.then(() => {
						frm.remove_custom_button(label);
						follow_button(frm);
					})
			);
		});
}
