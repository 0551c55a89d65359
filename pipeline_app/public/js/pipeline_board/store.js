// Board state: the columns of one team with their totals and loaded cards. Every change, local or
// from the server (answers, realtime events), goes through `apply_card`, which keeps the totals
// right by undoing the contribution of the card's last known state before adding the new one.

import { get, post, Conflict } from "./api";
import { doctype_filters, matches, set_doctype_filters } from "./filters";

export function compare_cards(a, b) {
	const ra = a.board_rank ?? 0;
	const rb = b.board_rank ?? 0;
	if (ra !== rb) return ra < rb ? -1 : 1;
	return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export class BoardStore {
	constructor() {
		this.team = null; // the team shown, as the server named it
		this.team_info = null; // its currency, amount switch, members (get_board's `team`)
		this.teams = []; // the teams the user may open
		this.filters = {}; // the filters the shown cards match, as the server normalised them
		this.columns = []; // in stage order: the stage, its totals, its loaded cards, `loading`
		this.users = {}; // user -> full name and image, for owners
		this.page_size = null; // cards per scroll page (Pipeline Settings, in get_board's answer)
		this.known = new Map(); // name -> the card state the totals reflect
		this.listeners = new Set();
		this.generation = 0; // bumped by each load: answers to older loads are dropped
	}

	subscribe(listener) {
		this.listeners.add(listener);
		return () => this.listeners.delete(listener);
	}

	emit(change) {
		for (const listener of this.listeners) listener(change);
	}

	column(stage) {
		return this.columns.find((column) => column.name === stage);
	}

	find_card(name) {
		for (const column of this.columns) {
			const card = column.cards.find((c) => c.name === name);
			if (card) return card;
		}
		return this.known.get(name) || null;
	}

	// Resolves true once the board shows this load, false when a newer load superseded it.
	// `limit_per_stage`: the cards per column of the first screen (what a column shows and some,
	// board.first_screen()); scrolling brings the rest a page at a time.
	async load(team, filters, limit_per_stage) {
		const generation = ++this.generation;
		const data = await get("get_board", {
			team: team || undefined,
			filters: JSON.stringify(filters || {}),
			limit_per_stage: limit_per_stage || undefined,
		});
		if (generation !== this.generation) return false; // a newer load won
		this.team = data.team.name;
		this.team_info = data.team;
		this.teams = data.teams;
		this.filters = data.filters;
		this.users = data.users;
		this.page_size = data.page_size;
		set_doctype_filters(data.doctype_filters);
		this.known = new Map();
		this.columns = data.columns.map((column) => {
			column.cards.forEach((card) => this.known.set(card.name, card));
			return { ...column, loading: false };
		});
		this.emit({ type: "load" });
		return true;
	}

	// Whether `card` may enter `column` from the stage it is in, as the server told for each pair of
	// stages (the column's gate.enterable_from: pipeline_app/gates.py); its own column always.
	may_enter(card, column) {
		return (
			column.name === card.stage ||
			Boolean(column.gate && column.gate.enterable_from.includes(card.stage))
		);
	}

	has_more(column) {
		return column.cards.length < column.count;
	}

	async load_more(stage) {
		const column = this.column(stage);
		if (!column || column.loading || !this.has_more(column)) return;
		column.loading = true;
		const generation = this.generation;
		const last = column.cards[column.cards.length - 1];
		try {
			const data = await get("get_stage_cards", {
				team: this.team,
				stage,
				start: column.cards.length,
				limit: this.page_size,
				after: last ? last.name : undefined,
				filters: JSON.stringify(this.filters),
			});
			if (generation !== this.generation) return;
			Object.assign(this.users, data.users);
			const present = new Set(column.cards.map((card) => card.name));
			for (const card of data.cards) {
				if (present.has(card.name)) continue;
				column.cards.push(card);
				this.known.set(card.name, card);
			}
			if (!data.cards.length) column.count = column.cards.length;
		} finally {
			column.loading = false;
		}
		this.emit({ type: "column", stage });
	}

	// The one way a card changes on the board. `card` is its new state (null: gone).
	apply_card(name, card, previous) {
		const old = this.known.get(name) || previous || null;
		if (card && old && old !== card && card.modified < old.modified) return; // stale event
		const touched = new Set();
		if (old && this.counts(old)) {
			const column = this.column(old.stage);
			if (column) {
				column.count = Math.max(0, column.count - 1);
				column.amount -= old.amount || 0;
				column.weighted_amount -= old.weighted_amount || 0;
				touched.add(column.name);
			}
		}
		for (const column of this.columns) {
			const index = column.cards.findIndex((c) => c.name === name);
			if (index >= 0) {
				column.cards.splice(index, 1);
				touched.add(column.name);
			}
		}
		if (card && this.counts(card)) {
			const column = this.column(card.stage);
			if (column) {
				column.count += 1;
				column.amount += card.amount || 0;
				column.weighted_amount += card.weighted_amount || 0;
				this.place(column, card);
				touched.add(column.name);
			}
			this.known.set(name, card);
		} else {
			this.known.delete(name);
		}
		this.emit({ type: "cards", stages: [...touched], name });
	}

	// A realtime card carries the doctype filter fields of permission level 0 only
	lacks_filtered_field(card) {
		if (!card) return false;
		return doctype_filters().some(
			({ fieldname }) =>
				![undefined, null, ""].includes(this.filters[fieldname]) && !(fieldname in card)
		);
	}

	counts(card) {
		return card.team === this.team && matches(card, this.filters, frappe.session.user);
	}

	place(column, card) {
		const cards = column.cards;
		const index = cards.findIndex((other) => compare_cards(card, other) < 0);
		if (index >= 0) {
			cards.splice(index, 0, card);
		} else if (cards.length >= column.count - 1 || !cards.length) {
			// the column is fully loaded: the card belongs at its end
			cards.push(card);
		}
		// otherwise it sorts after the loaded cards and comes with scrolling
	}

	on_event(event) {
		if (event.action === "refresh") {
			if (event.team === this.team) this.emit({ type: "stale" });
			return;
		}
		const concerns =
			event.team === this.team || (event.previous && event.previous.team === this.team);
		if (!concerns && !this.known.has(event.name)) return;
		if (this.lacks_filtered_field(event.card) || this.lacks_filtered_field(event.previous)) {
			this.emit({ type: "stale" }); // filtered by a field the event does not carry: ask again
			return;
		}
		this.apply_card(event.name, event.card, event.previous);
	}

	// Moves a card at once on screen, then asks the server. On a conflict the card goes where it
	// truly is; when refused it goes back.
	async move(name, stage, before, after) {
		const card = this.find_card(name);
		if (!card) return;
		const column = this.column(stage);
		const neighbours = column.cards.filter((c) => c.name !== name);
		const above = neighbours.find((c) => c.name === after);
		const below = neighbours.find((c) => c.name === before);
		let rank = card.board_rank;
		if (above && below) rank = (above.board_rank + below.board_rank) / 2;
		else if (above) rank = above.board_rank + 1;
		else if (below) rank = below.board_rank - 1;
		const moved = { ...card, stage, board_rank: rank };
		return this.change(card, moved, () =>
			post("move_opportunity", {
				name,
				stage,
				expected_modified: card.modified,
				before: before || null,
				after: after || null,
			})
		);
	}

	async update(name, values, optimistic = true) {
		const card = this.find_card(name);
		if (!card) return;
		const changed = optimistic ? { ...card, ...values } : card;
		return this.change(card, changed, () =>
			post("update_opportunity", { name, values, expected_modified: card.modified })
		);
	}

	// The Won dialog's answer (ERPNext): the document made, if any, and the card as it now is.
	async win(name, document) {
		const card = this.find_card(name);
		if (!card) return;
		let result;
		await this.change(card, card, async () => {
			result = await post("pipeline_app.erpnext.documents.win_opportunity", {
				opportunity: name,
				document: document || null,
				expected_modified: card.modified,
			});
			return result;
		});
		return result;
	}

	async change(card, optimistic, request) {
		if (optimistic !== card) this.apply_card(card.name, optimistic);
		try {
			const result = await request();
			this.apply_card(card.name, result.card);
			return result.card;
		} catch (error) {
			if (error instanceof Conflict) {
				Object.assign(this.users, error.users);
				this.apply_card(card.name, error.card);
			} else {
				this.apply_card(card.name, card);
			}
			throw error;
		}
	}
}
