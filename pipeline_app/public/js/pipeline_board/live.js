// The board's realtime lifecycle: its listeners are on while the page is shown and off once the
// user leaves it (the desk keeps the page, and the socket, alive). Events sent while the board was
// not listening are lost, so the board reloads what it shows when it listens again.

export class BoardLive {
	constructor(board) {
		this.board = board;
		this.listening = false;
		this.missed_events = false; // true when events may have been lost: the next show reloads
		this.on_board_event = (event) => board.store.on_event(event);
		this.on_disconnect = () => {
			this.missed_events = true;
		};
		this.on_connect = () => {
			// events sent while the connection was down are lost: reload what the board shows
			if (this.missed_events && board.store.team) board.reload();
		};
		this.on_visibility = () => {
			if (document.visibilityState === "visible") this.reconnect();
		};
	}

	start() {
		if (this.listening) return;
		this.listening = true;
		frappe.realtime.on(frappe.boot.pipeline_board.realtime_event, this.on_board_event);
		const socket = frappe.realtime.socket;
		if (socket) {
			socket.on("disconnect", this.on_disconnect);
			socket.on("connect", this.on_connect);
		}
		document.addEventListener("visibilitychange", this.on_visibility);
		this.reconnect();
	}

	stop() {
		if (!this.listening) return;
		this.listening = false;
		this.missed_events = true;
		frappe.realtime.off(frappe.boot.pipeline_board.realtime_event, this.on_board_event);
		const socket = frappe.realtime.socket;
		if (socket) {
			socket.off("disconnect", this.on_disconnect);
			socket.off("connect", this.on_connect);
		}
		document.removeEventListener("visibilitychange", this.on_visibility);
	}

	reconnect() {
		const socket = frappe.realtime.socket;
		if (socket && !socket.connected) socket.connect();
	}
}
