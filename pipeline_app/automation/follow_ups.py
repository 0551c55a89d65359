"""Due follow-ups notify once; held opportunities come back when their date has come. A row that fails
is logged (Error Log) and skipped: the others are done all the same."""

import frappe
from frappe import _
from frappe.utils import now_datetime, today

from pipeline_app.automation.isolation import isolated_row
from pipeline_app.automation.moves import add_timeline_note
from pipeline_app.automation.notifications import notify, opportunity_link, recipients_for

BATCH_SIZE = 500


def notify_due_follow_ups():
	"""Every five minutes: one notification per due follow-up, to the owner (or the team leads when
	unassigned). `follow_up_notified_for` remembers which follow-up time was notified, so a run never
	repeats a notification and a new follow-up time is notified again."""
	opportunity = frappe.qb.DocType("Pipeline Opportunity")
	last_name = ""
	while True:
		due = (
			frappe.qb.from_(opportunity)
			.select(opportunity.name)
			.where(
				(opportunity.follow_up_on <= now_datetime())
				& opportunity.status.isin(["Open", "On Hold"])
				& (
					opportunity.follow_up_notified_for.isnull()
					| (opportunity.follow_up_notified_for != opportunity.follow_up_on)
				)
				& (opportunity.name > last_name)
			)
			.orderby(opportunity.name)
			.limit(BATCH_SIZE)
			.run(pluck=True)
		)
		if not due:
			return
		for name in due:
			with isolated_row("follow-ups", "Pipeline Opportunity", name):
				notify_follow_up(name)
		frappe.db.commit()
		last_name = due[-1]


def notify_follow_up(name: str) -> None:
	doc = frappe.get_doc("Pipeline Opportunity", name)
	notify(recipients_for(doc), _("Follow up on {0} is due").format(opportunity_link(doc)), doc)
	frappe.db.set_value(
		"Pipeline Opportunity",
		name,
		"follow_up_notified_for",
		doc.follow_up_on,
		update_modified=False,
	)


def resume_held_opportunities():
	"""Hourly (so a date that has come is not missed for long): On Hold opportunities whose
	`on_hold_until` has come return to Open, with a timeline note and a notification."""
	held = frappe.get_all(
		"Pipeline Opportunity",
		filters={"status": "On Hold", "on_hold_until": ("<=", today())},
		pluck="name",
		order_by="name asc",
	)
	for name in held:
		with isolated_row("holds", "Pipeline Opportunity", name):
			resume_opportunity(name, _("Resumed: the hold ended on {0}"))
		frappe.db.commit()


def resume_opportunity(name: str, reason: str) -> None:
	doc = frappe.get_doc("Pipeline Opportunity", name)
	held_until = doc.on_hold_until
	doc.status = "Open"
	doc.flags.automation = "hold"
	doc.save(ignore_permissions=True)
	add_timeline_note(doc, reason.format(frappe.utils.formatdate(held_until)))
	notify(recipients_for(doc), _("{0} is back from hold").format(opportunity_link(doc)), doc)
