# Copyright (c) 2026, Pipeline App contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.query_builder.functions import Max

from pipeline_app.gates import validate_stage_gates
from pipeline_app.journey import assign_reach_bit, forget_stage_reached, keep_reach_bit, mark_stage_reached
from pipeline_app.scoped_document import TeamScopedDocument


class FunnelStage(TeamScopedDocument):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		abandonable: DF.Check
		allowed_next_stages: DF.SmallText | None
		color: DF.Color | None
		description: DF.SmallText | None
		entry_roles: DF.SmallText | None
		leads_only: DF.Check
		probability: DF.Percent
		reach_bit: DF.Int
		required_fields: DF.SmallText | None
		sequence: DF.Int
		stage_name: DF.Data
		stage_type: DF.Literal["Open", "Won", "Lost"]
		team: DF.Link

	# end: auto-generated types
	def autoname(self):
		self.name = f"{self.team} - {(self.stage_name or '').strip()}"

	def validate(self):
		self.stage_name = (self.stage_name or "").strip()
		duplicate = frappe.db.exists(
			"Funnel Stage", {"team": self.team, "stage_name": self.stage_name, "name": ("!=", self.name)}
		)
		if duplicate:
			frappe.throw(
				_("Team {0} already has a stage named {1}").format(
					frappe.bold(self.team), frappe.bold(self.stage_name)
				),
				frappe.DuplicateEntryError,
				title=_("Duplicate Stage"),
			)
		if self.probability is not None and not 0 <= self.probability <= 100:
			frappe.throw(_("Probability must be between 0 and 100"), title=_("Invalid Probability"))
		if self.sequence is None or (self.is_new() and not self.sequence):
			stage = frappe.qb.DocType("Funnel Stage")
			highest = (
				frappe.qb.from_(stage).select(Max(stage.sequence)).where(stage.team == self.team).run()
			)[0][0]
			self.sequence = (highest or 0) + 10
		self.validate_stage_type_change()
		validate_stage_gates(self)
		keep_reach_bit(self)

	def before_insert(self):
		assign_reach_bit(self)  # its bit in the opportunities' Stages Reached (pipeline_app/journey.py)

	def after_insert(self):
		mark_stage_reached(self)

	def after_delete(self):
		forget_stage_reached(self)

	def validate_stage_type_change(self):
		before = self.get_doc_before_save()
		if before and before.stage_type != self.stage_type:
			if frappe.db.exists("Pipeline Opportunity", {"stage": self.name}):
				frappe.throw(
					_("Stage {0} has opportunities: move them out before changing its type").format(
						frappe.bold(self.stage_name)
					),
					title=_("Stage In Use"),
				)
