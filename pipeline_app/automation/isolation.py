"""One bad row never stops a scheduled job (Helpdesk's habit): each row runs in a savepoint; when it
fails, its writes and the realtime events it queued are undone, the error goes to the Error Log with
the row as reference, and the job goes on with the next row. What the other rows wrote is kept."""

from contextlib import contextmanager

import frappe
from frappe import _

SAVEPOINT_DOES_NOT_EXIST = 1305  # MariaDB's ER_SP_DOES_NOT_EXIST, also said of savepoints


@contextmanager
def isolated_row(job: str, doctype: str, name: str | None = None):
	"""`with isolated_row("abandonment", "Pipeline Opportunity", name): ...` in trusted job code. The
	caller commits as before (per row or per batch): the Error Log is written in the same transaction."""
	pending = _pending_after_commit()
	savepoint = "pipeline_row_" + frappe.generate_hash(length=10)
	frappe.db.savepoint(savepoint)
	try:
		yield
	except Exception:
		try:
			frappe.db.rollback(save_point=savepoint)
			_drop_after_commit_since(pending)
		except Exception:
			# a deadlock already rolled the whole transaction back (and the savepoint with it): what
			# was not committed yet is redone by the next run
			frappe.db.rollback()
		frappe.local.message_log = []
		frappe.log_error(
			title=_("Pipeline {0}: skipped {1}").format(job, name or doctype),
			reference_doctype=doctype,
			reference_name=name,
		)
	else:
		try:
			frappe.db.release_savepoint(savepoint)
		except Exception as error:
			if not _is_missing_savepoint(error):
				raise
			# the row committed on its own (an email sent at once commits): nothing left to release


def _is_missing_savepoint(error: Exception) -> bool:
	return bool(error.args) and error.args[0] == SAVEPOINT_DOES_NOT_EXIST


def _pending_after_commit() -> tuple[int, int | None, int | None]:
	realtime = getattr(frappe.local, "_realtime_log", None)
	ours = getattr(frappe.local, "pipeline_realtime_log", None)  # realtime.emit_after_commit's
	return (
		len(frappe.db.after_commit._functions),
		None if realtime is None else len(realtime),
		None if ours is None else len(ours),
	)


def _drop_after_commit_since(pending: tuple[int, int | None]) -> None:
	"""Rolling back to a savepoint leaves Frappe's after-commit callbacks (realtime events among them)
	queued: drop those the failed row added, so a rolled back change never reaches a board."""
	callbacks, realtime, ours = pending
	functions = frappe.db.after_commit._functions
	while len(functions) > callbacks:
		functions.pop()
	for attribute, length in (("_realtime_log", realtime), ("pipeline_realtime_log", ours)):
		if length is None:
			if hasattr(frappe.local, attribute):
				delattr(frappe.local, attribute)
		else:
			del getattr(frappe.local, attribute)[length:]
