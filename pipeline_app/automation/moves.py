"""Automated moves and their timeline notes: every automated move goes through
`move_opportunity_by_automation`, which saves through the same rules as the form and leaves one
timeline comment saying what moved the opportunity and why."""

import frappe

from pipeline_app.funnel import CLOSED_STATUSES


def move_opportunity_by_automation(opportunity, stage: str, reason: str, source: str) -> bool:
	"""Moves `opportunity` (name or document) to `stage`; returns whether it moved. Closed opportunities
	are left alone unless their team automates closed ones. `source` names the trigger, kept in
	`doc.flags.automation` so the other side of a two-way sync does not echo the move back."""
	doc = (
		opportunity
		if not isinstance(opportunity, str)
		else frappe.get_doc("Pipeline Opportunity", opportunity)
	)
	if not stage or doc.stage == stage:
		return False
	if doc.status in CLOSED_STATUSES and not frappe.get_cached_value(
		"Pipeline Team", doc.team, "automate_closed_opportunities"
	):
		return False
	doc.stage = stage
	doc.flags.automation = source
	doc.save(ignore_permissions=True)
	add_timeline_note(doc, reason)
	return True


def add_timeline_note(doc, text: str) -> None:
	"""An Info comment on the document's timeline, as the user (or Administrator, for scheduled jobs)."""
	doc.add_comment("Info", text)


def add_timeline_notes_in_bulk(names: list[str], note: str, actor: str, when) -> None:
	"""The same Info comment on many opportunities' timelines in one statement (bulk jobs)."""
	frappe.db.bulk_insert(
		"Comment",
		[
			"name",
			"comment_type",
			"reference_doctype",
			"reference_name",
			"content",
			"comment_email",
			"creation",
			"modified",
			"owner",
			"modified_by",
		],
		[
			(
				frappe.generate_hash(length=12),
				"Info",
				"Pipeline Opportunity",
				name,
				note,
				actor,
				when,
				when,
				actor,
				actor,
			)
			for name in names
		],
	)
