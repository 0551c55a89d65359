# Copyright (c) 2026, Pipeline App contributors
# For license information, please see license.txt

from frappe.model.document import Document


class PipelineLostReason(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		description: DF.SmallText | None
		lost_reason: DF.Data
	# end: auto-generated types
	pass
