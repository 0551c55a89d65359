# Copyright (c) 2026, Pipeline App contributors
# For license information, please see license.txt

from frappe.model.document import Document


class PipelineOpportunityItem(Document):
	pass
