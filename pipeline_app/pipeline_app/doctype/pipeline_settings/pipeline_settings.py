# Copyright (c) 2026, Pipeline App contributors
# For license information, please see license.txt

import frappe
from frappe.custom.doctype.property_setter.property_setter import make_property_setter
from frappe.model.document import Document


class PipelineSettings(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		abandonment_enabled: DF.Check
		board_page_size: DF.Int
		default_funnel_template: DF.Literal["", "Appointment funnel", "Deal funnel", "Sales funnel"]
		digest_default_frequency: DF.Literal["Daily", "Weekly", "Off"]
		digest_default_weekday: DF.Literal[
			"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"
		]

	# end: auto-generated types
	def on_update(self):
		# the Default Funnel Template is the default of a new team's Funnel Template (the desk's New
		# Team form and every insert that leaves it empty), kept as a Property Setter like any default;
		# none while there is no default (an install leaves no customization behind)
		wanted = self.default_funnel_template or ""
		if wanted == (frappe.get_meta("Pipeline Team").get_field("funnel_template").default or ""):
			return
		if wanted:
			make_property_setter(
				"Pipeline Team",
				"funnel_template",
				"default",
				wanted,
				"Text",
				validate_fields_for_doctype=False,
			)
		else:
			frappe.db.delete(
				"Property Setter",
				{"doc_type": "Pipeline Team", "field_name": "funnel_template", "property": "default"},
			)
			frappe.clear_cache(doctype="Pipeline Team")
