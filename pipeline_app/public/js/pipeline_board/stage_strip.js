// The strip of stage names above the columns, shown on phones (pipeline_board.bundle.scss), where
// the columns snap one per screen width: each name, with its count, scrolls the board to its
// column, and the name of the column in view is marked as the columns are swiped.

import { esc, safe_color } from "./html";

export class StageStrip {
	constructor(board) {
		this.board = board;
		this.current = null; // the stage whose column is in view
		this.frame = null;
		this.$strip = $(`<nav class="pb-stage-strip" aria-label="${esc(__("Stages"))}"></nav>`);
		this.$strip.insertBefore(board.$columns);
		this.$strip.on("click", ".pb-stage-tab", (e) =>
			this.show($(e.currentTarget).attr("data-stage"))
		);
		board.$columns.on("scroll", () => {
			// once per frame while the columns scroll: mark the column that comes into view
			if (this.frame) return;
			this.frame = requestAnimationFrame(() => {
				this.frame = null;
				this.mark(this.in_view());
			});
		});
	}

	render() {
		const columns = this.board.store.columns;
		this.$strip.html(
			columns
				.map(
					(column) => `<button type="button" class="pb-stage-tab"
						data-stage="${esc(column.name)}">
						<span class="pb-dot" style="background: ${safe_color(column.color)}"></span>
						<span class="pb-stage-name">${esc(__(column.stage_name))}</span>
						<span class="pb-count">${esc(column.count)}</span>
					</button>`
				)
				.join("")
		);
		const shown = columns.some((c) => c.name === this.current) ? this.current : null;
		this.current = null;
		this.mark(shown || this.in_view());
	}

	update(column) {
		this.$tab(column.name).find(".pb-count").text(column.count);
	}

	$tab(stage) {
		return this.$strip.find(`.pb-stage-tab[data-stage="${CSS.escape(stage)}"]`);
	}

	// Scrolls the columns to `stage`'s column (the snap keeps it there).
	show(stage, behavior = "smooth") {
		const scroller = this.board.$columns[0];
		const column = this.board.$column(stage)[0];
		if (!scroller || !column) return;
		const left =
			column.getBoundingClientRect().left -
			scroller.getBoundingClientRect().left +
			scroller.scrollLeft;
		scroller.scrollTo({ left, behavior });
		this.mark(stage);
	}

	// Scrolls to `stage`'s column unless it is wholly in view already.
	reveal(stage) {
		const scroller = this.board.$columns[0];
		const column = this.board.$column(stage)[0];
		if (!scroller || !column) return;
		const outer = scroller.getBoundingClientRect();
		const box = column.getBoundingClientRect();
		if (box.left < outer.left - 1 || box.right > outer.right + 1) this.show(stage, "auto");
	}

	// the stage of the column whose left edge is nearest the board's
	in_view() {
		const scroller = this.board.$columns[0];
		if (!scroller) return null;
		const origin = scroller.getBoundingClientRect().left;
		let best = null;
		let distance = Infinity;
		for (const el of scroller.querySelectorAll(".pb-column")) {
			const d = Math.abs(el.getBoundingClientRect().left - origin);
			if (d < distance) {
				distance = d;
				best = el.dataset.stage;
			}
		}
		return best;
	}

	mark(stage) {
		if (!stage || stage === this.current) return;
		this.current = stage;
		this.$strip.find(".pb-stage-tab[aria-current]").removeAttr("aria-current");
		const tab = this.$tab(stage).attr("aria-current", "true")[0];
		const strip = this.$strip[0];
		if (!tab || !strip.clientWidth) return; // hidden (wider screens)
		// keep the marked name in the strip's view, without scrolling the page (the strip is the
		// tabs' offset parent: offsetLeft is in its content)
		const left = tab.offsetLeft;
		if (
			left < strip.scrollLeft ||
			left + tab.offsetWidth > strip.scrollLeft + strip.clientWidth
		) {
			strip.scrollTo({ left: left - 16, behavior: "smooth" });
		}
	}
}
