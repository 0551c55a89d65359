// The booking page (/book/<route>): free slots by day, the visitor's details, the confirmation; with
// a manage link (?appointment=…&token=…), the booking's time with Cancel and Pick another time.
// Everything it shows comes from pipeline_app.booking's guest endpoints.
(() => {
	const root = document.querySelector(".pipeline-booking");
	const app = root.querySelector(".pipeline-booking-app");
	const page = JSON.parse(document.getElementById("pipeline-booking-data").textContent);
	const METHOD = "/api/method/pipeline_app.booking.";
	const visitorZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
	const DAYS_PER_SCREEN = 7;
	const state = {
		zone: null,
		siteZone: null,
		start: null,
		answer: null,
		picked: null,
		booking: null,
		rescheduling: false,
	};
	const t = (text, args) => (window.__ ? __(text, args) : text);

	const esc = (value) =>
		String(value ?? "").replace(
			/[&<>"']/g,
			(c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c])
		);

	async function call(method, args, type = "GET") {
		const options = { method: type, headers: { Accept: "application/json" } };
		let url = METHOD + method;
		const params = new URLSearchParams(args);
		if (type === "GET") {
			url += "?" + params;
		} else {
			options.headers["Content-Type"] = "application/x-www-form-urlencoded";
			options.headers["X-Frappe-CSRF-Token"] = frappe.csrf_token || "";
			options.body = params;
		}
		const response = await fetch(url, options);
		const body = await response.json().catch(() => ({}));
		if (!response.ok) {
			const error = new Error(
				serverMessage(body) || t("Something went wrong; please try again")
			);
			error.status = response.status;
			throw error;
		}
		return body.message;
	}

	function serverMessage(body) {
		try {
			const messages = JSON.parse(body._server_messages || "[]").map(
				(m) => JSON.parse(m).message
			);
			const text = document.createElement("div");
			text.innerHTML = messages.join(" ");
			return text.textContent.trim();
		} catch (e) {
			return "";
		}
	}

	function format(utc, options) {
		return new Date(utc).toLocaleString([], { timeZone: state.zone, ...options });
	}

	function zoneChooser() {
		if (!state.siteZone || state.siteZone === visitorZone) {
			return `<p class="text-muted small">${esc(t("Times in {0}", [state.siteZone]))}</p>`;
		}
		const option = (zone, label) =>
			`<option value="${esc(zone)}" ${zone === state.zone ? "selected" : ""}>${esc(
				label
			)}</option>`;
		return `<label class="small text-muted">${esc(t("Time zone"))}
			<select class="form-control form-control-sm pipeline-booking-zone">
				${option(state.siteZone, t("{0} (ours)", [state.siteZone]))}
				${option(visitorZone, t("{0} (yours)", [visitorZone]))}
			</select></label>`;
	}

	async function loadSlots(start) {
		const args = { route: page.route, days: DAYS_PER_SCREEN };
		if (start) args.start = start;
		state.answer = await call("get_slots", args);
		state.siteZone = state.answer.timezone;
		state.zone = state.zone || state.siteZone;
		state.start = start || state.answer.first_day;
		renderSlots();
	}

	function shiftDate(isoDate, days) {
		const date = new Date(isoDate + "T00:00:00Z");
		date.setUTCDate(date.getUTCDate() + days);
		return date.toISOString().slice(0, 10);
	}

	function renderSlots() {
		const rescheduling = state.rescheduling;
		const answer = state.answer;
		const days = answer.days
			.map(
				(day) => `<div class="pipeline-booking-day">
				<h3>${esc(format(day.slots[0].utc, { weekday: "long", day: "numeric", month: "long" }))}</h3>
				${day.slots
					.map(
						(
							slot
						) => `<button type="button" class="btn btn-default btn-sm pipeline-booking-slot"
							data-start="${esc(slot.start)}" data-utc="${esc(slot.utc)}"
							aria-pressed="${state.picked?.start === slot.start}">
							${esc(format(slot.utc, { hour: "2-digit", minute: "2-digit" }))}</button>`
					)
					.join("")}
			</div>`
			)
			.join("");
		const earlier = state.start > answer.first_day;
		const later = shiftDate(state.start, DAYS_PER_SCREEN) <= answer.last_day;
		app.innerHTML = `
			<div class="pipeline-booking-nav">
				<button type="button" class="btn btn-default btn-sm pipeline-booking-earlier" ${
					earlier ? "" : "disabled"
				}>${esc(t("Earlier"))}</button>
				<button type="button" class="btn btn-default btn-sm pipeline-booking-later" ${
					later ? "" : "disabled"
				}>${esc(t("Later"))}</button>
				${zoneChooser()}
			</div>
			${
				days
					? `<div class="pipeline-booking-days">${days}</div>`
					: `<p class="pipeline-booking-none text-muted">${esc(
							t("No free times in these days.")
					  )}</p>`
			}
			<div class="pipeline-booking-message"></div>
			<div class="pipeline-booking-details"></div>`;
		root.dataset.state = "slots";
		app.querySelector(".pipeline-booking-zone")?.addEventListener("change", (event) => {
			state.zone = event.target.value;
			renderSlots();
		});
		app.querySelector(".pipeline-booking-earlier").addEventListener("click", () =>
			loadSlots(maxDate(shiftDate(state.start, -DAYS_PER_SCREEN), answer.first_day))
		);
		app.querySelector(".pipeline-booking-later").addEventListener("click", () =>
			loadSlots(shiftDate(state.start, DAYS_PER_SCREEN))
		);
		app.querySelectorAll(".pipeline-booking-slot").forEach((button) =>
			button.addEventListener("click", () => {
				state.picked = { start: button.dataset.start, utc: button.dataset.utc };
				app.querySelectorAll(".pipeline-booking-slot").forEach((b) =>
					b.setAttribute("aria-pressed", b === button)
				);
				rescheduling ? renderRescheduleConfirm() : renderForm();
			})
		);
		if (state.picked) (rescheduling ? renderRescheduleConfirm : renderForm)();
	}

	const maxDate = (a, b) => (a > b ? a : b);

	function showMessage(text, kind = "danger") {
		const box = app.querySelector(".pipeline-booking-message");
		box.innerHTML = text
			? `<div class="alert alert-${kind}" role="alert">${esc(text)}</div>`
			: "";
	}

	function renderForm() {
		const when = format(state.picked.utc, { dateStyle: "full", timeStyle: "short" });
		app.querySelector(".pipeline-booking-details").innerHTML = `
			<form class="pipeline-booking-form" novalidate>
				<h3>${esc(t("Book {0}", [when]))}</h3>
				<div class="form-group"><label for="pb-first">${esc(t("First name"))}</label>
					<input id="pb-first" name="first_name" class="form-control" required maxlength="80" autocomplete="given-name"></div>
				<div class="form-group"><label for="pb-last">${esc(t("Last name"))}</label>
					<input id="pb-last" name="last_name" class="form-control" maxlength="80" autocomplete="family-name"></div>
				<div class="form-group"><label for="pb-email">${esc(t("Email"))}</label>
					<input id="pb-email" name="email" type="email" class="form-control" required maxlength="140" autocomplete="email"></div>
				<div class="form-group"><label for="pb-phone">${esc(t("Phone"))}</label>
					<input id="pb-phone" name="phone" type="tel" class="form-control" maxlength="30" autocomplete="tel"></div>
				<div class="pipeline-booking-hp" aria-hidden="true"><label for="pb-website">Website</label>
					<input id="pb-website" name="website" tabindex="-1" autocomplete="off"></div>
				<button type="submit" class="btn btn-primary pipeline-booking-submit">${esc(
					t("Book this time")
				)}</button>
			</form>`;
		const form = app.querySelector(".pipeline-booking-form");
		form.addEventListener("submit", async (event) => {
			event.preventDefault();
			const values = Object.fromEntries(new FormData(form).entries());
			const submit = form.querySelector(".pipeline-booking-submit");
			submit.disabled = true;
			showMessage("");
			try {
				state.booking = await call(
					"book",
					{ route: page.route, slot: state.picked.start, ...values },
					"POST"
				);
				renderConfirmation(t("Your appointment is booked"));
			} catch (error) {
				submit.disabled = false;
				showMessage(error.message);
				if (error.status === 409) {
					state.picked = null;
					const message = error.message;
					await loadSlots(state.start);
					showMessage(message);
				}
			}
		});
	}

	function renderConfirmation(title) {
		const booking = state.booking;
		const when = format(booking.utc, { dateStyle: "full", timeStyle: "short" });
		app.innerHTML = `<div class="pipeline-booking-confirmation">
			<h2>${esc(title)}</h2>
			<p class="pipeline-booking-when">${esc(when)} (${esc(state.zone)})${
			booking.host ? " · " + esc(t("with {0}", [booking.host])) : ""
		}</p>
			${
				booking.status === "Scheduled"
					? `<p>${esc(t("We sent the details by email."))}
						<a class="pipeline-booking-manage" href="${esc(booking.manage_url)}">${esc(
							t("Cancel or pick another time")
					  )}</a></p>`
					: ""
			}
		</div>`;
		root.dataset.state = "confirmed";
	}

	async function renderManage() {
		try {
			state.booking = await call("get_booking", {
				appointment: page.appointment,
				token: page.token,
			});
		} catch (error) {
			app.innerHTML = `<div class="alert alert-warning pipeline-booking-invalid">${esc(
				error.message
			)}</div>`;
			root.dataset.state = "invalid";
			return;
		}
		const answer = await call("get_slots", { route: page.route, days: 1 });
		state.siteZone = answer.timezone;
		state.zone = state.zone || answer.timezone;
		const booking = state.booking;
		const when = format(booking.utc, { dateStyle: "full", timeStyle: "short" });
		const scheduled = booking.status === "Scheduled";
		app.innerHTML = `<div class="pipeline-booking-managed">
			<h2>${esc(t("Your appointment"))}</h2>
			<p class="pipeline-booking-when">${esc(when)} (${esc(state.zone)}) · ${esc(t(booking.status))}</p>
			${
				scheduled
					? `<button type="button" class="btn btn-danger pipeline-booking-cancel">${esc(
							t("Cancel the appointment")
					  )}</button>
					<button type="button" class="btn btn-default pipeline-booking-reschedule">${esc(
						t("Pick another time")
					)}</button>`
					: ""
			}
			<div class="pipeline-booking-message"></div>
		</div>`;
		root.dataset.state = "manage";
		app.querySelector(".pipeline-booking-cancel")?.addEventListener("click", async (event) => {
			if (!window.confirm(t("Cancel this appointment?"))) return;
			event.target.disabled = true;
			try {
				state.booking = await call(
					"cancel_booking",
					{ appointment: page.appointment, token: page.token },
					"POST"
				);
				renderConfirmation(t("Your appointment is cancelled"));
				root.dataset.state = "cancelled";
			} catch (error) {
				event.target.disabled = false;
				showMessage(error.message);
			}
		});
		app.querySelector(".pipeline-booking-reschedule")?.addEventListener("click", () => {
			state.rescheduling = true;
			loadSlots(null);
		});
	}

	function renderRescheduleConfirm() {
		const when = format(state.picked.utc, { dateStyle: "full", timeStyle: "short" });
		app.querySelector(".pipeline-booking-details").innerHTML = `<p>${esc(
			t("Move your appointment to {0}?", [when])
		)}</p>
			<button type="button" class="btn btn-primary pipeline-booking-move">${esc(t("Move it"))}</button>`;
		app.querySelector(".pipeline-booking-move").addEventListener("click", async (event) => {
			event.target.disabled = true;
			try {
				state.booking = await call(
					"reschedule_booking",
					{ appointment: page.appointment, token: page.token, slot: state.picked.start },
					"POST"
				);
				renderConfirmation(t("Your appointment is moved"));
			} catch (error) {
				event.target.disabled = false;
				showMessage(error.message);
			}
		});
	}

	function start() {
		const work = page.appointment && page.token ? renderManage() : loadSlots(null);
		work.catch((error) => {
			app.innerHTML = `<div class="alert alert-warning">${esc(error.message)}</div>`;
			root.dataset.state = "error";
		});
	}

	start();
})();
