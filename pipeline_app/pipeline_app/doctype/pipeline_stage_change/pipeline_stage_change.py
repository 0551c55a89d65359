# Copyright (c) 2026, Pipeline App contributors
# For license information, please see license.txt

import frappe

from pipeline_app.scoped_document import TeamScopedDocument


class PipelineStageChange(TeamScopedDocument):
	pass


def on_doctype_update():
	# an opportunity's history in order (reopen, delete, time in stage), and a team's changes by time
	frappe.db.add_index("Pipeline Stage Change", ["opportunity", "change_type", "changed_on"])
	frappe.db.add_index("Pipeline Stage Change", ["team", "change_type", "changed_on"])
