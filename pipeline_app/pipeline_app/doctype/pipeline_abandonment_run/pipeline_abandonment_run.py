# Copyright (c) 2026, Pipeline App contributors
# For license information, please see license.txt

import frappe
from frappe import _

from pipeline_app.automation.abandonment import undo_run
from pipeline_app.scoped_document import TeamScopedDocument


class PipelineAbandonmentRun(TeamScopedDocument):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		abandon_after_days: DF.Int
		abandoned_count: DF.Int
		ran_at: DF.Datetime | None
		reopened_count: DF.Int
		team: DF.Link
		undone_by: DF.Link | None
		undone_on: DF.Datetime | None
	# end: auto-generated types
	pass


@frappe.whitelist(methods=["POST"])
def undo(run: str) -> dict:
	"""Reopens exactly the opportunities this run abandoned that are still Abandoned (each to the
	stage it stayed in, through the document's own save: its rules, history and boards follow).
	Pipeline Managers only; a run is undone once."""
	# (not frappe.only_for: it lets every user through while tests run)
	if not {"Pipeline Manager", "System Manager"} & set(frappe.get_roles()):
		frappe.throw(_("Only Pipeline Managers may undo an abandonment run"), frappe.PermissionError)
	doc = frappe.get_doc("Pipeline Abandonment Run", run)
	doc.check_permission("read")
	if doc.undone_on:
		frappe.throw(
			_("Run {0} was already undone on {1}").format(frappe.bold(doc.name), doc.undone_on),
			title=_("Already Undone"),
		)
	return undo_run(doc)
