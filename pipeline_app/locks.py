"""Named locks for work that must run one request at a time (message intake of a team, bookings).

Under MariaDB's REPEATABLE READ a transaction reads the data as of its first read, so a lock taken
midway would still let it miss the rows another request just committed. `serialized` commits what
came before, takes a named lock (it survives commits, also those other apps' hooks make midway) in
a fresh transaction, and releases it after the block's commit."""

import hashlib
from contextlib import contextmanager

import frappe
from frappe import _


@contextmanager
def serialized(scope: str, key: str = "", seconds: int = 20, busy_message: str | None = None):
	frappe.db.commit()  # ends the permission checks' reads (they wrote nothing)
	lock = f"pipeline_{scope}_" + hashlib.sha1(f"{frappe.local.site}:{key}".encode()).hexdigest()
	if not frappe.db.sql("select get_lock(%s, %s)", (lock, seconds))[0][0]:
		frappe.throw(
			busy_message or _("Too busy at the moment; try again"), frappe.QueryTimeoutError, title=_("Busy")
		)
	try:
		yield
		frappe.db.commit()
	finally:
		frappe.db.sql("select release_lock(%s)", lock)
