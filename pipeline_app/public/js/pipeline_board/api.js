// Server calls of the board. Writes go through `post`, which separates the three answers the board
// handles differently: done, conflict (HTTP 409 with the card's current state) and refused.

export class Conflict extends Error {
	constructor(data) {
		super(data.message);
		this.card = data.card;
		this.users = data.users || {};
	}
}

export class Refused extends Error {}

const METHOD = "pipeline_app.api.";

// Reads are GET requests (frappe.xcall always posts): the server keeps a board's columns for GETs only
export async function get(method, args) {
	const response = await frappe.call({ method: METHOD + method, args, type: "GET" });
	return response.message;
}

// Writes go through frappe.call as every desk call does (CSRF, session expiry, Frappe's dialogs for
// 403, 404 and 5xx), silent for the answers the board explains itself: a refusal (417) in one dialog
// of its own (`Refused`), a conflict (409) by showing the card as it now is (`Conflict`).
export function post(method, args) {
	return new Promise((resolve, reject) => {
		let answered = null; // the answer's JSON, whatever its status (Frappe's `always` runs first)
		frappe.call({
			method: method.includes(".") ? method : METHOD + method,
			args: without_empty(args),
			type: "POST",
			silent: true,
			callback: (r) => resolve(r.message),
			always: (data) => {
				answered = data;
			},
			// Frappe passes the answer for a 417, the request for a 409, nothing for the statuses it
			// handles itself
			error: (answer) => reject(as_error(answer || answered)),
		});
	});
}

// jQuery sends a null as an empty string: leave it out, the server's default is None
function without_empty(args) {
	return Object.fromEntries(Object.entries(args).filter(([, value]) => value != null));
}

function as_error(answer) {
	const data = (answer && (answer.responseJSON || answer)) || null;
	if (data && data.message && data.message.conflict) return new Conflict(data.message);
	if (!data || typeof data !== "object" || !data._server_messages) {
		// Frappe has shown its own dialog (not found, server error, session expired, ...)
		const error = new Refused(__("The server refused the change"));
		error.shown = true;
		return error;
	}
	const error = new Refused(server_message(data) || __("The server refused the change"));
	// mandatory fields the change leaves empty (pipeline_app/cards.py): the board asks for them
	error.missing_fields = data.missing_fields || null;
	return error;
}

function server_message(data) {
	if (!data._server_messages) return data.exception || "";
	try {
		return JSON.parse(data._server_messages)
			.map((m) => {
				try {
					return JSON.parse(m).message;
				} catch (e) {
					return m;
				}
			})
			.join("<br>");
	} catch (e) {
		return "";
	}
}
