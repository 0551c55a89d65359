# Copyright (c) 2026, Pipeline App contributors
# For license information, please see license.txt

from pipeline_app.scoped_document import ScopedChildDocument


class PipelineOpportunityItem(ScopedChildDocument):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		amount: DF.Currency
		description: DF.SmallText | None
		item: DF.Data
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		qty: DF.Float
		rate: DF.Currency
	# end: auto-generated types
	pass
