// The board's toolbar: team, filters and saved views. It shows what the board loaded and turns the
// user's changes into loads; the board (board.js) owns the state. On phones the filter controls
// fold behind a Filters button counting the active filters (pipeline_board.bundle.scss).

import { add_new } from "./add_new";
import * as filter_utils from "./filters";
import { esc } from "./html";

export class BoardToolbar {
	constructor(board) {
		this.board = board;
		this.fields = {};
		this.syncing = false; // set while the toolbar shows a load: its own changes load nothing
	}

	make() {
		const page = this.board.page;
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
			if (fieldname !== "team") field.$wrapper.addClass("pb-foldable");
			field.$input && field.$input.attr("aria-label", field.df.label);
		}
		this.make_filters_toggle();
		if (frappe.model.can_create("Pipeline Opportunity")) {
			page.set_primary_action(__("Add New"), () => add_new(this.board), "add");
		}
		page.add_menu_item(__("Save filters as view"), () => this.save_view());
		page.add_menu_item(__("Delete saved view"), () => this.delete_view());
		page.add_menu_item(__("Refresh"), () => this.board.reload());
		page.add_menu_item(__("Follow this team in my digest"), () => this.follow_team(1));
		page.add_menu_item(__("Stop following this team"), () => this.follow_team(0));
	}

	// Phones only (hidden on wider screens): the button that shows and hides the filter controls
	make_filters_toggle() {
		const $form = this.board.page.page_form.addClass("pb-toolbar");
		this.$filters_toggle = $(`<button type="button" class="btn btn-default pb-filters-toggle"
				aria-expanded="false">
				${frappe.utils.icon("filter", "sm")}
				<span>${esc(__("Filters"))}</span>
				<span class="pb-filters-count" hidden></span>
			</button>`)
			.insertAfter(this.fields.team.$wrapper)
			.on("click", () => this.toggle_filters());
		this.$form = $form;
	}

	toggle_filters(open = !this.$form.hasClass("pb-filters-open")) {
		this.$form.toggleClass("pb-filters-open", open);
		this.$filters_toggle.attr("aria-expanded", String(open));
	}

	// The filters the board shows, counted as the URL and saved views hold them
	active_filter_count() {
		return filter_utils.filter_keys().filter((key) => is_set(this.board.filters[key])).length;
	}

	// A control per doctype filter (In Standard Filter fields, custom ones included), before the
	// saved views; made when the board first lists the field, hidden when it is no longer listed.
	show_doctype_fields() {
		const listed = new Set();
		for (const df of filter_utils.doctype_filters()) {
			listed.add(df.fieldname);
			if (!this.fields[df.fieldname]) this.add_doctype_field(df);
			this.fields[df.fieldname].$wrapper.toggle(true);
		}
		for (const fieldname of this.doctype_fieldnames || []) {
			if (!listed.has(fieldname)) this.fields[fieldname].$wrapper.toggle(false);
		}
		this.doctype_fieldnames = [...new Set([...(this.doctype_fieldnames || []), ...listed])];
	}

	add_doctype_field(df) {
		// labels and options are the administrator's text, which Frappe's Select draws as HTML (its
		// options and its placeholder); page.add_field sets the inputs' placeholder attribute itself
		const label = df.label || df.fieldname;
		const any = { value: "", label: __("Any {0}", [esc(label)]) };
		const control = {
			fieldname: df.fieldname,
			label,
			placeholder: esc(label),
			change: () => this.on_filter_change(),
		};
		if (df.fieldtype === "Select") {
			const options = (df.options || "").split("\n").filter(Boolean);
			Object.assign(control, {
				fieldtype: "Select",
				options: [any, ...options.map((o) => ({ value: o, label: esc(__(o)) }))],
			});
		} else if (df.fieldtype === "Check") {
			Object.assign(control, {
				fieldtype: "Select",
				options: [any, { value: "1", label: __("Yes") }, { value: "0", label: __("No") }],
			});
		} else if (df.fieldtype === "Link") {
			Object.assign(control, { fieldtype: "Link", options: df.options });
		} else if (df.fieldtype === "Date") {
			control.fieldtype = "Date";
		} else {
			control.fieldtype = "Data"; // text and numbers, compared as equal by the server
		}
		const field = this.board.page.add_field(control);
		field.$wrapper
			.addClass(`pb-filter-${df.fieldname} pb-doctype-filter pb-foldable`)
			.insertBefore(this.fields.view.$wrapper);
		field.$input && field.$input.attr("aria-label", label);
		this.fields[df.fieldname] = field;
	}

	show_filter_count() {
		const count = this.active_filter_count();
		this.$filters_toggle
			.attr(
				"aria-label",
				count ? __("Filters, {0} active", [count]) : __("Filters, none active")
			)
			.find(".pb-filters-count")
			.text(count)
			.prop("hidden", !count);
	}

	// The team's whole funnel in the user's digest (pipeline_app/automation/digests.py)
	follow_team(follow) {
		const team = this.board.store.team;
		return frappe
			.xcall("pipeline_app.api.follow_team", { team, follow })
			.then(({ following }) =>
				frappe.show_alert({
					message: following
						? __("Your digest now follows team {0}", [team])
						: __("Your digest no longer follows team {0}", [team]),
					indicator: "green",
				})
			);
	}

	select_options(fieldname, any_label) {
		const options = (
			this.board.meta.fields.find((df) => df.fieldname === fieldname).options || ""
		)
			.split("\n")
			.filter(Boolean);
		return [
			{ value: "", label: any_label },
			...options.map((o) => ({ value: o, label: __(o) })),
		];
	}

	// the server's filters that have a control here
	filter_keys() {
		return filter_utils.filter_keys().filter((key) => this.fields[key]);
	}

	// what the filter controls say now
	inputs() {
		const values = {};
		for (const key of this.filter_keys()) {
			const value = this.fields[key].get_value();
			values[key] = is_set(value) ? String(value).trim() : "";
		}
		return values;
	}

	// Shows the loaded team and filters, except in a filter the user changed while the load ran
	// (text being typed in the search box is theirs: its change event loads it next).
	show(typed = {}) {
		this.syncing = true;
		const team_field = this.fields.team;
		// team names are the administrator's text: Frappe's Select draws labels as HTML
		team_field.df.options = this.board.store.teams.map((t) => ({ value: t, label: esc(t) }));
		team_field.refresh();
		team_field.set_input(this.board.store.team);
		this.show_doctype_fields();
		const now = this.inputs();
		for (const key of this.filter_keys()) {
			if (key in typed && now[key] !== typed[key]) continue;
			const value = this.board.filters[key];
			this.fields[key].set_input(is_set(value) ? String(value) : "");
		}
		this.refresh_views();
		this.show_filter_count();
		this.syncing = false;
	}

	on_team_change() {
		if (this.syncing) return;
		const team = this.fields.team.get_value();
		if (team && team !== this.board.store.team) this.board.load(team, this.board.filters);
	}

	on_filter_change() {
		if (this.syncing) return;
		const filters = {};
		for (const [key, value] of Object.entries(this.inputs())) {
			if (value) filters[key] = value;
		}
		const loaded = Object.fromEntries(
			Object.entries(this.board.filters).map(([key, value]) => [key, String(value)])
		);
		if (JSON.stringify(filters) === JSON.stringify(loaded)) return;
		this.board.load(this.board.store.team, filters);
	}

	refresh_views() {
		const views = filter_utils.saved_views();
		const field = this.fields.view;
		field.df.options = [
			{ value: "", label: __("Saved views") },
			...Object.keys(views)
				.sort()
				.map((name) => ({ value: name, label: esc(name) })),
		];
		field.refresh();
		const current = Object.keys(views).find(
			(name) =>
				views[name].team === this.board.store.team &&
				JSON.stringify(views[name].filters || {}) === JSON.stringify(this.board.filters)
		);
		field.set_input(current || "");
	}

	apply_view(name) {
		if (this.syncing || !name) return;
		const view = filter_utils.saved_views()[name];
		if (view) this.board.load(view.team || this.board.store.team, view.filters || {});
	}

	save_view() {
		frappe.prompt(
			{ fieldname: "name", label: __("View name"), fieldtype: "Data", reqd: 1 },
			async ({ name }) => {
				const views = { ...filter_utils.saved_views() };
				views[name.trim()] = {
					team: this.board.store.team,
					filters: { ...this.board.filters },
				};
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
}

function is_set(value) {
	return value !== undefined && value !== null && value !== "";
}
