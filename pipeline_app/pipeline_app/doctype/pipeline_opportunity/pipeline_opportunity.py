# Copyright (c) 2026, Pipeline App contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document

from pipeline_app.funnel import apply_stage_rules, record_changes


class PipelineOpportunity(Document):
	def validate(self):
		apply_stage_rules(self)

	def on_update(self):
		record_changes(self)

	def on_trash(self):
		# the opportunity's own records go with it; its contact and the contact's
		# communications stay (Frappe only unlinks communications from a deleted document)
		frappe.db.delete("Pipeline Appointment", {"opportunity": self.name})
		frappe.db.delete("Pipeline Stage Change", {"opportunity": self.name})
