"""What follows from leaving a team: a member removed from a Pipeline Team no longer owns any of that
team's opportunities (an owner must be a member, so they could no longer be saved, by hand or by the
jobs), follows none of them, and keeps no host Event of its appointments. Their opportunities of that team become unassigned, their open to-do on each is cancelled, as
`assign_to.remove` does for one, and each opportunity's timeline says who was unassigned and why.

All of it in bulk statements, in batches of `BATCH_SIZE` (a team can have thousands of opportunities),
in the team save's own transaction; the team's boards reload once the save commits.
"""

import json

import frappe
from frappe import _
from frappe.utils import now_datetime

from pipeline_app.automation.host_events import drop_host_events
from pipeline_app.automation.moves import add_timeline_notes_in_bulk
from pipeline_app.realtime import publish_team_refresh

DOCTYPE = "Pipeline Opportunity"
BATCH_SIZE = 1000


def removed_members(team) -> list[str]:
	"""Users listed before this save of the team (a Pipeline Team document) and not after it."""
	before = team.get_doc_before_save()
	if before is None:
		return []
	staying = {member.user for member in team.members}
	return sorted({member.user for member in before.members} - staying)


def unassign_removed_members(team) -> None:
	"""Called by Pipeline Team's `on_update` (trusted: the team save was permission-checked)."""
	removed = removed_members(team)
	for user in removed:
		stop_following(team.name, user)
		drop_host_events(team.name, user)
	unassigned = sum(unassign_member(team.name, user) for user in removed)
	if unassigned:
		publish_team_refresh(team.name)


def stop_following(team: str, user: str) -> None:
	"""The user's Document Follows of the team's opportunities go: Frappe's digest would otherwise
	keep mailing them the team's changes."""
	follow = frappe.qb.DocType("Document Follow")
	opportunity = frappe.qb.DocType(DOCTYPE)
	(
		frappe.qb.from_(follow)
		.delete()
		.where(
			(follow.user == user)
			& (follow.ref_doctype == DOCTYPE)
			& follow.ref_docname.isin(
				frappe.qb.from_(opportunity).select(opportunity.name).where(opportunity.team == team)
			)
		)
		.run()
	)


def unassign_member(team: str, user: str) -> int:
	"""Unassigns every opportunity of `team` owned by `user`; returns how many."""
	opportunity = frappe.qb.DocType(DOCTYPE)
	note = _("Unassigned: {0} was removed from team {1}").format(user, team)
	total, last_name = 0, ""
	while True:
		names = (
			frappe.qb.from_(opportunity)
			.select(opportunity.name)
			.where(
				(opportunity.team == team)
				& (opportunity.opportunity_owner == user)
				& (opportunity.name > last_name)
			)
			.orderby(opportunity.name)
			.limit(BATCH_SIZE)
			.run(pluck=True)
		)
		if not names:
			return total
		_unassign(names, user, note)
		total += len(names)
		last_name = names[-1]


def _unassign(names: list[str], user: str, note: str) -> None:
	now = now_datetime()
	actor = frappe.session.user
	opportunity = frappe.qb.DocType(DOCTYPE)
	(
		frappe.qb.update(opportunity)
		.set(opportunity.opportunity_owner, None)
		.set(opportunity.modified, now)
		.set(opportunity.modified_by, actor)
		.where(opportunity.name.isin(names))
		.run()
	)
	_cancel_todos(names, user)
	add_timeline_notes_in_bulk(names, note, actor, now)


def _cancel_todos(names: list[str], user: str) -> None:
	"""What `assign_to.remove` does per document: the user's open ToDo is Cancelled and the document's
	`_assign` lists the assignees left."""
	todo = frappe.qb.DocType("ToDo")
	(
		frappe.qb.update(todo)
		.set(todo.status, "Cancelled")
		.set(todo.modified, now_datetime())
		.where(
			(todo.reference_type == DOCTYPE)
			& todo.reference_name.isin(names)
			& (todo.allocated_to == user)
			& (todo.status == "Open")
		)
		.run()
	)
	remaining: dict[str, list[str]] = {}
	for name, assignee in (
		frappe.qb.from_(todo)
		.select(todo.reference_name, todo.allocated_to)
		.where(
			(todo.reference_type == DOCTYPE)
			& todo.reference_name.isin(names)
			& todo.status.notin(["Cancelled", "Closed"])
			& todo.allocated_to.isnotnull()
			& (todo.allocated_to != "")
		)
		.orderby(todo.creation)
		.run()
	):
		remaining.setdefault(name, []).append(assignee)
	opportunity = frappe.qb.DocType(DOCTYPE)
	alone = [name for name in names if name not in remaining]
	if alone:
		frappe.qb.update(opportunity).set(opportunity._assign, "[]").where(opportunity.name.isin(alone)).run()
	for name, assignees in remaining.items():  # hand-made assignments of others: rare
		frappe.db.set_value(DOCTYPE, name, "_assign", json.dumps(assignees), update_modified=False)
