# Copyright (c) 2026, Pipeline App contributors
# For license information, please see license.txt

import frappe

from pipeline_app.scoped_document import TeamScopedDocument


class PipelineStageChange(TeamScopedDocument):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		caused_by: DF.DynamicLink | None
		caused_by_doctype: DF.Link | None
		change_type: DF.Literal["Stage", "Status"]
		changed_by: DF.Link | None
		changed_on: DF.Datetime | None
		from_value: DF.Data | None
		left_on: DF.Datetime | None
		opportunity: DF.Link
		team: DF.Link
		to_value: DF.Data | None
	# end: auto-generated types
	pass


def on_doctype_update():
	# an opportunity's history in order (reopen, delete), and a team's changes by time
	frappe.db.add_index("Pipeline Stage Change", ["opportunity", "change_type", "changed_on"])
	frappe.db.add_index("Pipeline Stage Change", ["team", "change_type", "changed_on"])
	# the Time in Stage report adds up each stage's stays of a period from this index alone (a
	# covering range per stage)
	frappe.db.add_index(
		"Pipeline Stage Change",
		["team", "change_type", "to_value", "changed_on", "left_on"],
		"stage_stays_index",
	)
