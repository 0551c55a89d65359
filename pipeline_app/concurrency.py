"""Concurrent board moves over HTTP, for the concurrency test and the load benchmark: pairs of sellers
moving the same card at the same instant (one wins, the other gets the 409 conflict) and pairs moving
different cards (both win), on cards bulk-inserted as the demo does (never saved through the document
API). Nothing here runs inside the site's own requests."""

import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests

MOVE = "/api/method/pipeline_app.api.move_opportunity"


def run_move_trials(
	base_url: str,
	site: str,
	authorizations: tuple[str, str],
	cards: list[dict],
	stages: list[str],
	trials: int,
	seed: int = 11,
) -> dict:
	"""`trials` pairs of simultaneous moves, alternately on one card and on two cards. `cards` are
	{"name", "stage", "modified"} dicts (kept current as moves land); `stages` the open stages moved
	between. Returns the status counts, the same-card pairs that did not end in one success and one
	conflict, and the 5xx bodies."""
	rng = random.Random(seed)
	sessions = []
	for authorization in authorizations:
		session = requests.Session()
		session.headers.update(
			{"Authorization": authorization, "X-Frappe-Site-Name": site, "Accept": "application/json"}
		)
		sessions.append(session)
	statuses, bad_pairs, errors = Counter(), [], []
	durations = []
	lock = threading.Lock()

	def move(session, card, stage, barrier):
		barrier.wait()
		started = time.monotonic()
		response = session.post(
			base_url + MOVE,
			data={"name": card["name"], "stage": stage, "expected_modified": card["modified"]},
			timeout=120,
		)
		with lock:
			durations.append(time.monotonic() - started)
		if response.status_code >= 500:
			errors.append(response.text[:2000])
		return response

	def landed(card, response):
		card_state = (response.json().get("message") or {}).get("card") or {}
		if card_state.get("modified"):
			card["modified"], card["stage"] = card_state["modified"], card_state["stage"]

	with ThreadPoolExecutor(max_workers=2) as pool:
		for trial in range(trials):
			barrier = threading.Barrier(2)
			same = trial % 2 == 0
			first, second = rng.sample(cards, 2)
			pair = (first, first) if same else (first, second)
			futures = [
				pool.submit(
					move, session, card, rng.choice([s for s in stages if s != card["stage"]]), barrier
				)
				for session, card in zip(sessions, pair, strict=True)
			]
			responses = [future.result() for future in futures]
			codes = sorted(response.status_code for response in responses)
			statuses.update(codes)
			if same and codes != [200, 409]:
				bad_pairs.append(codes)
			if not same and codes != [200, 200]:
				bad_pairs.append(codes)
			for card, response in zip(pair, responses, strict=True):
				if response.status_code in (200, 409):
					landed(card, response)
	durations.sort()
	return {
		"statuses": dict(statuses),
		"bad_pairs": bad_pairs,
		"errors": errors,
		"p50": durations[len(durations) // 2] if durations else 0,
		"p95": durations[int(len(durations) * 0.95)] if durations else 0,
	}
