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
