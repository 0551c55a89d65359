# Copyright (c) 2026, Pipeline App contributors
# For license information, please see license.txt

import frappe
from frappe import _

from pipeline_app.booking import validate_booking_settings
from pipeline_app.cards import validate_card_layout
from pipeline_app.funnel import create_stages_from_template
from pipeline_app.membership import unassign_removed_members
from pipeline_app.scoped_document import TeamScopedDocument
from pipeline_app.teams import clear_user_teams_cache


class PipelineTeam(TeamScopedDocument):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from pipeline_app.pipeline_app.doctype.pipeline_booking_hours.pipeline_booking_hours import (
			PipelineBookingHours,
		)
		from pipeline_app.pipeline_app.doctype.pipeline_card_field.pipeline_card_field import (
			PipelineCardField,
		)
		from pipeline_app.pipeline_app.doctype.pipeline_team_member.pipeline_team_member import (
			PipelineTeamMember,
		)

		abandon_after_days: DF.Int
		abandonment_warning_days: DF.Int
		appointment_day_stage: DF.Link | None
		automate_closed_opportunities: DF.Check
		booked_stage: DF.Link | None
		booking_buffer_minutes: DF.Int
		booking_days_ahead: DF.Int
		booking_enabled: DF.Check
		booking_heading: DF.Data | None
		booking_hours: DF.Table[PipelineBookingHours]
		booking_intro: DF.SmallText | None
		booking_notice_hours: DF.Int
		booking_route: DF.Data | None
		booking_slot_minutes: DF.Int
		booking_stage: DF.Link | None
		cancelled_stage: DF.Link | None
		card_fields: DF.Table[PipelineCardField]
		contact_reminder_hours: DF.Int
		contact_reminders_enabled: DF.Check
		create_opportunity_from_inbound: DF.Check
		currency: DF.Link | None
		deal_amount_enabled: DF.Check
		description: DF.SmallText | None
		disabled: DF.Check
		funnel_template: DF.Literal["", "Appointment funnel", "Deal funnel", "Sales funnel"]
		host_reminder_minutes: DF.Int
		lose_on_lost_quotation: DF.Check
		members: DF.Table[PipelineTeamMember]
		no_show_stage: DF.Link | None
		no_skipping_forward: DF.Check
		quotation_sent_stage: DF.Link | None
		reopen_on_cancelled_sales_order: DF.Check
		replied_stage: DF.Link | None
		team_name: DF.Data
		webhook_secret: DF.Password | None
		win_on_sales_order: DF.Check

	# end: auto-generated types
	def validate(self):
		self.validate_members()
		if self.abandon_after_days and self.abandon_after_days < 0:
			frappe.throw(_("Abandon After (Days) cannot be negative"), title=_("Invalid Value"))
		self.validate_automation_stages()
		validate_booking_settings(self)
		validate_card_layout(self)
		if self.deal_amount_enabled and not self.currency:
			self.currency = frappe.db.get_default("currency") or None

	def validate_members(self):
		seen = set()
		for member in self.members:
			if member.user in seen:
				frappe.throw(
					_("{0} is listed twice in the team's members").format(frappe.bold(member.user)),
					title=_("Duplicate Member"),
				)
			seen.add(member.user)

	def validate_automation_stages(self):
		for field in (
			"booked_stage",
			"appointment_day_stage",
			"no_show_stage",
			"cancelled_stage",
			"replied_stage",
		):
			stage = self.get(field)
			if stage and frappe.db.get_value("Funnel Stage", stage, "team") != self.name:
				frappe.throw(
					_("{0}: stage {1} is not a stage of this team").format(
						_(self.meta.get_label(field)), frappe.bold(stage)
					),
					title=_("Invalid Stage"),
				)

	def after_insert(self):
		if self.funnel_template:
			create_stages_from_template(self.name, self.funnel_template)

	def on_update(self):
		clear_user_teams_cache()
		unassign_removed_members(self)

	def after_rename(self, old, new, merge=False):
		clear_user_teams_cache()

	def on_trash(self):
		if frappe.db.exists("Pipeline Opportunity", {"team": self.name}):
			frappe.throw(
				_("Team {0} still has opportunities: move or delete them before deleting the team").format(
					frappe.bold(self.name)
				),
				frappe.LinkExistsError,
				title=_("Team In Use"),
			)
		frappe.db.delete("Funnel Stage", {"team": self.name})
		frappe.db.delete("Pipeline Column Count", {"team": self.name})  # all zero by now
		frappe.db.delete("Pipeline Abandonment Run", {"team": self.name})  # nothing left to undo
		clear_user_teams_cache()
