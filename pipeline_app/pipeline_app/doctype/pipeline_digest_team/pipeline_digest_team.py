# Copyright (c) 2026, Pipeline App contributors
# For license information, please see license.txt

from pipeline_app.scoped_document import ScopedChildDocument


class PipelineDigestTeam(ScopedChildDocument):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		team: DF.Link
	# end: auto-generated types
	pass
