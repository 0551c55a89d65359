"""An opportunity's journey through its team's funnel, kept on the opportunity beside the stage history
so the reports add up one index range instead of reading every opportunity's history:

- `stages_reached`: the stages of its team it has entered, one bit each. Each Funnel Stage owns a bit
  (`reach_bit`, 1 to MAX_REACH_BIT, the lowest free one of its team, given when the stage is created
  and never changed), so renumbering, renaming or retyping stages changes nothing stored: the Funnel
  Conversion report maps the bits to the stages' current order and types when it runs. The invariant:
  it is the OR of the bits of the stages named by the opportunity's Stage rows of the history recorded
  in its current team. A deleted stage's bit is cleared on the team's opportunities (so a later stage
  may take it); a stage created under a name the history already names (deleted and made again) sets
  its bit where that history is.
- `closed_from_stage`: the stage Win Loss groups by (*Stage Lost From*): its own stage while that is
  an open one (open, on hold, abandoned), else the stage it entered its Won or Lost stage from (the
  `from_value` of its latest stage change). A stage's type cannot change while opportunities are in it
  (Funnel Stage.validate_stage_type_change), so the stored value never goes stale.

Kept on every save (`set_journey`, from the stage rules), by the demo's bulk insert (`journey_values`),
and filled in for older data by `record_journeys` (patch v0_6). The abandonment job changes no stage,
so neither field."""

import frappe

OPEN = "Open"
MAX_REACH_BIT = 63  # a signed BIGINT holds 63 bits; a team's 64th stage gets none (see reach_flag)


def reach_flag(stage) -> int:
	"""The bit of `stage` (a Funnel Stage row or dict) in Stages Reached; 0 for a stage without one."""
	bit = stage.get("reach_bit") if stage else None
	return 1 << (bit - 1) if bit else 0


def stages_in(reached: int, stages) -> list:
	"""Those of `stages` whose bit is set in `reached`."""
	return [stage for stage in stages if reached & reach_flag(stage)]


def set_journey(doc, before, stage) -> None:
	"""Called by the stage rules once `doc.stage` is final (`stage` is its Funnel Stage row): when the
	stage changes, record_changes writes a Stage row into it for the current team, so its bit joins
	Stages Reached (after a team change, the bits of the history recorded in the new team) and
	Closed From Stage follows."""
	if before is not None and before.stage == doc.stage:
		return
	if stage is None or stage.name != doc.stage:
		stage = frappe.db.get_value(
			"Funnel Stage", doc.stage, ["name", "stage_type", "reach_bit"], as_dict=True
		)
	if before is None:
		reached = 0
	elif before.team != doc.team:
		reached = stages_reached_in_history(doc.name, doc.team)
	else:
		reached = before.stages_reached or 0
	doc.stages_reached = reached | reach_flag(stage)
	previous = before.stage if before is not None else None
	doc.closed_from_stage = doc.stage if stage and stage.stage_type == OPEN else previous


def journey_values(stage, previous: str | None = None) -> tuple[int, str | None]:
	"""(stages_reached, closed_from_stage) of a row a bulk writer inserts in `stage` with a history of
	one Stage row into it from `previous` (the demo)."""
	return reach_flag(stage), stage.name if stage.stage_type == OPEN else previous


def stages_reached_in_history(name: str, team: str) -> int:
	"""Stages Reached of the opportunity `name` in `team`, from its history."""
	# bit_or gives an unsigned BIGINT (0 for no rows); a COALESCE would make it a DECIMAL, which
	# Frappe turns into a float (inexact past 53 bits)
	return int(
		frappe.db.sql(
			"""select bit_or(1 << (s.reach_bit - 1))
		from `tabPipeline Stage Change` c
		join `tabFunnel Stage` s on s.name = c.to_value and s.team = c.team
		where c.opportunity = %s and c.team = %s and c.change_type = 'Stage' and s.reach_bit > 0""",
			(name, team),
		)[0][0]
	)


def record_journeys(names) -> None:
	"""Stages Reached and Closed From Stage of the opportunities `names`, from their history (the
	backfill patch; after SQL run by hand). One statement each for the whole list."""
	names = tuple(names)
	if not names:
		return
	# per opportunity, its own history rows by the (opportunity, change_type, ...) index (a derived
	# table grouped over the batch made MariaDB start from the stages and read whole teams' history)
	frappe.db.sql(
		"""update `tabPipeline Opportunity` o
		set o.stages_reached = (
			select ifnull(bit_or(1 << (s.reach_bit - 1)), 0)
			from `tabPipeline Stage Change` c
			straight_join `tabFunnel Stage` s on s.name = c.to_value and s.team = c.team
			where c.opportunity = o.name and c.team = o.team and c.change_type = 'Stage'
				and s.reach_bit > 0
		)
		where o.name in %(names)s""",
		{"names": names},
	)
	# the Win Loss report's old reading of the history, once: the latest move into its stage
	frappe.db.sql(
		"""update `tabPipeline Opportunity` o
		left join `tabFunnel Stage` st on st.name = o.stage
		set o.closed_from_stage = case when st.stage_type = %(open)s then o.stage else (
			select c.from_value from `tabPipeline Stage Change` c
			where c.opportunity = o.name and c.change_type = 'Stage' and c.to_value = o.stage
			order by c.changed_on desc, c.creation desc limit 1
		) end
		where o.name in %(names)s""",
		{"names": names, "open": OPEN},
	)


def assign_reach_bit(stage) -> None:
	"""before_insert of a Funnel Stage: the lowest bit no other stage of its team holds (none past
	MAX_REACH_BIT). Two stages of one team created at the same instant by two users may both take
	it: nothing is locked (a locking read of the team's stages would lock index gaps that other
	teams' new stages need), and the Funnel Conversion report reads a team whose stages lack a bit
	or share one from the history instead (exact, slower)."""
	stage.reach_bit = 0
	if not stage.team:
		return
	taken = set(
		frappe.get_all("Funnel Stage", filters={"team": stage.team, "reach_bit": (">", 0)}, pluck="reach_bit")
	)
	stage.reach_bit = next((bit for bit in range(1, MAX_REACH_BIT + 1) if bit not in taken), 0)


def mark_stage_reached(stage) -> None:
	"""after_insert of a Funnel Stage: a stage created under a name the team's history already names
	(deleted, then made again) counts as reached where that history is, as the history reads. Read
	first without locking (a new stage's name is normally in no history), then written by name: an
	UPDATE over an index range would lock its gaps against other teams' inserts."""
	flag = reach_flag(stage)
	if not flag:
		return
	names = frappe.db.sql_list(
		"""select distinct c.opportunity from `tabPipeline Stage Change` c
		join `tabPipeline Opportunity` o on o.name = c.opportunity and o.team = c.team
		where c.team = %s and c.change_type = 'Stage' and c.to_value = %s""",
		(stage.team, stage.name),
	)
	set_flag(names, flag, on=True)


def forget_stage_reached(stage) -> None:
	"""after_delete of a Funnel Stage: its bit is cleared on the team's opportunities, so the next
	stage given that bit starts from nothing (the history of a deleted stage counts for no stage)."""
	flag = reach_flag(stage)
	if not flag:
		return
	names = frappe.db.sql_list(
		"select name from `tabPipeline Opportunity` where team = %s and stages_reached & %s",
		(stage.team, flag),
	)
	set_flag(names, flag, on=False)


def set_flag(names: list[str], flag: int, on: bool, batch: int = 5000) -> None:
	"""Sets (or clears) one bit of Stages Reached on the opportunities `names`, by primary key."""
	for start in range(0, len(names), batch):
		frappe.db.sql(
			f"""update `tabPipeline Opportunity`
			set stages_reached = {"stages_reached | %(flag)s" if on else "stages_reached & ~%(flag)s"}
			where name in %(names)s""",
			{"flag": flag, "names": tuple(names[start : start + batch])},
		)


def keep_reach_bit(stage) -> None:
	"""validate of a Funnel Stage: the bit given at creation stays (a client cannot change it)."""
	before = stage.get_doc_before_save()
	if before is not None:
		stage.reach_bit = before.reach_bit
