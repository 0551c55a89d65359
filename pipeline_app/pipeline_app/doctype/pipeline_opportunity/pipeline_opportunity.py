# Copyright (c) 2026, Pipeline App contributors
# For license information, please see license.txt

import frappe
from frappe.utils import cstr

from pipeline_app.assignments import sync_owner_assignment
from pipeline_app.automation.abandonment import clear_warning_when_moved
from pipeline_app.automation.appointments import copy_to_appointments, follow_opportunity_stage
from pipeline_app.board import set_board_rank
from pipeline_app.column_counts import record_change as record_column_change
from pipeline_app.funnel import apply_stage_rules, record_changes
from pipeline_app.lookups import value_of
from pipeline_app.outcome_workflow import check_outcome_transition, is_exempt_automation
from pipeline_app.realtime import publish_opportunity
from pipeline_app.scoped_document import TeamScopedDocument

# kept by the automations (conversations, follow-ups, abandonment); a client cannot set them
SERVER_MANAGED_FIELDS = (
	"last_inbound_on",
	"last_outbound_on",
	"last_activity_on",
	"last_message_preview",
	"unread_count",
	"unanswered",
	"follow_up_notified_for",
	"board_rank",
	"abandons_on",
	"stages_reached",
	"closed_from_stage",
)


class PipelineOpportunity(TeamScopedDocument):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from pipeline_app.pipeline_app.doctype.pipeline_opportunity_item.pipeline_opportunity_item import (
			PipelineOpportunityItem,
		)

		abandons_on: DF.Date | None
		amount: DF.Currency
		closed_from_stage: DF.Data | None
		closed_on: DF.Datetime | None
		contact: DF.Link | None
		contact_email: DF.Data | None
		contact_name: DF.Data | None
		contact_phone: DF.Data | None
		currency: DF.Link | None
		deal_amount_enabled: DF.Check
		description: DF.Text | None
		expected_close_date: DF.Date | None
		follow_up_notified_for: DF.Datetime | None
		follow_up_on: DF.Datetime | None
		interest: DF.Literal["", "Cold", "Warm", "Hot"]
		items: DF.Table[PipelineOpportunityItem]
		last_activity_on: DF.Datetime | None
		last_inbound_on: DF.Datetime | None
		last_message_preview: DF.SmallText | None
		last_outbound_on: DF.Datetime | None
		lost_detail: DF.SmallText | None
		lost_reason: DF.Link | None
		on_hold_until: DF.Date | None
		opportunity_owner: DF.Link | None
		probability: DF.Percent
		source: DF.Literal[
			"",
			"Ad",
			"Website",
			"Chat",
			"Phone",
			"Email",
			"Referral",
			"Database Reactivation",
			"Event",
			"Partner",
			"Other",
		]
		stage: DF.Link | None
		stages_reached: DF.Int
		status: DF.Literal["Open", "Won", "Lost", "On Hold", "Abandoned"]
		team: DF.Link
		title: DF.Data
		unanswered: DF.Check
		unread_count: DF.Int
		weighted_amount: DF.Currency

	# end: auto-generated types
	def validate(self):
		self.keep_server_managed_fields()
		apply_stage_rules(self)
		clear_warning_when_moved(self)
		check_outcome_transition(self)
		set_board_rank(self)

	def validate_workflow(self):
		# Frappe's own check of the outcome Workflow, after validate: the automations named in
		# outcome_workflow.WORKFLOW_EXEMPT_AUTOMATIONS pass it as they pass check_outcome_transition
		if is_exempt_automation(self):
			return
		super().validate_workflow()

	def keep_server_managed_fields(self):
		before = self.get_doc_before_save()
		for field in SERVER_MANAGED_FIELDS:
			self.set(field, before.get(field) if before else None)

	def load_from_db(self):
		# a copy kept for the next save (api._locked_opportunity) is stale once the row is read again
		self.flags.pop("stored_copy", None)
		return super().load_from_db()

	def load_doc_before_save(self, *, raise_exception: bool = False):
		stored = self.flags.pop("stored_copy", None)
		if (
			stored is not None
			and stored.name == self.name
			and cstr(stored.modified) == cstr(value_of(self.doctype, self.name, "modified"))
		):
			# a copy made when the row was loaded for update in this transaction (api._locked_opportunity),
			# and the row not saved since (by another copy in the same request): what Frappe would load
			# again, its child rows included
			self._doc_before_save = stored
		else:
			super().load_doc_before_save(raise_exception=raise_exception)
		# a save that ignores permissions (an automation run for a user outside the team, such as an
		# ERPNext user submitting an order) ignores them on its stored copy too, which Frappe's
		# workflow check reads
		if self.flags.ignore_permissions and self._doc_before_save:
			self._doc_before_save.flags.ignore_permissions = True

	def on_update(self):
		# everything a saved change sets off, in this order (hooks.py adds only what other doctypes do)
		record_column_change(self)  # the board's column totals
		record_changes(self)  # the stage history
		sync_owner_assignment(self)  # the owner's ToDo
		publish_opportunity(self)  # the boards, after commit (pipeline_app/realtime.py)
		copy_to_appointments(self)  # its appointments' team, contact and title, their hosts' Events
		follow_opportunity_stage(self)  # a No Show / Cancelled stage marks the open appointment

	def on_trash(self):
		# the opportunity's own records go with it; its contact and the contact's
		# communications stay (Frappe only unlinks communications from a deleted document)
		frappe.db.delete("Pipeline Appointment", {"opportunity": self.name})
		frappe.db.delete("Pipeline Stage Change", {"opportunity": self.name})
		record_column_change(self, deleted=True)
		publish_opportunity(self, "delete")


def on_doctype_update():
	# the board reads each column as a range of the first index, and its column totals from the
	# second alone (covering: no table rows read)
	frappe.db.add_index("Pipeline Opportunity", ["team", "stage", "board_rank"])
	frappe.db.add_index(
		"Pipeline Opportunity", ["team", "stage", "status", "amount", "weighted_amount"], "board_totals_index"
	)
	# the Forecast report's open months (covering) and the outcomes of a period (Forecast, Win Loss)
	frappe.db.add_index(
		"Pipeline Opportunity",
		["team", "status", "expected_close_date", "opportunity_owner", "amount", "weighted_amount"],
		"forecast_index",
	)
	# the outcomes of a period, covering (InnoDB keys hold at most 3,072 bytes, a varchar(140) 560 of
	# them: the group keys are split over two): Win Loss by owner, source, interest or month and the
	# Forecast's won months from the first, Win Loss by lost reason or stage lost from the second
	frappe.db.add_index(
		"Pipeline Opportunity",
		["team", "status", "closed_on", "creation", "amount", "opportunity_owner", "source", "interest"],
		"closed_index",
	)
	frappe.db.add_index(
		"Pipeline Opportunity",
		[
			"team",
			"status",
			"closed_on",
			"creation",
			"amount",
			"opportunity_owner",
			"lost_reason",
			"closed_from_stage",
		],
		"closed_reason_index",
	)
	# the workspace's number cards, covering: a team's open amounts by currency (Open Value, Weighted
	# Value, one team at a time) and its open ones with a follow-up (Follow-ups Due); the follow-ups of
	# every team, for a reader of all of them
	frappe.db.add_index(
		"Pipeline Opportunity",
		["team", "status", "currency", "amount", "weighted_amount", "follow_up_on"],
		"open_value_index",
	)
	frappe.db.add_index("Pipeline Opportunity", ["status", "follow_up_on", "team"], "follow_up_index")
	# the opportunities created in a period and the stages they reached (Funnel Conversion; covering)
	frappe.db.add_index(
		"Pipeline Opportunity",
		["team", "creation", "status", "opportunity_owner", "stages_reached"],
		"reached_index",
	)
