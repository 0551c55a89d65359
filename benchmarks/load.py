"""Load benchmark of the Pipeline Board as production serves it (gunicorn, several workers; started by
scripts/benchmark): N concurrent logged-in sellers for a bounded time mixing board loads (70 %), moves
(20 %) and more cards (10 %), Frappe's own 20-row REST list at the same N in the same run, 1,000
simultaneous move pairs on never-saved bulk-loaded cards, and K socket.io boards receiving moves.
The same mix with Frappe's cheapest logged-in call in place of the board loads shows what any request
spends in a worker under that load (the floor under the board's server time).
Prints per-operation p50 / p95 / p99 and server time (Frappe's monitor), throughput, server CPU per
request, errors, 409s and the ratios the targets name; the board's cost against the REST list's is
each run on its own at the same N (board loads only, REST lists only). Each run also prints what the
whole machine did meanwhile (CPU busy, processes running or waiting for a core, cores by process).
Loopback only.

Run with the bench's Python from the bench's sites directory:
    ../env/bin/python ../apps/pipeline_app/benchmarks/load.py --site pipeline-big.localhost \
        --url http://127.0.0.1:8100 --socketio http://127.0.0.1:9000
"""

import argparse
import json
import os
import random
import subprocess
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import unquote

import frappe
import requests

from pipeline_app.concurrency import run_move_trials
from pipeline_app.demo import DEMO_PASSWORD

HERE = Path(__file__).resolve().parent
BOARD = "/api/method/pipeline_app.api."
# mix throughput in issue 10's first measurement (requests/s at 1, 10 and 30 sellers)
FIRST_MEASUREMENT = {1: 10.9, 10: 20.3, 30: 15.5}
# the cards per column the board page asks for on a 1920 x 1080 screen (a page about 950 px tall:
# board.js first_screen)
FIRST_SCREEN = 12
REST_FIELDS = json.dumps(["name", "title", "stage", "status", "opportunity_owner", "amount", "modified"])


def pct(samples: list[float], q: float) -> float:
	if not samples:
		return 0.0
	ordered = sorted(samples)
	return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def login(url: str, site: str, user: str) -> requests.Session:
	session = requests.Session()
	session.headers.update({"X-Frappe-Site-Name": site, "Accept": "application/json"})
	response = session.post(url + "/api/method/login", data={"usr": user, "pwd": DEMO_PASSWORD}, timeout=60)
	response.raise_for_status()
	return session


class Seller(threading.Thread):
	"""One seller working the board until the deadline: 70 % loads, 20 % moves, 10 % more cards (mode
	"mix"); board loads only ("board"); Frappe's 20-row REST list only ("rest"); the mix with Frappe's
	cheapest logged-in call in place of the board loads after the first ("floor": what any request
	costs in the worker under the same load; a moved card takes its new `modified` from the answer)."""

	def __init__(self, session, team, stages, deadline, results, seed, mode="mix"):
		super().__init__(daemon=True)
		self.session, self.team, self.stages, self.deadline = session, team, stages, deadline
		self.results, self.rng, self.mode = results, random.Random(seed), mode
		self.board = None
		self.first_screen = FIRST_SCREEN

	def timed(self, operation, method, path, **kwargs):
		started = time.monotonic()
		try:
			response = self.session.request(method, self.url + path, timeout=120, **kwargs)
			status = response.status_code
		except requests.RequestException:
			response, status = None, 599
		self.results[operation].append(
			(time.monotonic() - started, status, len(response.content) if response is not None else 0)
		)
		return response if status == 200 else None

	def run(self):
		while time.monotonic() < self.deadline:
			if self.mode == "rest":
				self.timed(
					"rest_list_20",
					"GET",
					"/api/resource/Pipeline Opportunity",
					params={
						"fields": REST_FIELDS,
						"limit_page_length": 20,
						"filters": json.dumps({"team": self.team}),
					},
				)
				continue
			roll = 0 if self.mode == "board" else self.rng.random()
			cards = [card for column in (self.board or {}).get("columns", []) for card in column["cards"]]
			if self.mode == "floor" and cards and roll < 0.7:
				self.timed("frappe_floor", "GET", FLOOR_PATH)
			elif roll < 0.7 or not cards:
				response = self.timed(
					"get_board",
					"GET",
					BOARD + "get_board",
					params={"team": self.team, "limit_per_stage": self.first_screen},
				)
				if response is not None:
					self.board = response.json()["message"]
			elif roll < 0.9:
				card = self.rng.choice(cards)
				stage = self.rng.choice([s for s in self.stages if s != card["stage"]])
				response = self.timed(
					"move_opportunity",
					"POST",
					BOARD + "move_opportunity",
					data={"name": card["name"], "stage": stage, "expected_modified": card["modified"]},
				)
				if response is not None and self.mode == "floor":
					card.update(response.json()["message"]["card"])
			else:
				column = self.rng.choice([c for c in self.board["columns"] if c["cards"]])
				self.timed(
					"get_stage_cards",
					"GET",
					BOARD + "get_stage_cards",
					params={"team": self.team, "stage": column["name"], "after": column["cards"][-1]["name"]},
				)


def demo_sellers() -> list[tuple[str, str]]:
	"""(user, team) for each demo team member."""
	rows = frappe.get_all(
		"Pipeline Team Member",
		filters={"parenttype": "Pipeline Team", "user": ("like", "%@demo.pipeline.test")},
		fields=["user", "parent"],
		order_by="parent, idx",
	)
	return [(row.user, row.parent) for row in rows]


def open_stages(team: str) -> list[str]:
	return frappe.get_all(
		"Funnel Stage", {"team": team, "stage_type": "Open"}, pluck="name", order_by="sequence"
	)


def load_run(args, sessions, users: int, mode: str) -> dict:
	results = defaultdict(list)
	deadline = time.monotonic() + args.seconds
	threads = []
	for i in range(users):
		session, team = sessions[i % len(sessions)]
		seller = Seller(session, team, open_stages(team), deadline, results, seed=i, mode=mode)
		seller.url = args.url
		threads.append(seller)
	frappe.cache.delete_value(MONITOR_KEY)  # Frappe's monitor: each request's server time
	cpu_before = process_cpu_seconds()
	machine = MachineSampler()
	machine.start()
	started = time.monotonic()
	for thread in threads:
		thread.start()
	for thread in threads:
		thread.join()
	elapsed = time.monotonic() - started
	machine = machine.stop()
	cpu_by_kind = process_cpu_seconds()
	cpu_by_kind.subtract(cpu_before)
	cpu = sum(cpu_by_kind[kind] for kind in SERVER_KINDS)
	server_times = monitored_server_times()
	summary = {}
	for operation, samples in results.items():
		durations = [d for d, _s, _b in samples]
		statuses = Counter(s for _d, s, _b in samples)
		sizes = [b for _d, s, b in samples if s == 200]
		served = server_times.get(OPERATION_PATHS[operation], [])
		summary[operation] = {
			"count": len(samples),
			"p50": pct(durations, 0.5),
			"p95": pct(durations, 0.95),
			"p99": pct(durations, 0.99),
			"server_p50": pct(served, 0.5),
			"errors": sum(n for s, n in statuses.items() if s >= 500),
			"conflicts": statuses.get(409, 0),
			"kib": (sum(sizes) / len(sizes) / 1024) if sizes else 0,
		}
	total = sum(len(samples) for samples in results.values())
	return {
		"users": users,
		"seconds": elapsed,
		"rps": total / elapsed,
		"cpu_ms": cpu * 1000 / total if total else 0,
		"cores": {kind: seconds / elapsed for kind, seconds in cpu_by_kind.items() if seconds > 0},
		"machine": machine,
		"operations": summary,
	}


# where Frappe's monitor (site config `monitor`, set by scripts/benchmark) keeps each request's
# duration from its before_request to its after_request hooks, in microseconds
MONITOR_KEY = "monitor-transactions"
OPERATION_PATHS = {
	"get_board": "/api/method/pipeline_app.api.get_board",
	"get_stage_cards": "/api/method/pipeline_app.api.get_stage_cards",
	"move_opportunity": "/api/method/pipeline_app.api.move_opportunity",
	"rest_list_20": "/api/resource/Pipeline Opportunity",
	"frappe_floor": "/api/method/frappe.auth.get_logged_user",
}
FLOOR_PATH = OPERATION_PATHS["frappe_floor"]


def monitored_server_times() -> dict[str, list[float]]:
	"""Server time of each request since the run started, in seconds, by path (empty when the monitor
	is off)."""
	times = defaultdict(list)
	for entry in frappe.cache.lrange(MONITOR_KEY, 0, -1) or []:
		data = json.loads(entry)
		request = data.get("request") or {}
		if data.get("site") == frappe.local.site and request.get("status_code") in (200, 409):
			times[unquote(request.get("path") or "")].append(data["duration"] / 1e6)
	return times


# what shares the machine's cores during a run, by process (the server's own: the first three)
PROCESS_KINDS = {
	"web workers": (b"gunicorn",),
	"MariaDB": (b"mariadbd", b"mysqld"),
	"Redis": (b"redis-server",),
	"background workers and scheduler": (b" worker", b" schedule"),
	"socket.io": (b"socketio.js",),
	"this client": (b"load.py",),
}
SERVER_KINDS = ("web workers", "MariaDB", "Redis")


class MachineSampler(threading.Thread):
	"""What the whole machine does during a run, from /proc/stat every 0.2 s: the share of CPU time
	busy (not idle, not waiting for the disk) and how many processes are running or waiting for a
	core on average (procs_running, less this sampler)."""

	def __init__(self):
		super().__init__(daemon=True)
		self.stopping = threading.Event()
		self.runnable = []

	@staticmethod
	def read() -> tuple[list[int], int]:
		lines = Path("/proc/stat").read_text().splitlines()
		times = [int(value) for value in lines[0].split()[1:]]
		running = next(int(line.split()[1]) for line in lines if line.startswith("procs_running "))
		return times, running

	def run(self):
		self.first = self.read()[0]
		while not self.stopping.wait(0.2):
			self.runnable.append(self.read()[1] - 1)

	def stop(self) -> dict:
		self.stopping.set()
		self.join()
		last = self.read()[0]
		spent = [after - before for before, after in zip(self.first, last, strict=False)]
		idle = spent[3] + spent[4]  # idle, iowait
		total = sum(spent[:8])  # user .. steal (guest time is counted in user already)
		return {
			"busy": (total - idle) / total if total else 0,
			"runnable": sum(self.runnable) / len(self.runnable) if self.runnable else 0,
		}


def process_cpu_seconds() -> Counter:
	"""CPU time used so far by the processes on this machine, by kind (PROCESS_KINDS), with that of
	their children that have ended (the background worker runs each job in a child of its own)."""
	total = Counter()
	tick = os.sysconf("SC_CLK_TCK")
	for pid in filter(str.isdigit, os.listdir("/proc")):
		try:
			command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
			stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
		except OSError:
			continue
		kind = next((k for k, names in PROCESS_KINDS.items() if any(n in command for n in names)), "other")
		total[kind] += sum(int(value) for value in stat[11:15]) / tick  # utime, stime, cutime, cstime
	return total


def print_run(label: str, run: dict) -> None:
	print(
		f"\n{label}: {run['users']} concurrent users, {run['seconds']:.0f} s, {run['rps']:.1f} requests/s, "
		f"{run['cpu_ms']:.1f} ms of server CPU per request (workers, MariaDB, Redis)"
	)
	cores, machine = run["cores"], run["machine"]
	print(
		f"  machine: CPU {machine['busy']:.0%} busy, {machine['runnable']:.1f} processes running or waiting "
		f"for one of {os.cpu_count()} cores on average; cores used by "
		+ ", ".join(f"{kind} {used:.2f}" for kind, used in sorted(cores.items(), key=lambda item: -item[1]))
		# the kernel's own work, and children that ended unseen by a parent
		+ f", charged to no process {max(0.0, machine['busy'] * os.cpu_count() - sum(cores.values())):.2f}"
	)
	for operation, s in sorted(run["operations"].items()):
		print(
			f"  {operation:18} n={s['count']:5}  p50 {s['p50']:7.1f} ms  p95 {s['p95']:7.1f} ms  "
			f"p99 {s['p99']:7.1f} ms  server p50 {s['server_p50']:6.1f} ms  errors {s['errors']}  "
			f"409s {s['conflicts']}  {s['kib']:.0f} KiB"
		)


def met(ok: bool) -> str:
	return "met" if ok else "NOT met"


def move_trials(args, sellers) -> None:
	"""1,000 simultaneous move pairs on bulk-loaded cards that were never saved through the document API."""
	from pipeline_app.tests.http_client import api_credentials

	team = sellers[0][1]
	members = [user for user, member_team in sellers if member_team == team][:2]
	opportunity = frappe.qb.DocType("Pipeline Opportunity")
	cards = (
		frappe.qb.from_(opportunity)
		.select(opportunity.name, opportunity.stage, opportunity.modified)
		.where(
			(opportunity.team == team)
			& (opportunity.status == "Open")
			& (opportunity.modified == opportunity.creation)  # never saved since the bulk insert
		)
		.limit(400)
		.run(as_dict=True)
	)
	if len(members) < 2 or len(cards) < 10:
		print("\nmove trials: skipped (needs a demo team of two sellers and never-saved cards)")
		return
	cards = [{"name": c.name, "stage": c.stage, "modified": str(c.modified)} for c in cards]
	authorizations = tuple(api_credentials(user) for user in members)
	result = run_move_trials(args.url, args.site, authorizations, cards, open_stages(team), args.move_trials)
	print(
		f"\nsimultaneous move pairs on never-saved cards: {args.move_trials} pairs, statuses {result['statuses']}, "
		f"5xx {len(result['errors'])}, unexpected pairs {len(result['bad_pairs'])}, "
		f"p50 {result['p50'] * 1000:.0f} ms, p95 {result['p95'] * 1000:.0f} ms"
		f"  [target: no 5xx: {'met' if not result['errors'] else 'NOT met'}]"
	)


def fanout(args, sellers) -> None:
	"""K boards of one team (socket.io clients of its members) receive M moves: arrival p95, missing."""
	team = sellers[0][1]
	members = [user for user, member_team in sellers if member_team == team]
	sessions = [login(args.url, args.site, user) for user in members]
	sids = [session.cookies.get("sid") for session in sessions]
	origin = f"http://{args.site}:{args.url.rsplit(':', 1)[1]}"
	env = {**os.environ, "NODE_PATH": str(Path("../apps/frappe/node_modules").resolve())}
	node = subprocess.Popen(
		["node", str(HERE / "fanout.js"), args.socketio, args.site, origin, str(args.boards), *sids],
		stdin=subprocess.PIPE,
		stdout=subprocess.PIPE,
		stderr=subprocess.PIPE,
		text=True,
		env=env,
	)
	ready = threading.Timer(120, node.kill)  # clients that cannot connect never say ready
	ready.start()
	line = node.stdout.readline()
	ready.cancel()
	if not line.startswith("ready"):
		node.kill()
		print(f"\nfan-out: clients did not connect ({line.strip()} {node.stderr.read()[:300]})")
		return
	board = sessions[0].get(args.url + BOARD + "get_board", params={"team": team}).json()["message"]
	cards = [card for column in board["columns"] for card in column["cards"]]
	stages = open_stages(team)
	rng = random.Random(5)
	sent = {}
	for card in rng.sample(cards, min(args.fanout_moves, len(cards))):
		stage = rng.choice([s for s in stages if s != card["stage"]])
		sent[card["name"]] = time.time() * 1000
		sessions[0].post(
			args.url + BOARD + "move_opportunity", data={"name": card["name"], "stage": stage}, timeout=60
		)
		time.sleep(0.3)
	time.sleep(2)
	out, _err = node.communicate("", timeout=60)
	data = json.loads(out.strip().splitlines()[-1])
	latencies, missing = [], 0
	for name, started in sent.items():
		arrived = data["arrivals"].get(name, [])
		missing += max(0, args.boards - len(arrived))
		latencies += [(at - started) / 1000 for at in arrived[: args.boards]]
	p95 = pct(latencies, 0.95)
	print(
		f"\nfan-out: {data['connected']} boards x {len(sent)} moves: {len(latencies)} of "
		f"{args.boards * len(sent)} events, p50 {pct(latencies, 0.5):.0f} ms, p95 {p95:.0f} ms, missing {missing}"
		f"  [target p95 <= 1000 ms, none missing: {'met' if p95 <= 1000 and not missing else 'NOT met'}]"
	)


def main():
	parser = argparse.ArgumentParser()
	parser.add_argument("--site", required=True)
	parser.add_argument("--url", required=True)
	parser.add_argument("--socketio", help="the socket.io server (default: the site's name on port 9000)")
	parser.add_argument("--users", default="1,10,30")
	parser.add_argument("--seconds", type=int, default=20)
	parser.add_argument("--move-trials", type=int, default=1000)
	parser.add_argument("--boards", type=int, default=500)
	parser.add_argument("--fanout-moves", type=int, default=10)
	args = parser.parse_args()

	frappe.init(site=args.site, sites_path=".")
	frappe.connect()
	sellers = demo_sellers()
	count = frappe.db.count("Pipeline Opportunity")
	print(
		f"Load benchmark on {args.site}: {count:,} opportunities, {len(sellers)} demo sellers, {os.cpu_count()} cores"
	)
	sessions = [(login(args.url, args.site, user), team) for user, team in sellers]
	args.socketio = args.socketio or f"http://{args.site}:9000"  # Frappe checks Host against Origin
	for users in (int(n) for n in args.users.split(",") if n):
		mix = load_run(args, sessions, users, "mix")
		board = load_run(args, sessions, users, "board")
		rest = load_run(args, sessions, users, "rest")
		floor = load_run(args, sessions, users, "floor")
		print_run("Pipeline Board mix (70 % loads, 20 % moves, 10 % more cards)", mix)
		print_run("Board loads only", board)
		print_run("Frappe REST list baseline (20 rows)", rest)
		print_run("The mix with Frappe's cheapest call in place of the board loads", floor)
		errors = sum(s["errors"] for run in (mix, board, rest) for s in run["operations"].values())
		first = FIRST_MEASUREMENT.get(users)
		if first:
			gain = mix["rps"] / first
			print(
				f"  mix throughput: {gain:.1f}x issue 10's first measurement ({first} req/s), {errors} errors"
				+ (
					f"  [target >= 3x, 0 errors: {met(gain >= 3 and not errors)}]"
					if users in (10, 30)
					else ""
				)
			)
		board_p50 = board["operations"]["get_board"]["p50"]
		rest_p50 = rest["operations"]["rest_list_20"]["p50"]
		print(
			f"  a board load / a REST list, side by side at {users}: p50 {board_p50 / rest_p50:.2f}x, "
			f"server CPU {board['cpu_ms'] / rest['cpu_ms']:.2f}x  [target <= 2x: {met(board_p50 <= 2 * rest_p50)}]"
			f"  (in the mix: p50 {mix['operations']['get_board']['p50'] / rest_p50:.2f}x)"
		)
		server_p50 = mix["operations"]["get_board"]["server_p50"]
		if server_p50:
			print(
				f"  get_board server time p50 in the mix: {server_p50:.1f} ms"
				f"  [target <= 20 ms: {met(server_p50 <= 20)}]"
			)
			floor_p50 = floor["operations"].get("frappe_floor", {}).get("server_p50")
			if floor_p50:
				print(
					f"  in its place, Frappe's cheapest logged-in call ({FLOOR_PATH}): server time p50 "
					f"{floor_p50:.1f} ms (moves in that run: "
					f"{floor['operations'].get('move_opportunity', {}).get('server_p50', 0):.1f} ms)"
				)
	if args.move_trials:
		move_trials(args, sellers)
	if args.boards:
		fanout(args, sellers)
	frappe.destroy()


if __name__ == "__main__":
	main()
