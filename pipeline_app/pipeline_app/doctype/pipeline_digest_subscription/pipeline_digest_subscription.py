# Copyright (c) 2026, Pipeline App contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document

from pipeline_app.realtime import publish_own_record
from pipeline_app.teams import can_access_team, is_pipeline_manager


class PipelineDigestSubscription(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from pipeline_app.pipeline_app.doctype.pipeline_digest_team.pipeline_digest_team import (
			PipelineDigestTeam,
		)

		frequency: DF.Literal["Daily", "Weekly", "Off"]
		last_sent_on: DF.Datetime | None
		teams: DF.TableMultiSelect[PipelineDigestTeam]
		user: DF.Link
		weekday: DF.Literal["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
	# end: auto-generated types
	# a user's digest (pipeline_app/automation/digests.py): how often, and the team funnels they
	# follow; each user edits their own, Pipeline Managers anyone's

	def validate(self):
		self.flags.notify_update = False  # its list_update goes to its user only (on_change)
		if self.user != frappe.session.user and not is_pipeline_manager(frappe.session.user):
			frappe.throw(_("You can only choose your own digest"), frappe.PermissionError)
		seen = set()
		for row in list(self.teams):
			if row.team in seen:
				self.remove(row)
				continue
			seen.add(row.team)
			if not can_access_team(row.team, self.user):
				frappe.throw(
					_("{0} cannot follow team {1}: they are not a member of it").format(
						frappe.bold(self.user), frappe.bold(row.team)
					)
				)

	def on_change(self):
		publish_own_record(self)
