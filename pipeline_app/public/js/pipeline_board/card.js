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

export function card_html(card, store) {
	const { users, team_info } = store;
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
