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

	# end: auto-generated types
	def on_update(self):
		# the Default Funnel Template is the default of a new team's Funnel Template (the desk's New
		# Team form and every insert that leaves it empty), kept as a Property Setter like any default
		if self.has_value_changed("default_funnel_template"):
			make_property_setter(
				"Pipeline Team",
				"funnel_template",
				"default",
				self.default_funnel_template or "",
				"Text",
				validate_fields_for_doctype=False,
			)
