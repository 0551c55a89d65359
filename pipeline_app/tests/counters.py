"""Counting what a call sends to MariaDB and Redis: the query-count tests and the benchmarks."""

from contextlib import contextmanager

import frappe


@contextmanager
def count_queries():
	"""Counts the queries sent to MariaDB (frappe.get_list(run=False) only builds SQL: not counted)."""
	executed = []
	original = frappe.db.__class__.sql

	def sql(self, query, *args, **kwargs):
		if kwargs.get("run", True):
			executed.append(str(query))
		return original(self, query, *args, **kwargs)

	frappe.db.__class__.sql = sql
	try:
		yield executed
	finally:
		frappe.db.__class__.sql = original


@contextmanager
def count_cache_commands():
	"""Counts the commands sent to Redis (the cache: roles, user permissions, documents)."""
	sent = []
	cache = frappe.cache
	original = cache.execute_command

	def execute_command(*args, **kwargs):
		sent.append(args[0])
		return original(*args, **kwargs)

	cache.execute_command = execute_command
	try:
		yield sent
	finally:
		del cache.execute_command


def queued_events() -> list[tuple[str, dict, str]]:
	"""The realtime events queued until commit, as (event, message, room): Frappe's publish_realtime
	queue and pipeline_app.realtime.emit_after_commit's."""
	events = [tuple(entry) for entry in getattr(frappe.local, "_realtime_log", None) or []]
	for event, message, rooms in getattr(frappe.local, "pipeline_realtime_log", None) or []:
		events.extend((event, message, room) for room in rooms)
	return events


def forget_queued_events() -> None:
	"""Drops the queued realtime events: gone rather than emptied, as both queues register their flush
	and clear callbacks with the first event of a transaction only when there is no queue."""
	for attribute in ("_realtime_log", "pipeline_realtime_log"):
		if hasattr(frappe.local, attribute):
			delattr(frappe.local, attribute)
