// What every piece of the board that builds HTML shares: escaping and the status colours.

export const esc = (value) => frappe.utils.escape_html(value == null ? "" : String(value));

// a card's class by status (pipeline_board.bundle.scss)
export const STATUS_CLASS = {
	Won: "pb-status-won",
	Lost: "pb-status-lost",
	"On Hold": "pb-status-hold",
	Abandoned: "pb-status-abandoned",
};

// Frappe's indicator colours, shared with the opportunity form (pipeline_app.bundle.js)
export const status_color = (status) => pipeline_app.STATUS_COLOR[status] || "blue";
export const document_color = (status) => pipeline_app.DOCUMENT_COLOR[status] || "orange";

// a stage colour as stored, or grey when it is not a plain colour
export const safe_color = (color) =>
	/^(#[0-9a-f]{3,8}|[a-z]+)$/i.test(color || "") ? color : "var(--gray-400)";
