"""Nightly abandonment of leads that stopped answering.

An Open opportunity is abandoned when its team has `abandon_after_days` > 0, it sits in a stage
marked abandonable, its contact has sent nothing for that many days (last inbound message, or
creation when there was none) and it has no future appointment.

The job scans with keyset pagination on the (team, status) index, updates each batch in bulk and
commits it, so it runs in bounded memory, a second run finds nothing left to do, and a run killed
midway is finished by the next. A MariaDB named lock keeps two runs from overlapping, whichever
worker host they run on: it belongs to the run's database connection, so it survives the per-batch
commits and is released when the run ends or its worker dies.

A batch that fails is undone and done again one opportunity at a time: the bad one is logged (Error
Log) and skipped, the others are abandoned. A notification that fails is logged the same way.

After a team's run, its warning window (`abandonment_warning_days`, default 3) is marked with the
same query, run as of that many days ahead: each opportunity a run within the window would abandon
gets `abandons_on` (the night of that run), shown on its card, and its owner one notification when it
enters the window; those that left it (a reply, a booked appointment, another stage) are cleared.
"""

import hashlib
from contextlib import contextmanager

import frappe
from frappe import _
from frappe.query_builder.functions import Coalesce
from frappe.utils import add_days, get_datetime, getdate, now_datetime

from pipeline_app.assignments import close_assignments_in_bulk
from pipeline_app.automation.isolation import isolated_row
from pipeline_app.automation.moves import add_timeline_note, add_timeline_notes_in_bulk
from pipeline_app.automation.notifications import notify
from pipeline_app.column_counts import record_status_change
from pipeline_app.funnel import end_stays, insert_stage_changes
from pipeline_app.install import ABANDONED_REASON
from pipeline_app.realtime import publish_team_refresh
from pipeline_app.teams import get_team_leads

BATCH_SIZE = 1000
DOCTYPE = "Pipeline Opportunity"
RUN = "Pipeline Abandonment Run"
JOB = "abandonment"


def abandon_silent_opportunities(batch_size: int = BATCH_SIZE) -> int:
	"""Scheduled daily (long queue). Returns how many opportunities were abandoned."""
	if not frappe.db.get_single_value("Pipeline Settings", "abandonment_enabled"):
		clear_all_warnings()
		return 0
	with abandonment_lock() as acquired:
		if not acquired:
			frappe.logger("pipeline_app").info("abandonment already running; this run does nothing")
			return 0
		return _abandon_all_teams(batch_size)


def abandonment_lock_name() -> str:
	"""Named locks are server-wide: the site's database name keeps sites on one server apart."""
	return "pipeline_abandonment_" + hashlib.sha1(frappe.conf.db_name.encode()).hexdigest()


@contextmanager
def abandonment_lock():
	"""Yields whether this run got the lock (no waiting: a run already going does the work)."""
	name = abandonment_lock_name()
	acquired = bool(frappe.db.sql("select get_lock(%s, 0)", name)[0][0])
	try:
		yield acquired
	finally:
		if acquired:
			frappe.db.sql("select release_lock(%s)", name)


def _abandon_all_teams(batch_size: int) -> int:
	total = 0
	for team in frappe.get_all(
		"Pipeline Team", fields=["name", "disabled", "abandon_after_days", "abandonment_warning_days"]
	):
		days = 0 if team.disabled else team.abandon_after_days or 0
		if days > 0:
			total += abandon_team(team.name, days, batch_size)
		# a team that abandons nothing (any more) keeps no warnings
		warn_team(team.name, days, team.abandonment_warning_days or 0 if days > 0 else 0, batch_size)
	return total


def abandonable_stages(team: str) -> list[str]:
	return frappe.get_all("Funnel Stage", filters={"team": team, "abandonable": 1}, pluck="name")


def due_opportunities(team: str, days: int, limit: int, run_at=None) -> list[str]:
	"""What a run at `run_at` (default now) would abandon in `team`, as things stand (at most
	`limit`, by name): the job's own query, for the Pipeline Abandonment Preview report."""
	stages = abandonable_stages(team)
	if not stages or not days or days <= 0:
		return []
	cutoff = add_days(run_at or now_datetime(), -days)
	names, last_name = [], ""
	while len(names) < limit:
		batch = _due_batch(team, stages, cutoff, last_name, min(BATCH_SIZE, limit - len(names)))
		if not batch:
			break
		names += batch
		last_name = batch[-1]
	return names


def abandon_team(team: str, days: int, batch_size: int = BATCH_SIZE) -> int:
	stages = abandonable_stages(team)
	if not stages:
		return 0
	cutoff = add_days(now_datetime(), -days)
	abandoned, last_name, run = 0, "", None
	per_owner: dict[str, list[str]] = {}
	while True:
		names = _due_batch(team, stages, cutoff, last_name, batch_size)
		if not names:
			break
		run = run or start_run(team, days)
		owners = _abandon_batch(names, team, days, run)
		for name, owner in owners:
			per_owner.setdefault(owner or "", []).append(name)
		frappe.db.commit()
		abandoned += len(owners)
		last_name = names[-1]
	if run and not frappe.db.get_value(RUN, run, "abandoned_count"):
		frappe.db.delete(RUN, run)  # every due one was changed meanwhile: nothing to undo
	_notify_owners(
		team,
		per_owner,
		lambda names: (
			_("Opportunity {0} was abandoned: the contact stopped answering").format(names[0])
			if len(names) == 1
			else _("{0} opportunities of team {1} were abandoned: their contacts stopped answering").format(
				len(names), team
			)
		),
	)
	if abandoned:
		publish_team_refresh(team)
	frappe.db.commit()
	return abandoned


def start_run(team: str, days: int) -> str:
	"""The record of this night's run in `team`: what it abandoned is told by the history rows it
	causes (Pipeline Stage Change.caused_by), which its undo reads (undo_run)."""
	run = frappe.get_doc(
		{
			"doctype": RUN,
			"team": team,
			"ran_at": now_datetime(),
			"abandon_after_days": days,
			"abandoned_count": 0,
		}
	)
	run.insert(ignore_permissions=True)
	return run.name


def undo_run(run) -> dict:
	"""Reopens the opportunities `run` abandoned that are still Abandoned, each through its own save
	as the session user (rules, outcome Workflow, history, boards), in the stage it stayed in; the
	others (changed since) are left as they are. Checked by the caller (managers only)."""
	names = frappe.get_all(
		"Pipeline Stage Change",
		filters={
			"caused_by_doctype": RUN,
			"caused_by": run.name,
			"change_type": "Status",
			"to_value": "Abandoned",
		},
		pluck="opportunity",
		order_by="opportunity asc",
	)
	reopened = 0
	for name in names:
		doc = frappe.get_doc(DOCTYPE, name)
		if doc.status != "Abandoned":
			continue
		doc.update({"status": "Open", "lost_reason": None, "lost_detail": None})
		doc.flags.caused_by = (RUN, run.name)
		doc.save()
		add_timeline_note(doc, _("Reopened: abandonment run {0} was undone").format(run.name))
		reopened += 1
	run.db_set({"undone_on": now_datetime(), "undone_by": frappe.session.user, "reopened_count": reopened})
	return {"reopened": reopened, "skipped": len(names) - reopened}


def _abandon_batch(names: list[str], team: str, days: int, run: str) -> list[tuple[str, str | None]]:
	"""The batch in bulk; when that fails, undone and done again one opportunity at a time."""
	savepoint = "pipeline_batch_" + frappe.generate_hash(length=10)
	frappe.db.savepoint(savepoint)
	try:
		owners = _abandon(names, team, days, run)
	except Exception:
		frappe.db.rollback(save_point=savepoint)
	else:
		frappe.db.release_savepoint(savepoint)
		return owners
	owners = []
	for name in names:
		with isolated_row(JOB, DOCTYPE, name):
			owners += _abandon([name], team, days, run)
	return owners


def _due_batch(team, stages, cutoff, last_name, batch_size) -> list[str]:
	opportunity = frappe.qb.DocType("Pipeline Opportunity")
	appointment = frappe.qb.DocType("Pipeline Appointment")
	booked = (
		frappe.qb.from_(appointment)
		.select(appointment.opportunity)
		.where((appointment.status == "Scheduled") & (appointment.starts_at > now_datetime()))
	)
	return (
		frappe.qb.from_(opportunity)
		.select(opportunity.name)
		.where(
			(opportunity.team == team)
			& (opportunity.status == "Open")
			& (opportunity.name > last_name)
			& opportunity.stage.isin(stages)
			& (Coalesce(opportunity.last_inbound_on, opportunity.creation) < cutoff)
			& opportunity.name.notin(booked)
		)
		.orderby(opportunity.name)
		.limit(batch_size)
		.run(pluck=True)
	)


def _abandon(names: list[str], team: str, days: int, run: str) -> list[tuple[str, str | None]]:
	"""One batch of `run`: status, history and timeline in bulk statements. Workflow Open → Abandoned."""
	now = now_datetime()
	user = frappe.session.user
	opportunity = frappe.qb.DocType("Pipeline Opportunity")
	rows = (
		frappe.qb.from_(opportunity)
		.select(opportunity.name, opportunity.opportunity_owner)
		.where(opportunity.name.isin(names) & (opportunity.status == "Open"))
		.for_update()
		.run()
	)
	names = [name for name, _owner in rows]
	if not names:
		return []
	(
		frappe.qb.update(opportunity)
		.set(opportunity.status, "Abandoned")
		.set(opportunity.lost_reason, ABANDONED_REASON)
		.set(opportunity.lost_detail, _("No reply for {0} days").format(days))
		.set(opportunity.closed_on, now)
		.set(opportunity.abandons_on, None)
		.set(opportunity.modified, now)
		.set(opportunity.modified_by, user)
		.where(opportunity.name.isin(names))
		.run()
	)
	record_status_change(names, "Open", "Abandoned")
	end_stays(names, now)  # their stay in the stage ends with the abandonment
	close_assignments_in_bulk(names)
	note = _("Abandoned: the contact sent nothing for {0} days").format(days)
	insert_stage_changes(
		((name, team, "Status", "Open", "Abandoned", user, now) for name in names), caused_by=(RUN, run)
	)
	frappe.db.sql(
		"update `tabPipeline Abandonment Run` set abandoned_count = abandoned_count + %s where name = %s",
		(len(names), run),
	)
	add_timeline_notes_in_bulk(names, note, user, now)
	return list(rows)


def _notify_owners(team: str, per_owner: dict[str, list[str]], subject) -> None:
	"""One notification per owner (team leads for unassigned ones), not one per opportunity;
	`subject(names)` words it."""
	for owner, names in per_owner.items():
		with isolated_row(JOB, DOCTYPE, names[0]):
			recipients = [owner] if owner else get_team_leads(team)
			notify(recipients, subject(names), frappe._dict(doctype=DOCTYPE, name=names[0]))


def warn_team(team: str, days: int, warning_days: int, batch_size: int = BATCH_SIZE) -> int:
	"""Marks `abandons_on` on the opportunities of `team` that a run within the next `warning_days`
	would abandon (the job's own query, as of the window's end) and clears it on the others; owners
	are notified of the ones that entered the window. Returns how many are in the window."""
	opportunity = frappe.qb.DocType(DOCTYPE)
	stages = abandonable_stages(team) if days > 0 and warning_days > 0 else []
	warned: set[str] = set()
	entered: dict[str, list[str]] = {}
	changed = False
	if stages:
		cutoff = add_days(now_datetime(), warning_days - days)
		tonight = add_days(getdate(now_datetime()), 1)
		last_name = ""
		while names := _due_batch(team, stages, cutoff, last_name, batch_size):
			last_name = names[-1]
			per_date: dict = {}
			for name, owner, base, marked in (
				frappe.qb.from_(opportunity)
				.select(
					opportunity.name,
					opportunity.opportunity_owner,
					Coalesce(opportunity.last_inbound_on, opportunity.creation),
					opportunity.abandons_on,
				)
				.where(opportunity.name.isin(names))
				.run()
			):
				warned.add(name)
				# already due (a run that skipped it, or the window marked before any run): tonight
				on = max(abandons_on(base, days), tonight)
				if marked != on:
					per_date.setdefault(on, []).append(name)
				if not marked:
					entered.setdefault(owner or "", []).append(name)
			for on, marked_names in per_date.items():
				frappe.qb.update(opportunity).set(opportunity.abandons_on, on).where(
					opportunity.name.isin(marked_names)
				).run()
				changed = True
			frappe.db.commit()
	left = [
		name
		for name in frappe.get_all(
			DOCTYPE, filters={"team": team, "abandons_on": ("is", "set")}, pluck="name", order_by="name"
		)
		if name not in warned
	]
	for start in range(0, len(left), batch_size):
		frappe.qb.update(opportunity).set(opportunity.abandons_on, None).where(
			opportunity.name.isin(left[start : start + batch_size])
		).run()
		changed = True
	_notify_owners(
		team,
		entered,
		lambda names: (
			_("Opportunity {0} will be abandoned on {1}: the contact stopped answering").format(
				names[0], frappe.utils.formatdate(frappe.db.get_value(DOCTYPE, names[0], "abandons_on"))
			)
			if len(names) == 1
			else _(
				"{0} opportunities of team {1} will be abandoned within {2} days: their contacts stopped answering"
			).format(len(names), team, warning_days)
		),
	)
	if changed:
		publish_team_refresh(team)
	frappe.db.commit()
	return len(warned)


def clear_all_warnings() -> None:
	"""Abandonment switched off for the site: no card says it will be abandoned."""
	opportunity = frappe.qb.DocType(DOCTYPE)
	teams = (
		frappe.qb.from_(opportunity)
		.select(opportunity.team)
		.distinct()
		.where(opportunity.abandons_on.isnotnull())
		.run(pluck=True)
	)
	if not teams:
		return
	frappe.qb.update(opportunity).set(opportunity.abandons_on, None).where(
		opportunity.abandons_on.isnotnull()
	).run()
	for team in teams:
		publish_team_refresh(team)
	frappe.db.commit()


def abandons_on(last_heard, days: int):
	"""The night of the first daily run that abandons an opportunity last heard from at `last_heard`:
	the job runs at midnight and abandons what has been silent for more than `days` days."""
	return getdate(add_days(get_datetime(last_heard), days + 1))


def clear_warning_when_moved(doc) -> None:
	"""From the opportunity's rules: a card that leaves Open or changes stage is no longer in the
	window the last run marked (the next run marks it again if it still is)."""
	if not doc.get("abandons_on"):
		return
	before = doc.get_doc_before_save()
	if doc.status != "Open" or (before and before.stage != doc.stage):
		doc.abandons_on = None
