# Copyright (c) 2026, Pipeline App contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document


class PipelineColumnCount(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		amount: DF.Float
		count: DF.Int
		stage: DF.Link | None
		status: DF.Data | None
		team: DF.Link
		weighted_amount: DF.Float
	# end: auto-generated types

	pass


def on_doctype_update():
	# a team's totals per stage and status (the board reads, the fold groups)
	frappe.db.add_index("Pipeline Column Count", ["team", "stage", "status"])
