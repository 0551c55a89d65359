// Drag and drop and the keyboard on the board's cards: both end in the board's `move`.

export class BoardGestures {
	constructor(board) {
		this.board = board;
		this.dragging = null; // the name of the card being dragged
		this.drop_target = null; // "stage|card below" of the drop marker shown
	}

	bind() {
		const $cols = this.board.$columns;
		$cols.on("click", ".pb-card", (e) =>
			this.board.panel.open($(e.currentTarget).attr("data-name"))
		);
		$cols.on("keydown", ".pb-card", (e) => this.on_card_key(e));
		$cols.on("dragstart", ".pb-card", (e) => {
			this.dragging = $(e.currentTarget).attr("data-name");
			e.originalEvent.dataTransfer.effectAllowed = "move";
			e.originalEvent.dataTransfer.setData("text/plain", this.dragging);
			$(e.currentTarget).addClass("pb-dragging");
			this.close_stages(this.dragging);
		});
		$cols.on("dragend", ".pb-card", (e) => {
			$(e.currentTarget).removeClass("pb-dragging");
			this.clear_drop_marker();
			this.open_stages();
			this.dragging = null;
		});
		$cols.on("dragover", ".pb-column", (e) => {
			if (!this.dragging || $(e.currentTarget).hasClass("pb-closed")) return; // no drop there
			e.preventDefault();
			e.originalEvent.dataTransfer.dropEffect = "move";
			this.show_drop_marker($(e.currentTarget), e.originalEvent.clientY);
		});
		$cols.on("drop", ".pb-column", (e) => {
			if (!this.dragging || $(e.currentTarget).hasClass("pb-closed")) return;
			e.preventDefault();
			const stage = $(e.currentTarget).attr("data-stage");
			const { before, after } = this.drop_neighbours(
				$(e.currentTarget),
				e.originalEvent.clientY
			);
			const name = this.dragging;
			this.clear_drop_marker();
			this.open_stages();
			this.dragging = null;
			this.board.move(name, stage, before, after);
		});
	}

	// While a card is dragged, the stages its gates keep it out of are closed (the server's answer
	// for each pair of stages: the column's gate.enterable_from).
	close_stages(name) {
		const card = this.board.store.find_card(name);
		if (!card) return;
		for (const column of this.board.store.columns) {
			if (!this.board.store.may_enter(card, column)) {
				this.board
					.$column(column.name)
					.addClass("pb-closed")
					.attr("aria-disabled", "true")
					.attr("title", __("This card may not move to this stage"));
			}
		}
	}

	open_stages() {
		this.board.$columns
			.find(".pb-column.pb-closed")
			.removeClass("pb-closed")
			.removeAttr("aria-disabled")
			.removeAttr("title");
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
		if (before) $marker.insertBefore(this.board.$card(before));
		else $column.find(".pb-cards").append($marker);
	}

	clear_drop_marker() {
		this.board.$columns.find(".pb-drop-marker").remove();
		this.drop_target = null;
	}

	on_card_key(e) {
		const name = $(e.currentTarget).attr("data-name");
		const card = this.board.store.find_card(name);
		if (!card) return;
		const columns = this.board.store.columns;
		const index = columns.findIndex((c) => c.name === card.stage);
		const cards = columns[index].cards;
		const position = cards.findIndex((c) => c.name === name);
		const key = e.key;
		if (key === "Enter" || key === " ") {
			e.preventDefault();
			this.board.panel.open(name);
			return;
		}
		if (!["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"].includes(key)) return;
		e.preventDefault();
		if (e.altKey) {
			if (key === "ArrowLeft" && index > 0)
				this.board.move(name, columns[index - 1].name, null, null);
			if (key === "ArrowRight" && index < columns.length - 1) {
				this.board.move(name, columns[index + 1].name, null, null);
			}
			if (key === "ArrowUp" && position > 0) {
				this.board.move(
					name,
					card.stage,
					cards[position - 1].name,
					cards[position - 2]?.name || null
				);
			}
			if (key === "ArrowDown" && position < cards.length - 1) {
				this.board.move(
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
		if (target) this.board.focus_card(target.name);
	}
}
