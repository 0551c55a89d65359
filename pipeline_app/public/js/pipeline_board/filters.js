// The board's filters: kept in the URL, saved as named views per user (Frappe's User Settings),
// and matched against cards arriving by realtime, as the server matches them (pipeline_app/board.py).

// the filters get_board takes and the statuses it shows unless filtered (pipeline_app/board.py,
// through the desk's boot: pipeline_app/boot.py)
const built_in_keys = () => frappe.boot.pipeline_board.filter_keys;
const active_statuses = () => frappe.boot.pipeline_board.active_statuses;
const VIEWS_KEY = "pipeline_board_views";
const DOCTYPE = "Pipeline Opportunity";
const NUMBER_TYPES = ["Check", "Int", "Float", "Currency", "Percent"];

// The administrator's In Standard Filter fields (board.doctype_filter_info): known from the boot
// before the first load, then from each get_board answer (a field added since the desk loaded).
let doctype_fields = null;

export function doctype_filters() {
	return doctype_fields || frappe.boot.pipeline_board.doctype_filters || [];
}

export function set_doctype_filters(fields) {
	doctype_fields = fields || [];
}

// every filter get_board takes: its own keys, then the doctype's fields by fieldname
export function filter_keys() {
	return [...built_in_keys(), ...doctype_filters().map((df) => df.fieldname)];
}

// A card against a doctype filter, compared as the server compares (equal value). A card without
// the field came in the answer to this very filter (the server filtered it); realtime cards carry
// every level-0 filter field, and a board filtered by a field of a higher level reloads instead
// (store.js on_event).
function matches_field(card, df, wanted) {
	if (!(df.fieldname in card)) return true;
	const value = card[df.fieldname];
	if (NUMBER_TYPES.includes(df.fieldtype)) return Number(value || 0) === Number(wanted);
	return String(value ?? "") === String(wanted);
}

export function from_url() {
	const params = new URLSearchParams(window.location.search);
	const filters = {};
	for (const key of filter_keys()) {
		const value = params.get(key);
		if (value) filters[key] = value;
	}
	return { team: params.get("team") || null, filters };
}

export function to_url(team, filters) {
	const params = new URLSearchParams();
	if (team) params.set("team", team);
	for (const key of filter_keys()) {
		const value = filters[key];
		if (value !== undefined && value !== null && value !== "") params.set(key, value);
	}
	const query = params.toString();
	const url = window.location.pathname + (query ? `?${query}` : "");
	if (url !== window.location.pathname + window.location.search) {
		window.history.replaceState(window.history.state, "", url);
	}
}

// Case and accents folded, as MariaDB's utf8mb4_unicode_ci compares in the server's LIKE search.
function fold(text) {
	return String(text || "")
		.normalize("NFD")
		.replace(/\p{Diacritic}/gu, "")
		.toLowerCase();
}

export function matches(card, filters, user) {
	const statuses = filters.status ? [filters.status] : active_statuses();
	if (!statuses.includes(card.status)) return false;
	if (filters.owner === "me" && card.opportunity_owner !== user) return false;
	if (filters.owner === "unassigned" && card.opportunity_owner) return false;
	if (filters.owner && !["me", "unassigned"].includes(filters.owner)) {
		if (card.opportunity_owner !== filters.owner) return false;
	}
	if (filters.follow_up) {
		const due = card.follow_up_on && frappe.datetime.str_to_obj(card.follow_up_on);
		const now = frappe.datetime.str_to_obj(frappe.datetime.now_datetime());
		if (filters.follow_up === "none" && due) return false;
		if (filters.follow_up === "due" && !(due && due <= now)) return false;
		if (filters.follow_up === "upcoming" && !(due && due > now)) return false;
	}
	for (const key of ["source", "interest"]) {
		if (filters[key] && card[key] !== filters[key]) return false;
	}
	if (filters.q) {
		const needle = fold(filters.q);
		const found = ["title", "contact_name", "contact_email", "contact_phone", "name"].some(
			(field) => fold(card[field]).includes(needle)
		);
		if (!found) return false;
	}
	for (const df of doctype_filters()) {
		const wanted = filters[df.fieldname];
		if (wanted === undefined || wanted === null || wanted === "") continue;
		if (!matches_field(card, df, wanted)) return false;
	}
	return true;
}

export function saved_views() {
	return (frappe.get_user_settings(DOCTYPE) || {})[VIEWS_KEY] || {};
}

export function save_views(views) {
	return frappe.model.user_settings.save(DOCTYPE, VIEWS_KEY, views);
}
