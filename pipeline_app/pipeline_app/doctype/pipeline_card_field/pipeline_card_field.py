# Copyright (c) 2026, Pipeline App contributors
# For license information, please see license.txt

from pipeline_app.scoped_document import ScopedChildDocument


class PipelineCardField(ScopedChildDocument):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		editable_in_panel: DF.Check
		fieldname: DF.Literal[None]
		label: DF.Data | None
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		show_on_card: DF.Check
	# end: auto-generated types
	pass
