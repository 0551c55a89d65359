// Card and column header markup. Every user string is escaped here and nowhere else is HTML built
// from card data.

import { document_color, esc, safe_color, STATUS_CLASS } from "./html";

export function money(value, currency) {
	return esc(format_currency(value || 0, currency));
}

export function user_name(users, user) {
	return (users[user] && users[user].full_name) || user;
}

function follow_up_chip(card) {
	if (!card.follow_up_on) return "";
	const due = frappe.datetime.str_to_obj(card.follow_up_on);
	const now = frappe.datetime.str_to_obj(frappe.datetime.now_datetime());
	const overdue = due <= now;
	const label = overdue ? __("Follow-up due") : __("Follow-up");
	return `<span class="pb-chip ${overdue ? "pb-chip-overdue" : "pb-chip-upcoming"}"
		title="${esc(label)}: ${esc(frappe.datetime.str_to_user(card.follow_up_on))}">
		${esc(moment(due).format("D MMM HH:mm"))}</span>`;
}

// Set by the nightly abandonment job while the card is in its team's warning window
// (server: automation/abandonment.py warn_team); cleared by a reply, a booking or a move.
function abandon_chip(card) {
	if (!card.abandons_on || card.status !== "Open") return "";
	const on = frappe.datetime.str_to_user(card.abandons_on);
	return `<span class="pb-chip pb-chip-abandon"
		title="${esc(__("The contact stopped answering: abandoned on {0} unless they reply", [on]))}">
		${esc(__("Abandons on {0}", [moment(card.abandons_on).format("D MMM")]))}</span>`;
}

// With ERPNext: the latest Quotation and Sales Order of the card (server: erpnext/linked.py)
function document_badges(card) {
	return (card.documents || [])
		.map(
			(d) => `<span class="pb-doc pb-doc-${document_color(d.status)}"
				data-doctype="${esc(d.doctype)}" data-document="${esc(d.name)}"
				title="${esc(__(d.doctype))} ${esc(d.name)}: ${esc(__(d.status))}">
				${esc(d.name)} · ${esc(__(d.status))}</span>`
		)
		.join("");
}

// The panel's links to the card's documents.
export function documents_html(card) {
	if (!card.documents || !card.documents.length) return "";
	return `<div class="pb-panel-documents">${card.documents
		.map(
			(d) => `<a class="pb-doc pb-doc-${document_color(d.status)}"
				href="/app/${esc(frappe.router.slug(d.doctype))}/${encodeURIComponent(d.name)}">
				${esc(__(d.doctype))} ${esc(d.name)} · ${esc(__(d.status))}</a>`
		)
		.join("")}</div>`;
}

// Values as the desk formats them (frappe.format: currency, dates, datetimes, checkboxes, numbers,
// percent), escaped where Frappe's formatter passes the text through as HTML: Data, Select, the
// texts and a Link's title (a card is a click target of its own: links show as their titles, as
// the desk's list view shows them, not as anchors).
const TEXT_TYPES = ["Data", "Phone", "Small Text", "Text", "Long Text", "Read Only"];

export function format_value(value, df, card, team_info) {
	if (value === null || value === undefined || value === "") return "";
	if (df.fieldtype === "Select" || df.fieldtype === "Autocomplete") return esc(__(value));
	if (TEXT_TYPES.includes(df.fieldtype)) return esc(value);
	if (df.fieldtype === "Link") {
		remember_link_titles(card);
		return esc(__(frappe.utils.get_link_title(df.options, value) || value));
	}
	const doc = { ...card, currency: card.currency || (team_info && team_info.currency) };
	return frappe.format(value, { ...df }, { inline: true }, doc);
}

// The titles the server sent with the card (Show Title in Link Fields), where Frappe's Link
// formatter and controls look them up.
export function remember_link_titles(card) {
	for (const [key, title] of Object.entries(card.link_titles || {})) {
		const at = key.indexOf("::");
		frappe.utils.add_link_title(key.slice(0, at), key.slice(at + 2), title);
	}
}

// The parts of a card drawn their own way when a card layout lists their field (the rest: label and
// formatted value). `inline` parts share a row of chips.
const SPECIAL_PARTS = {
	title: () => null, // always the card's head
	unread_count: () => null, // beside the title, as on the standard card
	status: () => null, // the card's colour and label
	contact_name: (card) =>
		card.contact_name
			? { html: `<div class="pb-contact">${esc(card.contact_name)}</div>` }
			: null,
	last_message_preview: (card) =>
		card.last_message_preview
			? { html: `<div class="pb-preview">${esc(card.last_message_preview)}</div>` }
			: null,
	opportunity_owner: (card, store) => ({ inline: true, html: owner_html(card, store.users) }),
	amount: (card, store) => ({
		inline: true,
		html: `<span class="pb-amount">${money(
			card.amount,
			card.currency || store.team_info.currency
		)}</span>`,
	}),
	follow_up_on: (card) => ({ inline: true, html: follow_up_chip(card) }),
	abandons_on: (card) => ({ inline: true, html: abandon_chip(card) }),
	unanswered: (card) => ({ inline: true, html: unanswered_html(card) }),
	last_activity_on: (card) => ({ inline: true, html: activity_html(card) }),
};

function field_part(card, df, store) {
	const special = SPECIAL_PARTS[df.fieldname];
	if (special) return special(card, store);
	const value = card[df.fieldname];
	if (df.fieldtype !== "Check" && (value === null || value === undefined || value === "")) {
		return null;
	}
	return {
		html: `<div class="pb-field pb-field-${esc(df.fieldtype.replace(/ /g, "-").toLowerCase())}"
			data-fieldname="${esc(df.fieldname)}"><span class="pb-field-label">${esc(
			df.label
		)}</span> <span class="pb-field-value">${format_value(
			value,
			df,
			card,
			store.team_info
		)}</span></div>`,
	};
}

// A card of a team with a card layout: its head, then the fields it shows in the layout's order.
function layout_card_html(card, store, layout) {
	const parts = layout
		.filter((df) => df.show && df.fieldname in card)
		.map((df) => field_part(card, df, store))
		.filter((part) => part && part.html);
	let body = "";
	let chips = [];
	const flush = () => {
		if (chips.length) body += `<div class="pb-chips">${chips.join("")}</div>`;
		chips = [];
	};
	for (const part of parts) {
		if (part.inline) {
			chips.push(part.html);
		} else {
			flush();
			body += part.html;
		}
	}
	flush();
	const shows = (fieldname) => layout.some((df) => df.show && df.fieldname === fieldname);
	const unread = shows("unread_count") ? unread_html(card) : "";
	return card_frame(
		card,
		`${unread}`,
		`${body}${status_html(card) ? `<div class="pb-meta">${status_html(card)}</div>` : ""}${
			card.documents && card.documents.length
				? `<div class="pb-chips">${document_badges(card)}</div>`
				: ""
		}`
	);
}

function card_frame(card, head_extra, body) {
	return `<div class="pb-card ${STATUS_CLASS[card.status] || ""}" draggable="true" tabindex="0"
			role="listitem" data-name="${esc(card.name)}"
			aria-label="${esc(card.title || card.name)}" aria-describedby="pb-keyboard-help">
		<div class="pb-card-head">
			<span class="pb-title">${esc(card.title || card.name)}</span>${head_extra}
		</div>
		${body}
	</div>`;
}

function owner_html(card, users) {
	return card.opportunity_owner
		? `<span class="pb-owner">${esc(user_name(users, card.opportunity_owner))}</span>`
		: `<span class="pb-owner pb-unassigned">${esc(__("Unassigned"))}</span>`;
}

function unread_html(card) {
	return card.unread_count
		? `<span class="pb-unread" title="${esc(__("Unread messages"))}">${esc(
				card.unread_count
		  )}</span>`
		: "";
}

function unanswered_html(card) {
	return card.unanswered
		? `<span class="pb-unanswered" title="${esc(__("Waiting for an answer"))}">${esc(
				__("Unanswered")
		  )}</span>`
		: "";
}

function activity_html(card) {
	return card.last_activity_on
		? `<span class="pb-activity" title="${esc(__("Last activity"))}">${esc(
				frappe.datetime.prettyDate(card.last_activity_on)
		  )}</span>`
		: "";
}

function status_html(card) {
	return card.status !== "Open"
		? `<span class="pb-status-label">${esc(__(card.status))}</span>`
		: "";
}

export function card_html(card, store) {
	const { users, team_info } = store;
	// the team's card layout (get_board's team.card_fields); none: the standard card below
	if (team_info.card_fields) return layout_card_html(card, store, team_info.card_fields);
	const owner = card.opportunity_owner
		? `<span class="pb-owner">${esc(user_name(users, card.opportunity_owner))}</span>`
		: `<span class="pb-owner pb-unassigned">${esc(__("Unassigned"))}</span>`;
	const amount = team_info.deal_amount_enabled
		? `<span class="pb-amount">${money(
				card.amount,
				card.currency || team_info.currency
		  )}</span>`
		: "";
	const unread = card.unread_count
		? `<span class="pb-unread" title="${esc(__("Unread messages"))}">${esc(
				card.unread_count
		  )}</span>`
		: "";
	const unanswered = card.unanswered
		? `<span class="pb-unanswered" title="${esc(__("Waiting for an answer"))}">${esc(
				__("Unanswered")
		  )}</span>`
		: "";
	const activity = card.last_activity_on
		? `<span class="pb-activity" title="${esc(__("Last activity"))}">${esc(
				frappe.datetime.prettyDate(card.last_activity_on)
		  )}</span>`
		: "";
	const preview = card.last_message_preview
		? `<div class="pb-preview">${esc(card.last_message_preview)}</div>`
		: "";
	const status =
		card.status !== "Open"
			? `<span class="pb-status-label">${esc(__(card.status))}</span>`
			: "";
	return `<div class="pb-card ${STATUS_CLASS[card.status] || ""}" draggable="true" tabindex="0"
			role="listitem" data-name="${esc(card.name)}"
			aria-label="${esc(card.title || card.name)}" aria-describedby="pb-keyboard-help">
		<div class="pb-card-head">
			<span class="pb-title">${esc(card.title || card.name)}</span>${unread}
		</div>
		<div class="pb-contact">${esc(card.contact_name || "")}</div>
		<div class="pb-meta">${amount}${owner}${status}</div>
		<div class="pb-chips">${follow_up_chip(card)}${abandon_chip(
		card
	)}${unanswered}${activity}${document_badges(card)}</div>
		${preview}
	</div>`;
}

export function column_header_html(column, store) {
	const { team_info } = store;
	const totals = team_info.deal_amount_enabled
		? `<div class="pb-column-totals">
				<span class="pb-total" title="${esc(__("Total amount"))}">${money(
				column.amount,
				team_info.currency
		  )}</span>
				<span class="pb-weighted" title="${esc(__("Weighted by probability"))}">${esc(
				__("Weighted")
		  )} ${money(column.weighted_amount, team_info.currency)}</span>
			</div>`
		: "";
	return `<div class="pb-column-title">
			<span class="pb-dot" style="background: ${safe_color(column.color)}"></span>
			<span class="pb-stage-name">${esc(__(column.stage_name))}</span>
			<span class="pb-count">${esc(column.count)}</span>
		</div>${totals}`;
}
