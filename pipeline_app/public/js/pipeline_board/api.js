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

export async function post(method, args) {
	const response = await fetch(
		`/api/method/${method.includes(".") ? method : METHOD + method}`,
		{
			method: "POST",
			headers: {
				Accept: "application/json",
				"Content-Type": "application/json",
				"X-Frappe-CSRF-Token": frappe.csrf_token,
			},
			body: JSON.stringify(args),
		}
	);
	let data = {};
	try {
		data = await response.json();
	} catch (e) {
		data = {};
	}
	if (response.status === 409 && data.message && data.message.conflict) {
		throw new Conflict(data.message);
	}
	if (!response.ok) {
		throw new Refused(server_message(data) || __("The server refused the change"));
	}
	return data.message;
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
