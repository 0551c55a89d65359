// Fan-out clients for benchmarks/load.py: COUNT socket.io connections to Frappe's realtime server,
// logged in with the session ids given, each listening for the board's events as an open Pipeline
// Board does. Prints "ready N" once all are connected, records when each `pipeline_board` event
// arrives, and prints the arrivals as JSON ({card name: [epoch ms, ...]}) when stdin closes.
// NODE_PATH must reach Frappe's node_modules (socket.io-client).
//   node fanout.js <socketio url> <site> <origin> <count> <sid> [<sid> ...]

const { io } = require("socket.io-client");

const [url, site, origin, count, ...sids] = process.argv.slice(2);
const total = parseInt(count, 10);
const arrivals = {};
let connected = 0;
const sockets = [];

for (let i = 0; i < total; i++) {
	const sid = sids[i % sids.length];
	const socket = io(`${url}/${site}`, {
		transports: ["websocket"],
		reconnection: false,
		extraHeaders: { Origin: origin, Cookie: `sid=${sid}`, "X-Frappe-Site-Name": site },
	});
	socket.on("connect", () => {
		connected += 1;
		if (connected === total) console.log(`ready ${connected}`);
	});
	socket.on("connect_error", (error) => {
		console.error(`connect_error ${error.message}`);
	});
	socket.on("pipeline_app:board", (message) => {
		(arrivals[message.name] = arrivals[message.name] || []).push(Date.now());
	});
	sockets.push(socket);
}

process.stdin.resume();
process.stdin.on("end", () => {
	sockets.forEach((socket) => socket.close());
	// exit once the line is written: a pipe takes 64 KiB at a time, and exiting earlier cuts it there
	process.stdout.write(JSON.stringify({ connected, arrivals }) + "\n", () => process.exit(0));
});
