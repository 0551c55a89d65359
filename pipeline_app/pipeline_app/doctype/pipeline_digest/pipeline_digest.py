# Copyright (c) 2026, Pipeline App contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document

from pipeline_app.realtime import publish_own_record


class PipelineDigest(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		abandoning_count: DF.Int
		appointment_count: DF.Int
		content: DF.TextEditor | None
		frequency: DF.Literal["Daily", "Weekly"]
		lost_count: DF.Int
		moved_count: DF.Int
		overdue_count: DF.Int
		period: DF.Data
		period_end: DF.Datetime | None
		period_start: DF.Datetime | None
		user: DF.Link
		won_count: DF.Int
	# end: auto-generated types
	# one digest as sent (pipeline_app/automation/digests.py): written by the job only

	def validate(self):
		self.flags.notify_update = False  # its list_update goes to its user only (on_change)

	def on_change(self):
		publish_own_record(self)


def on_doctype_update():
	# once per user and period, whatever runs the job (digests.send_digest relies on it)
	frappe.db.add_unique("Pipeline Digest", ["user", "period"], constraint_name="unique_user_period")
