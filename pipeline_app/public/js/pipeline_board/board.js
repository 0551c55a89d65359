// The Pipeline Board page: columns of cards drawn from BoardStore (store.js), which holds the state.
// Around it: the toolbar (toolbar.js: team, filters, saved views), drag and keyboard (gestures.js),
// the card panel (panel.js, whose Move to... moves as a drop does), the stage names of phones
// (stage_strip.js) and the realtime lifecycle (live.js).

import { Conflict } from "./api";
import { card_html, column_header_html } from "./card";
import * as filter_utils from "./filters";
import { BoardGestures } from "./gestures";
import { BoardLive } from "./live";
import { CardPanel } from "./panel";
import { with_missing_fields } from "./required";
import { StageStrip } from "./stage_strip";
import { BoardStore } from "./store";
import { BoardToolbar } from "./toolbar";

// the first screen's size (first_screen): the page's height a column does not get (the scss gives a
// column calc(100vh - 230px)), and the height of the smallest card
const COLUMN_CHROME_PX = 230;
const MIN_CARD_PX = 72;
const MIN_FIRST_SCREEN = 4;

export class PipelineBoard {
	constructor(wrapper, page) {
		this.wrapper = wrapper;
		this.page = page;
		this.store = new BoardStore();
		this.filters = {}; // what the latest load asked for (the store has what it answered)
		this.meta = null;
		this.stale_timer = null;
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
		this.strip = new StageStrip(this);
		this.panel = new CardPanel(this);
		this.toolbar = new BoardToolbar(this);
		this.gestures = new BoardGestures(this);
		this.live = new BoardLive(this);
		this.store.subscribe((change) => this.on_store_change(change));
		$(wrapper).on("hide", () => this.on_hide());
		this.setup().catch((error) => this.show_error(error));
	}

	async setup() {
		await frappe.model.with_doctype("Pipeline Opportunity");
		this.meta = frappe.get_meta("Pipeline Opportunity");
		this.toolbar.make();
		this.gestures.bind();
		this.live.start();
		const { team, filters } = filter_utils.from_url();
		await this.load(team, filters);
	}

	on_show() {
		// back on the page (or the URL changed): follow the URL, reload what was missed meanwhile
		if (!this.store.team) return;
		this.live.start();
		const { team, filters } = filter_utils.from_url();
		const wanted = JSON.stringify([team || this.store.team, filters]);
		if (
			wanted !== JSON.stringify([this.store.team, this.filters]) ||
			this.live.missed_events
		) {
			this.load(team || this.store.team, filters);
		}
	}

	on_hide() {
		// the desk keeps the page while the user is elsewhere: it stops listening until shown again
		this.live.stop();
		clearTimeout(this.stale_timer);
	}

	async load(team, filters) {
		this.filters = filters || {};
		const typed = this.toolbar.inputs(); // what the toolbar says when the load starts
		this.$body.attr("aria-busy", "true");
		let shown;
		try {
			shown = await this.store.load(team, this.filters, this.first_screen());
		} catch (error) {
			this.show_error(error);
			return;
		}
		if (!shown) return; // a newer load (the user changed a filter again) owns the toolbar and URL
		this.live.missed_events = false;
		this.filters = this.store.filters;
		filter_utils.to_url(this.store.team, this.filters);
		this.toolbar.show(typed);
		this.$body.attr("aria-busy", "false");
	}

	reload() {
		return this.load(this.store.team, this.filters);
	}

	// Cards per column on a board load: as many as the tallest column shows at the smallest card
	// height, and two more, up to the server's first screen (pipeline_app/board.py, in boot). A
	// column that is not full then loads its next page itself (fill_column), so a small guess only
	// costs a request.
	first_screen() {
		const most = (frappe.boot.pipeline_board || {}).first_screen || 20;
		const column = window.innerHeight - COLUMN_CHROME_PX;
		return Math.min(most, Math.max(MIN_FIRST_SCREEN, Math.ceil(column / MIN_CARD_PX) + 2));
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
		this.strip.render();
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
		this.strip.update(column);
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

	// Moves a card as a drop does (drag, keyboard, the panel's Move to...): a Lost stage asks for the
	// reason, a gate for the required fields the card lacks, then the server's rules decide. The
	// card keeps the focus unless `focus` is false (the panel keeps it).
	async move(name, stage, before, after, { focus = true } = {}) {
		const column = this.store.column(stage);
		const card = this.store.find_card(name);
		if (!column || !card) return;
		const entering = card.stage !== stage;
		let values = {};
		if (column.stage_type === "Lost" && entering) {
			// Lost needs a reason: ask first, then move with it
			values = await this.panel.ask_lost_reason();
			if (!values) return;
		}
		if (entering && column.gate && column.gate.required_fields.length) {
			// the stage's gate asks for fields: those the card lacks are asked for, then it moves
			const asked = await this.ask_gate_fields(name, column);
			if (!asked) return;
			Object.assign(values, asked);
		}
		const focused = focus ? name : null;
		// a move the server refuses for mandatory fields the card lacks asks for them, then retries
		const attempt = (extra) => {
			const given = { ...values, ...extra };
			return Object.keys(given).length
				? this.store.update(name, { stage, ...given })
				: this.store.move(name, stage, before, after);
		};
		return this.run(
			with_missing_fields(attempt, __("Move to {0}", [__(column.stage_name)])),
			focused
		);
	}

	// The Required on Entry fields of `column` the opportunity leaves empty, asked in a dialog;
	// resolves with their values ({} when none is missing), or null when the user closes it.
	async ask_gate_fields(name, column) {
		const fields = column.gate.required_fields;
		const current =
			(
				await frappe.db.get_value(
					"Pipeline Opportunity",
					name,
					fields.map((f) => f.fieldname)
				)
			).message || {};
		const missing = fields.filter((f) => !current[f.fieldname]);
		if (!missing.length) return {};
		const elsewhere = missing.filter((f) => !f.on_board);
		if (elsewhere.length) {
			frappe.msgprint({
				title: __("Stage Gate"),
				indicator: "orange",
				message: __("Stage {0} needs {1}: fill it in the opportunity's form first", [
					frappe.utils.escape_html(__(column.stage_name)),
					elsewhere.map((f) => frappe.utils.escape_html(f.label)).join(", "),
				]),
			});
			return null;
		}
		return new Promise((resolve) => {
			let answered = false;
			const dialog = new frappe.ui.Dialog({
				title: __("Move to {0}", [__(column.stage_name)]),
				fields: missing.map((f) => ({
					fieldname: f.fieldname,
					label: f.label,
					fieldtype: f.fieldtype,
					options: f.options,
					reqd: 1,
				})),
				primary_action_label: __("Move"),
				primary_action(values) {
					answered = true;
					dialog.hide();
					resolve(values);
				},
			});
			dialog.onhide = () => answered || resolve(null);
			dialog.$wrapper.addClass("pb-gate-dialog");
			dialog.show();
		});
	}

	async run(promise, name) {
		try {
			const card = await promise;
			if (name) this.focus_card(name);
			return card;
		} catch (error) {
			if (error.shown) return null; // Frappe has said why
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
}
