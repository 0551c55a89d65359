# Copyright (c) 2026, Pipeline App contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.utils import get_datetime

from pipeline_app.scoped_document import TeamScopedDocument


class PipelineAppointment(TeamScopedDocument):
	def validate(self):
		opportunity = frappe.db.get_value(
			"Pipeline Opportunity", self.opportunity, ["team", "contact", "title"], as_dict=True
		)
		if not opportunity:
			frappe.throw(
				_("Opportunity {0} does not exist").format(frappe.bold(self.opportunity)),
				frappe.LinkValidationError,
				title=_("Invalid Opportunity"),
			)
		self.team, self.contact, self.opportunity_title = (
			opportunity.team,
			opportunity.contact,
			opportunity.title,
		)
		if self.ends_at and get_datetime(self.ends_at) <= get_datetime(self.starts_at):
			frappe.throw(_("An appointment must end after it starts"), title=_("Invalid Time"))
