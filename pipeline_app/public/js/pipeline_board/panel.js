// The card detail panel: quick controls for one opportunity. Each control saves through
// update_opportunity (same rules as the form, conflict-checked), and redraws from the card the
// server answers with or that realtime brings. Move to... moves the card as a drop does (the
// board's `move`: the Lost reason, the gates' required fields, the server's rules and its 409), so
// on a phone no drag is needed. A team with a card layout (get_board's team.card_fields) edits the
// fields the layout makes editable instead of the standard ones; a change the server refuses for
// mandatory fields left empty asks for them and saves again (required.js).

import { post } from "./api";
import { documents_html, money, remember_link_titles, user_name } from "./card";
import { esc, status_color } from "./html";
import { with_missing_fields } from "./required";

const NUMBER_TYPES = ["Int", "Long Int", "Float", "Currency", "Percent", "Rating", "Check"];

export class CardPanel {
	constructor(board) {
		this.board = board;
		this.store = board.store;
		this.name = null;
		this.$panel = $(`<aside class="pb-panel" role="dialog" aria-modal="false" hidden
			aria-label="${esc(__("Opportunity"))}"></aside>`).appendTo(board.$body);
		this.$panel.on("keydown", (e) => {
			// Escape in a field closes its picker, not the panel
			if (e.key === "Escape" && !$(e.target).is("input, textarea, select")) this.close();
		});
	}

	open(name) {
		this.name = name;
		this.description = null;
		this.fetched = {}; // a card layout's panel fields that cards do not carry, read on opening
		this.render();
		this.$panel.prop("hidden", false);
		this.$panel.find(".pb-panel-close").trigger("focus");
		const layout = this.layout();
		if (layout) {
			const card = this.card();
			const wanted = layout
				.filter((df) => df.edit && !(card && df.fieldname in card))
				.map((df) => df.fieldname);
			if (!wanted.length) return;
			for (const fieldname of wanted) this.fetched[fieldname] = undefined;
			frappe.db.get_value("Pipeline Opportunity", name, wanted).then((r) => {
				if (this.name !== name) return;
				const values = r.message || {};
				for (const fieldname of wanted) {
					this.fetched[fieldname] = values[fieldname] ?? null;
					if (this.controls[fieldname] && !this.editing)
						this.controls[fieldname].set_value(values[fieldname] ?? "");
				}
			});
			return;
		}
		frappe.db.get_value("Pipeline Opportunity", name, "description").then((r) => {
			if (this.name !== name) return;
			this.description = (r.message && r.message.description) || "";
			this.controls.description && this.controls.description.set_value(this.description);
		});
	}

	// the team's card layout, or null for the standard card and panel
	layout() {
		return (this.store.team_info && this.store.team_info.card_fields) || null;
	}

	// a panel field's value: on the card, or read when the panel opened
	value_of(fieldname) {
		const card = this.card();
		if (card && fieldname in card) return card[fieldname];
		return this.fetched ? this.fetched[fieldname] : undefined;
	}

	close() {
		const name = this.name;
		this.name = null;
		this.$panel.prop("hidden", true).empty();
		if (name) this.board.focus_card(name);
	}

	on_card_change(name) {
		if (name !== this.name || this.$panel.prop("hidden")) return;
		if (!this.store.find_card(name)) {
			this.$panel.html(
				`<div class="pb-panel-gone">${esc(
					__("This opportunity is no longer on this board.")
				)}</div>
				<button class="btn btn-default btn-sm pb-panel-close">${esc(__("Close"))}</button>`
			);
			this.$panel.find(".pb-panel-close").on("click", () => this.close());
			return;
		}
		if (this.editing) return; // keep what the user is typing; the save will report a conflict
		this.render();
	}

	card() {
		return this.store.find_card(this.name);
	}

	render() {
		const card = this.card();
		if (!card) return this.close();
		const info = this.store.team_info;
		const column = this.store.column(card.stage);
		this.$panel.html(`
			<div class="pb-panel-head">
				<div>
					<div class="pb-panel-title">${esc(card.title || card.name)}</div>
					<div class="text-muted small">${esc(card.name)} · ${esc(card.contact_name || "")}</div>
				</div>
				<button class="btn btn-default btn-xs pb-panel-close" aria-label="${esc(__("Close"))}">
					${frappe.utils.icon("close", "sm")}</button>
			</div>
			<div class="pb-panel-status">
				<span class="indicator-pill ${status_color(card.status)}">${esc(__(card.status))}</span>
				${column ? `<span class="text-muted">${esc(__(column.stage_name))}</span>` : ""}
			</div>
			${documents_html(card)}
			<div class="pb-panel-fields"></div>
			<div class="pb-panel-outcome"></div>
			<div class="pb-panel-actions">
				<a class="btn btn-default btn-sm pb-open-form" href="/app/pipeline-opportunity/${encodeURIComponent(
					card.name
				)}">${esc(__("Open full form"))}</a>
				${
					frappe.model.can_delete("Pipeline Opportunity")
						? `<button class="btn btn-danger btn-sm pb-delete">${esc(
								__("Delete")
						  )}</button>`
						: ""
				}
			</div>`);
		this.$panel.find(".pb-panel-close").on("click", () => this.close());
		this.$panel.find(".pb-delete").on("click", () => this.confirm_delete());
		this.make_controls(card, info);
		this.make_outcome_buttons(card);
	}

	make_controls(card, info) {
		const $fields = this.$panel.find(".pb-panel-fields");
		this.controls = {};
		if (this.layout()) return this.make_layout_controls(card, info, $fields);
		const member_options = [
			{ value: "", label: __("Unassigned") },
			...info.members.map((m) => ({
				value: m.user,
				label: user_name(this.store.users, m.user),
			})),
		];
		this.select(
			"opportunity_owner",
			__("Owner"),
			member_options,
			card.opportunity_owner || "",
			$fields
		);
		this.select(
			"team",
			__("Team"),
			this.store.teams.map((t) => ({ value: t, label: t })),
			card.team,
			$fields
		);
		this.move_to(card, $fields);
		this.editable("follow_up_on", __("Follow-up"), "Datetime", card.follow_up_on, $fields, {
			clear: __("Clear"),
		});
		if (info.deal_amount_enabled) {
			this.editable("amount", __("Amount"), "Currency", card.amount, $fields, {
				reset: __("Reset"),
				options: "currency",
				hint: `${__("Weighted")} ${money(
					card.weighted_amount,
					card.currency || info.currency
				)}`,
			});
		}
		this.editable(
			"description",
			__("Description"),
			"Small Text",
			this.description ?? "",
			$fields,
			{}
		);
	}

	// A team with a card layout: its own paths (Team, Move to...), then the fields the layout makes
	// editable, in its order, as the desk's controls of their field type.
	make_layout_controls(card, info, $fields) {
		this.select(
			"team",
			__("Team"),
			this.store.teams.map((t) => ({ value: t, label: t })),
			card.team,
			$fields
		);
		this.move_to(card, $fields);
		remember_link_titles(card); // a Link control shows the title the desk would
		for (const df of this.layout().filter((field) => field.edit)) {
			if (df.fieldname === "opportunity_owner") {
				this.select(
					"opportunity_owner",
					df.label,
					[
						{ value: "", label: __("Unassigned") },
						...info.members.map((m) => ({
							value: m.user,
							label: user_name(this.store.users, m.user),
						})),
					],
					card.opportunity_owner || "",
					$fields
				);
				continue;
			}
			this.layout_control(df, $fields);
		}
	}

	layout_control(df, $parent) {
		const { fieldname, fieldtype } = df;
		const $wrap = $(
			`<div class="pb-control pb-control-${esc(fieldname)}" data-fieldname="${esc(
				fieldname
			)}"></div>`
		).appendTo($parent);
		const card = this.card();
		const control = frappe.ui.form.make_control({
			df: {
				fieldname,
				label: df.label,
				fieldtype,
				options: df.options,
				precision: df.precision,
			},
			parent: $wrap,
			render_input: true,
			doc: { ...card, currency: card.currency || this.store.team_info.currency },
		});
		const value = this.value_of(fieldname);
		control.set_value(value ?? (fieldtype === "Check" ? 0 : ""));
		const $buttons = $(`<div class="pb-control-buttons">
			<button class="btn btn-primary btn-xs pb-save">${esc(__("Save"))}</button>
			<button class="btn btn-default btn-xs pb-cancel">${esc(__("Cancel"))}</button>
		</div>`).appendTo($wrap);
		$wrap.on("input change focusin", "input, textarea, select", () => {
			this.editing = true;
		});
		$buttons.find(".pb-save").on("click", () => {
			let next = control.get_value();
			if (NUMBER_TYPES.includes(fieldtype)) {
				next = fieldtype === "Check" || fieldtype === "Int" ? cint(next) : flt(next);
			} else if (next === "" || next === undefined) {
				next = null;
			}
			this.save({ [fieldname]: next });
		});
		$buttons.find(".pb-cancel").on("click", () => {
			this.editing = false;
			control.set_value(this.value_of(fieldname) ?? "");
		});
		this.controls[fieldname] = control;
	}

	select(fieldname, label, options, value, $parent) {
		const $wrap = $(`<div class="pb-control pb-control-${fieldname}"></div>`).appendTo(
			$parent
		);
		const control = frappe.ui.form.make_control({
			// Frappe writes an option's label as HTML: names (a user's own full name) are escaped
			df: {
				fieldname,
				label,
				fieldtype: "Select",
				options: options.map((o) => ({ ...o, label: esc(o.label) })),
			},
			parent: $wrap,
			render_input: true,
		});
		control.set_input(value);
		control.$input.on("change", () => {
			const next = control.get_value();
			if (next === value) return;
			this.save({ [fieldname]: next || null });
		});
		this.controls[fieldname] = control;
	}

	// The team's stages, then its outcome stages (Won, Lost), each with its count; the card's own
	// stage and those its gates keep it out of (as a drag shows them closed) cannot be chosen.
	move_to(card, $parent) {
		const $wrap = $(`<div class="pb-control pb-control-stage pb-move-to"></div>`).appendTo(
			$parent
		);
		const control = frappe.ui.form.make_control({
			df: { fieldname: "stage", label: __("Move to…"), fieldtype: "Select", options: [] },
			parent: $wrap,
			render_input: true,
		});
		const $select = control.$input.empty().attr("aria-label", __("Move to…"));
		$("<option>").val("").text(__("Choose a stage…")).appendTo($select);
		const groups = [
			[__("Stages"), this.store.columns.filter((c) => c.stage_type === "Open")],
			[__("Outcomes"), this.store.columns.filter((c) => c.stage_type !== "Open")],
		];
		for (const [label, columns] of groups) {
			if (!columns.length) continue;
			const $group = $("<optgroup>").attr("label", label).appendTo($select);
			for (const column of columns) {
				const here = column.name === card.stage;
				const open = this.store.may_enter(card, column);
				const name = `${__(column.stage_name)} (${column.count})`;
				$("<option>")
					.val(column.name)
					.text(
						here
							? __("{0}: here now", [name])
							: open
							? name
							: __("{0}: not allowed from here", [name])
					)
					.prop("disabled", here || !open)
					.appendTo($group);
			}
		}
		$select.val("");
		$select.on("change", () => {
			const stage = $select.val();
			// whatever the answer (moved, refused, a dialog closed), the control offers again
			if (stage) this.move(stage).finally(() => $select.val(""));
		});
		this.controls.stage = control;
	}

	async move(stage) {
		const card = await this.board.move(this.name, stage, null, null, { focus: false });
		// the board shows the card's new column (on a phone, behind the panel)
		if (card) this.board.strip.reveal(card.stage);
		return card;
	}

	// A control with explicit Save / Cancel (and Clear or Reset) buttons.
	editable(fieldname, label, fieldtype, value, $parent, extra) {
		const $wrap = $(`<div class="pb-control pb-control-${fieldname}"></div>`).appendTo(
			$parent
		);
		const control = frappe.ui.form.make_control({
			df: { fieldname, label, fieldtype, options: extra.options },
			parent: $wrap,
			render_input: true,
			doc:
				fieldtype === "Currency" ? { currency: this.store.team_info.currency } : undefined,
		});
		control.set_value(value ?? "");
		const $buttons = $(`<div class="pb-control-buttons">
			<button class="btn btn-primary btn-xs pb-save">${esc(__("Save"))}</button>
			<button class="btn btn-default btn-xs pb-cancel">${esc(__("Cancel"))}</button>
			${
				extra.clear
					? `<button class="btn btn-default btn-xs pb-clear">${esc(
							extra.clear
					  )}</button>`
					: ""
			}
			${
				extra.reset
					? `<button class="btn btn-default btn-xs pb-reset">${esc(
							extra.reset
					  )}</button>`
					: ""
			}
			${extra.hint ? `<span class="text-muted small pb-hint">${extra.hint}</span>` : ""}
		</div>`).appendTo($wrap);
		$wrap.on("input change focusin", "input, textarea", () => {
			this.editing = true;
		});
		$buttons.find(".pb-save").on("click", () => {
			let next = control.get_value();
			if (fieldtype === "Currency") next = flt(next);
			this.save({ [fieldname]: next || (fieldtype === "Currency" ? 0 : null) });
		});
		$buttons.find(".pb-cancel").on("click", () => {
			this.editing = false;
			control.set_value(
				fieldname === "description" ? this.description : this.card()[fieldname] ?? ""
			);
		});
		$buttons.find(".pb-clear").on("click", () => this.save({ [fieldname]: null }));
		$buttons.find(".pb-reset").on("click", () => this.save({ [fieldname]: 0 }));
		this.controls[fieldname] = control;
	}

	// The outcome actions are the transitions the outcome Workflow allows this user from the card's
	// status, as the server answers them for this state of the card (the Workflow's roles and
	// conditions; renamed actions keep their names). Asked when the panel shows a card state it has
	// no answer for, so a board load costs nothing for them.
	make_outcome_buttons(card) {
		const key = `${card.name}|${card.status}|${card.modified}`;
		if (this.outcome && this.outcome.key === key) return this.draw_outcome_buttons();
		this.outcome = { key, actions: null };
		this.$panel.find(".pb-panel-outcome").removeAttr("data-loaded").empty();
		frappe
			.call({
				method: "pipeline_app.outcome_workflow.get_outcome_actions",
				args: { name: card.name },
				type: "GET",
			})
			.then(({ message: answer }) => {
				const current = this.card();
				if (!this.outcome || this.outcome.key !== key || !current) return;
				if (answer.status !== current.status || answer.modified !== current.modified)
					return;
				this.outcome.actions = answer.actions;
				this.draw_outcome_buttons();
			});
	}

	draw_outcome_buttons() {
		const $outcome = this.$panel.find(".pb-panel-outcome").empty();
		if (!this.outcome.actions) return;
		const kinds = {
			Won: ["won", () => this.win()],
			Lost: ["lost", (label) => this.mark_lost(label)],
			"On Hold": ["hold", (label) => this.hold(label)],
			Open: ["reopen", () => this.save({ status: "Open" })],
			Abandoned: ["abandon", () => this.save({ status: "Abandoned" })],
		};
		for (const { action, label, next_state } of this.outcome.actions) {
			const [kind, run] = kinds[next_state] || [];
			if (!kind) continue;
			$(`<button class="btn btn-default btn-sm pb-outcome-${kind}"></button>`)
				.text(label)
				.attr("data-action", action)
				.on("click", () => run(label))
				.appendTo($outcome);
		}
		$outcome.attr("data-loaded", "1");
	}

	// With ERPNext the Won dialog offers a Quotation, Sales Order or Project (server: win_opportunity)
	async win() {
		if (!frappe.boot.pipeline_erpnext) return this.save({ status: "Won" });
		const name = this.name;
		const document = await pipeline_app.ask_win(this.store.team_info);
		if (document === null) return;
		const result = await this.board.run(this.store.win(name, document));
		if (result) pipeline_app.show_win_result(result);
		if (this.name === name) this.render();
	}

	ask_lost_reason(title) {
		return pipeline_app.ask_outcome("Lost", title || __("Mark Lost"));
	}

	async mark_lost(title) {
		const values = await this.ask_lost_reason(title);
		if (values) this.save({ status: "Lost", ...values });
	}

	async hold(title) {
		const values = await pipeline_app.ask_outcome("On Hold", title || __("Put On Hold"));
		if (values) this.save({ status: "On Hold", ...values });
	}

	async save(values) {
		const name = this.name;
		this.editing = false;
		const current = this.card();
		// a field the card does not carry is not drawn from it: no optimistic change then
		const optimistic = !Object.keys(values).some(
			(field) => field === "description" || field in (this.fetched || {})
		);
		const card = await this.board.run(
			with_missing_fields(
				(extra) => this.store.update(name, { ...values, ...extra }, optimistic),
				__("Save {0}", [current ? current.title || current.name : name])
			)
		);
		if (card && "description" in values) this.description = values.description || "";
		if (card && this.fetched) {
			for (const field of Object.keys(values)) {
				if (field in this.fetched) this.fetched[field] = values[field];
			}
		}
		// keep what the user started typing in another field meanwhile (as on_card_change does)
		if (this.name === name && !this.editing) this.render();
		return card;
	}

	confirm_delete() {
		const card = this.card();
		const column = this.store.column(card.stage);
		frappe.confirm(
			__("Delete opportunity {0} ({1}) of funnel {2}, stage {3}? This cannot be undone.", [
				`<b>${esc(card.name)}</b>`,
				esc(card.title || ""),
				`<b>${esc(card.team)}</b>`,
				`<b>${esc(column ? __(column.stage_name) : card.stage)}</b>`,
			]),
			async () => {
				try {
					await post("frappe.client.delete", {
						doctype: "Pipeline Opportunity",
						name: card.name,
					});
				} catch (error) {
					frappe.msgprint({
						title: __("Not deleted"),
						message: error.message,
						indicator: "red",
					});
					return;
				}
				this.store.apply_card(card.name, null);
				this.close();
				frappe.show_alert({
					message: __("Opportunity {0} deleted", [esc(card.name)]),
					indicator: "green",
				});
			}
		);
	}
}
