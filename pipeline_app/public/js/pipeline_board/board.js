// The Pipeline Board page: toolbar (team, filters, saved views), columns, drag and drop, keyboard
// moves, realtime. State lives in BoardStore; this file only draws it and turns gestures into calls.

import { BoardStore } from "./store";
import { Conflict } from "./api";
import { card_html, column_header_html } from "./card";
import * as filter_utils from "./filters";
import { CardPanel } from "./panel";
import { add_new } from "./add_new";

const REALTIME_EVENT = "pipeline_board";

export class PipelineBoard {
	constructor(wrapper, page) {
		this.wrapper = wrapper;
		this.page = page;
		this.store = new BoardStore();
		this.filters = {};
		this.$body = $(`<div class="pipeline-board" aria-busy="true">
			<p id="pb-keyboard-help" class="sr-only">${frappe.utils.escape_html(
				__(
					"Arrow keys move between cards. Alt + Left or Right moves the card to the previous or next stage, Alt + Up or Down moves it within the stage, Enter opens it."
				)
			)}</p>
			<div class="pb-columns" role="region" aria-label="${frappe.utils.escape_html(
				__("Pipeline Board")
			)}"></div>
		</div>`).appendTo(page.main);
		this.$columns = this.$body.find(".pb-columns");
		this.panel = new CardPanel(this);
		this.store.subscribe((change) => this.on_store_change(change));
		this.setup().catch((error) => this.show_error(error));
	}

	async setup() {
		await frappe.model.with_doctype("Pipeline Opportunity");
		this.meta = frappe.get_meta("Pipeline Opportunity");
		this.make_toolbar();
		this.bind_events();
		this.subscribe_realtime();
		const { team, filters } = filter_utils.from_url();
		await this.load(team, filters);
	}

	on_show() {
		// back on the page (or the URL changed): follow the URL, resync if the socket had dropped
		if (!this.store.team) return;
		const { team, filters } = filter_utils.from_url();
		const wanted = JSON.stringify([team || this.store.team, filters]);
		if (wanted !== JSON.stringify([this.store.team, this.filters]) || this.missed_events) {
			this.load(team || this.store.team, filters);
		}
		this.reconnect();
	}

	async load(team, filters) {
		this.filters = filters || {};
		const typed = this.filter_inputs(); // what the toolbar says when the load starts
		this.$body.attr("aria-busy", "true");
		let shown;
		try {
			shown = await this.store.load(team, this.filters);
		} catch (error) {
			this.show_error(error);
			return;
		}
		if (!shown) return; // a newer load (the user changed a filter again) owns the toolbar and URL
		this.missed_events = false;
		this.filters = this.store.filters;
		filter_utils.to_url(this.store.team, this.filters);
		this.sync_toolbar(typed);
		this.$body.attr("aria-busy", "false");
	}

	reload() {
		return this.load(this.store.team, this.filters);
	}

	show_error(error) {
		this.$body.attr("aria-busy", "false");
		if (error && error.message) {
			frappe.msgprint({
				title: __("Pipeline Board"),
				message: error.message,
				indicator: "red",
			});
		}
	}

	// Toolbar
	// -------

	make_toolbar() {
		const page = this.page;
		const change = () => this.on_filter_change();
		this.fields = {
			team: page.add_field({
				fieldname: "team",
				label: __("Team"),
				fieldtype: "Select",
				options: [],
				change: () => this.on_team_change(),
			}),
			owner: page.add_field({
				fieldname: "owner",
				label: __("Owner"),
				fieldtype: "Select",
				options: [
					{ value: "", label: __("Anyone") },
					{ value: "me", label: __("Me") },
					{ value: "unassigned", label: __("Unassigned") },
				],
				change,
			}),
			status: page.add_field({
				fieldname: "status",
				label: __("Status"),
				fieldtype: "Select",
				options: [
					{ value: "", label: __("Active") },
					...["Open", "On Hold", "Won", "Lost", "Abandoned"].map((s) => ({
						value: s,
						label: __(s),
					})),
				],
				change,
			}),
			follow_up: page.add_field({
				fieldname: "follow_up",
				label: __("Follow-up"),
				fieldtype: "Select",
				options: [
					{ value: "", label: __("Any follow-up") },
					{ value: "due", label: __("Follow-up due") },
					{ value: "upcoming", label: __("Follow-up planned") },
					{ value: "none", label: __("No follow-up") },
				],
				change,
			}),
			source: page.add_field({
				fieldname: "source",
				label: __("Source"),
				fieldtype: "Select",
				options: this.select_options("source", __("Any source")),
				change,
			}),
			interest: page.add_field({
				fieldname: "interest",
				label: __("Interest"),
				fieldtype: "Select",
				options: this.select_options("interest", __("Any interest")),
				change,
			}),
			q: page.add_field({
				fieldname: "q",
				label: __("Search"),
				fieldtype: "Data",
				placeholder: __("Search title, contact, email, phone"),
				change,
			}),
			view: page.add_field({
				fieldname: "view",
				label: __("Saved view"),
				fieldtype: "Select",
				options: [],
				change: () => this.apply_view(this.fields.view.get_value()),
			}),
		};
		for (const [fieldname, field] of Object.entries(this.fields)) {
			field.$wrapper.addClass(`pb-filter-${fieldname}`);
			field.$input && field.$input.attr("aria-label", field.df.label);
		}
		if (frappe.model.can_create("Pipeline Opportunity")) {
			page.set_primary_action(__("Add New"), () => add_new(this), "add");
		}
		page.add_menu_item(__("Save filters as view"), () => this.save_view());
		page.add_menu_item(__("Delete saved view"), () => this.delete_view());
		page.add_menu_item(__("Refresh"), () => this.reload());
	}

	select_options(fieldname, any_label) {
		const options = (this.meta.fields.find((df) => df.fieldname === fieldname).options || "")
			.split("\n")
			.filter(Boolean);
		return [
			{ value: "", label: any_label },
			...options.map((o) => ({ value: o, label: __(o) })),
		];
	}

	filter_inputs() {
		const values = {};
		for (const key of filter_utils.FILTER_KEYS) {
			values[key] = this.fields[key] ? (this.fields[key].get_value() || "").trim() : "";
		}
		return values;
	}

	// Shows the loaded team and filters, except in a filter the user changed while the load ran
	// (text being typed in the search box is theirs: its change event loads it next).
	sync_toolbar(typed = {}) {
		this.syncing = true;
		const team_field = this.fields.team;
		team_field.df.options = this.store.teams.map((t) => ({ value: t, label: t }));
		team_field.refresh();
		team_field.set_input(this.store.team);
		const now = this.filter_inputs();
		for (const key of filter_utils.FILTER_KEYS) {
			if (key in typed && now[key] !== typed[key]) continue;
			this.fields[key].set_input(this.filters[key] || "");
		}
		this.refresh_views();
		this.syncing = false;
	}

	on_team_change() {
		if (this.syncing) return;
		const team = this.fields.team.get_value();
		if (team && team !== this.store.team) this.load(team, this.filters);
	}

	on_filter_change() {
		if (this.syncing) return;
		const filters = {};
		for (const key of filter_utils.FILTER_KEYS) {
			const value = (this.fields[key].get_value() || "").trim();
			if (value) filters[key] = value;
		}
		if (JSON.stringify(filters) === JSON.stringify(this.filters)) return;
		this.load(this.store.team, filters);
	}

	refresh_views() {
		const views = filter_utils.saved_views();
		const field = this.fields.view;
		field.df.options = [
			{ value: "", label: __("Saved views") },
			...Object.keys(views)
				.sort()
				.map((name) => ({ value: name, label: name })),
		];
		field.refresh();
		const current = Object.keys(views).find(
			(name) =>
				views[name].team === this.store.team &&
				JSON.stringify(views[name].filters || {}) === JSON.stringify(this.filters)
		);
		field.set_input(current || "");
	}

	apply_view(name) {
		if (this.syncing || !name) return;
		const view = filter_utils.saved_views()[name];
		if (view) this.load(view.team || this.store.team, view.filters || {});
	}

	save_view() {
		frappe.prompt(
			{ fieldname: "name", label: __("View name"), fieldtype: "Data", reqd: 1 },
			async ({ name }) => {
				const views = { ...filter_utils.saved_views() };
				views[name.trim()] = { team: this.store.team, filters: { ...this.filters } };
				await filter_utils.save_views(views);
				this.refresh_views();
				frappe.show_alert({
					message: __("View {0} saved", [name.trim()]),
					indicator: "green",
				});
			},
			__("Save filters as view"),
			__("Save")
		);
	}

	delete_view() {
		const name = this.fields.view.get_value();
		if (!name) {
			frappe.msgprint(__("Choose the saved view to delete first"));
			return;
		}
		frappe.confirm(
			__("Delete saved view {0}?", [frappe.utils.escape_html(name)]),
			async () => {
				const views = { ...filter_utils.saved_views() };
				delete views[name];
				await filter_utils.save_views(views);
				this.refresh_views();
			}
		);
	}

	// Drawing
	// -------

	on_store_change(change) {
		if (change.type === "load") {
			this.render();
		} else if (change.type === "column") {
			this.render_column(change.stage);
		} else if (change.type === "cards") {
			change.stages.forEach((stage) => this.render_column(stage));
			this.panel.on_card_change(change.name);
		} else if (change.type === "stale") {
			clearTimeout(this.stale_timer);
			this.stale_timer = setTimeout(() => this.reload(), 300);
		}
	}

	render() {
		const focused =
			document.activeElement &&
			$(document.activeElement).closest(".pb-card").attr("data-name");
		this.$columns.empty();
		for (const column of this.store.columns) {
			const $column = $(`<section class="pb-column" data-stage="${frappe.utils.escape_html(
				column.name
			)}" data-stage-type="${frappe.utils.escape_html(column.stage_type)}">
				<header class="pb-column-header"></header>
				<div class="pb-cards" role="list" aria-label="${frappe.utils.escape_html(
					__(column.stage_name)
				)}"></div>
			</section>`).appendTo(this.$columns);
			$column.find(".pb-cards").on("scroll", (e) => this.on_scroll(e, column.name));
			this.render_column(column.name);
		}
		if (!this.store.columns.length) {
			this.$columns.html(
				`<div class="pb-empty">${frappe.utils.escape_html(
					__("This team has no funnel stages yet.")
				)}</div>`
			);
		}
		if (focused) this.focus_card(focused);
	}

	render_column(stage) {
		const column = this.store.column(stage);
		const $column = this.$column(stage);
		if (!column || !$column.length) return;
		const focused =
			document.activeElement &&
			$(document.activeElement).closest(".pb-card").attr("data-name");
		$column.find(".pb-column-header").html(column_header_html(column, this.store));
		const more = this.store.has_more(column)
			? `<div class="pb-more">${frappe.utils.escape_html(
					__("{0} more", [column.count - column.cards.length])
			  )}</div>`
			: "";
		$column
			.find(".pb-cards")
			.html(column.cards.map((card) => card_html(card, this.store)).join("") + more);
		if (focused && column.cards.some((card) => card.name === focused))
			this.focus_card(focused);
		this.fill_column(column);
	}

	$column(stage) {
		return this.$columns.find(`.pb-column[data-stage="${CSS.escape(stage)}"]`);
	}

	$card(name) {
		return this.$columns.find(`.pb-card[data-name="${CSS.escape(name)}"]`);
	}

	focus_card(name) {
		const $card = this.$card(name);
		if ($card.length) $card[0].focus({ preventScroll: false });
	}

	on_scroll(event, stage) {
		const el = event.currentTarget;
		if (el.scrollTop + el.clientHeight > el.scrollHeight - 200) this.store.load_more(stage);
	}

	fill_column(column) {
		// a column whose cards do not fill it cannot scroll: load the next page right away
		const el = this.$column(column.name).find(".pb-cards")[0];
		if (el && this.store.has_more(column) && el.scrollHeight <= el.clientHeight + 10) {
			this.store.load_more(column.name);
		}
	}

	// Gestures
	// --------

	bind_events() {
		const $cols = this.$columns;
		$cols.on("click", ".pb-card", (e) =>
			this.panel.open($(e.currentTarget).attr("data-name"))
		);
		$cols.on("keydown", ".pb-card", (e) => this.on_card_key(e));
		$cols.on("dragstart", ".pb-card", (e) => {
			this.dragging = $(e.currentTarget).attr("data-name");
			e.originalEvent.dataTransfer.effectAllowed = "move";
			e.originalEvent.dataTransfer.setData("text/plain", this.dragging);
			$(e.currentTarget).addClass("pb-dragging");
		});
		$cols.on("dragend", ".pb-card", (e) => {
			$(e.currentTarget).removeClass("pb-dragging");
			this.clear_drop_marker();
			this.dragging = null;
		});
		$cols.on("dragover", ".pb-column", (e) => {
			if (!this.dragging) return;
			e.preventDefault();
			e.originalEvent.dataTransfer.dropEffect = "move";
			this.show_drop_marker($(e.currentTarget), e.originalEvent.clientY);
		});
		$cols.on("drop", ".pb-column", (e) => {
			if (!this.dragging) return;
			e.preventDefault();
			const stage = $(e.currentTarget).attr("data-stage");
			const { before, after } = this.drop_neighbours(
				$(e.currentTarget),
				e.originalEvent.clientY
			);
			const name = this.dragging;
			this.clear_drop_marker();
			this.dragging = null;
			this.move(name, stage, before, after);
		});
	}

	drop_neighbours($column, y) {
		const cards = $column
			.find(".pb-card")
			.toArray()
			.filter((el) => el.dataset.name !== this.dragging);
		let after = null;
		let before = null;
		for (const el of cards) {
			const box = el.getBoundingClientRect();
			if (y < box.top + box.height / 2) {
				before = el.dataset.name;
				break;
			}
			after = el.dataset.name;
		}
		return { before, after };
	}

	show_drop_marker($column, y) {
		const { before } = this.drop_neighbours($column, y);
		if (this.drop_target === `${$column.attr("data-stage")}|${before}`) return;
		this.clear_drop_marker();
		this.drop_target = `${$column.attr("data-stage")}|${before}`;
		const $marker = $('<div class="pb-drop-marker"></div>');
		if (before) $marker.insertBefore(this.$card(before));
		else $column.find(".pb-cards").append($marker);
	}

	clear_drop_marker() {
		this.$columns.find(".pb-drop-marker").remove();
		this.drop_target = null;
	}

	on_card_key(e) {
		const name = $(e.currentTarget).attr("data-name");
		const card = this.store.find_card(name);
		if (!card) return;
		const columns = this.store.columns;
		const index = columns.findIndex((c) => c.name === card.stage);
		const cards = columns[index].cards;
		const position = cards.findIndex((c) => c.name === name);
		const key = e.key;
		if (key === "Enter" || key === " ") {
			e.preventDefault();
			this.panel.open(name);
			return;
		}
		if (!["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"].includes(key)) return;
		e.preventDefault();
		if (e.altKey) {
			if (key === "ArrowLeft" && index > 0)
				this.move(name, columns[index - 1].name, null, null);
			if (key === "ArrowRight" && index < columns.length - 1) {
				this.move(name, columns[index + 1].name, null, null);
			}
			if (key === "ArrowUp" && position > 0) {
				this.move(
					name,
					card.stage,
					cards[position - 1].name,
					cards[position - 2]?.name || null
				);
			}
			if (key === "ArrowDown" && position < cards.length - 1) {
				this.move(
					name,
					card.stage,
					cards[position + 2]?.name || null,
					cards[position + 1].name
				);
			}
			return;
		}
		// plain arrows move the focus
		let target = null;
		if (key === "ArrowUp") target = cards[position - 1];
		if (key === "ArrowDown") target = cards[position + 1];
		if (key === "ArrowLeft" || key === "ArrowRight") {
			const next = columns[index + (key === "ArrowLeft" ? -1 : 1)];
			if (next) target = next.cards[Math.min(position, next.cards.length - 1)];
		}
		if (target) this.focus_card(target.name);
	}

	async move(name, stage, before, after) {
		const column = this.store.column(stage);
		const card = this.store.find_card(name);
		if (!column || !card) return;
		if (column.stage_type === "Lost" && card.stage !== stage) {
			// Lost needs a reason: ask first, then move with it
			const values = await this.panel.ask_lost_reason();
			if (!values) return;
			return this.run(this.store.update(name, { stage, ...values }), name);
		}
		return this.run(this.store.move(name, stage, before, after), name);
	}

	async run(promise, name) {
		try {
			const card = await promise;
			if (name) this.focus_card(name);
			return card;
		} catch (error) {
			if (error instanceof Conflict) {
				frappe.msgprint({
					title: __("Changed by someone else"),
					message: frappe.utils.escape_html(error.message),
					indicator: "orange",
				});
			} else {
				frappe.msgprint({
					title: __("Not changed"),
					message: error.message,
					indicator: "red",
				});
			}
			return null;
		}
	}

	// Realtime
	// --------

	subscribe_realtime() {
		this.realtime_handler = (event) => this.store.on_event(event);
		frappe.realtime.on(REALTIME_EVENT, this.realtime_handler);
		const socket = frappe.realtime.socket;
		if (!socket) return;
		socket.on("disconnect", () => {
			this.missed_events = true;
		});
		socket.on("connect", () => {
			// events sent while the connection was down are lost: reload what the board shows
			if (this.missed_events && this.store.team) this.reload();
		});
		document.addEventListener("visibilitychange", () => {
			if (document.visibilityState === "visible") this.reconnect();
		});
	}

	reconnect() {
		const socket = frappe.realtime.socket;
		if (socket && !socket.connected) socket.connect();
	}
}
