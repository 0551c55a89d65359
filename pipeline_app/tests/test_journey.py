"""An opportunity's journey kept beside its history (pipeline_app/journey.py): the Funnel Conversion
report read from Stages Reached gives exactly what it gave read from the stage history, on varied
journeys (forward, back, reopened, abandoned by hand and by the job, lost, On Hold, moved to another
team and back, bulk-inserted by the demo), after the stages are renumbered, retyped, added, deleted
and made again; Win Loss by stage lost from read from Closed From Stage gives what the history gave;
and the backfill patch (v0_6) reproduces the live figures of both from the history alone."""

import random
from unittest.mock import patch

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, now_datetime, today

from pipeline_app.automation.abandonment import abandon_team
from pipeline_app.demo import HISTORY_DAYS, _bulk_opportunities
from pipeline_app.funnel import get_team_stages
from pipeline_app.journey import MAX_REACH_BIT
from pipeline_app.pipeline_app.report.pipeline_funnel_conversion.pipeline_funnel_conversion import (
	execute as conversion,
)
from pipeline_app.pipeline_app.report.pipeline_funnel_conversion.pipeline_funnel_conversion import (
	get_depths,
	get_depths_from_history,
	get_summary,
	summarise,
)
from pipeline_app.pipeline_app.report.pipeline_win_loss.pipeline_win_loss import execute as win_loss
from pipeline_app.reporting import validate_team_filters
from pipeline_app.tests.factories import make_contact, make_opportunity, make_team, make_user, stage_named


def no_commits():
	"""The jobs, the demo and the patch commit per batch; here their work stays in the test's
	transaction and goes with its rollback."""
	return patch.object(frappe.db, "commit")


def lost_reason() -> str:
	return frappe.get_all("Pipeline Lost Reason", pluck="name", order_by="name asc", limit=1)[0]


# Win Loss by stage lost from as it was read from the history, before Closed From Stage
STAGE_LOST_FROM_IN_HISTORY = """
	select case when st.stage_type = 'Open' then o.stage else (
		select c.from_value from `tabPipeline Stage Change` c
		where c.opportunity = o.name and c.change_type = 'Stage' and c.to_value = o.stage
		order by c.changed_on desc, c.creation desc limit 1
	) end as group_key, o.status, count(*) as count
	from `tabPipeline Opportunity` o join `tabFunnel Stage` st on st.name = o.stage
	where o.team = %s and o.status in ('Won', 'Lost', 'Abandoned')
	group by group_key, o.status"""


class JourneyCase(FrappeTestCase):
	def setUp(self):
		self.seller = make_user()
		self.team = make_team(members=[self.seller]).name  # New, Qualification, Proposal, Negotiation,
		self.other = make_team().name  # Closing, Won, Lost

	def stage(self, name, team=None):
		return stage_named(team or self.team, name)

	def change(self, doc, **values):
		doc.reload()
		doc.update(values)
		doc.save()
		return doc

	def walk(self, *stages, **fields):
		doc = make_opportunity(self.team, **fields)
		for name in stages:
			self.change(doc, stage=self.stage(name))
		return doc

	def journeys(self):
		"""Opportunities of the period that went every way an opportunity goes."""
		reason = lost_reason()
		with self.freeze_time(add_days(now_datetime(), -200)):
			self.walk("Proposal")  # created before the period
		self.walk()  # stays in New
		self.walk("Qualification", "Proposal", opportunity_owner=self.seller)  # forward
		self.walk("Proposal", "Qualification")  # forward, then back
		self.walk("Closing", "Qualification", "New")  # back to the start
		self.change(self.walk(), status="Won")  # won straight from New: past every stage
		self.walk("Won")  # dropped into Won on the board
		self.change(self.walk("Negotiation"), status="Lost", lost_reason=reason)
		self.change(self.walk(), status="Lost", lost_reason=reason)  # lost straight from New
		reopened = self.change(self.walk("Closing"), status="Won")
		self.change(reopened, status="Open")  # back in Closing
		self.change(reopened, status="Lost", lost_reason=reason)  # then lost from there
		won_again = self.change(self.walk("Negotiation"), status="Lost", lost_reason=reason)
		self.change(won_again, status="Open", lost_reason=None)
		self.change(won_again, stage=self.stage("Won"))
		self.change(self.walk("Qualification"), status="On Hold", on_hold_until=add_days(today(), 20))
		self.change(self.walk("Qualification"), status="Abandoned")
		self.change(self.walk("Proposal"), status="Abandoned")
		travelled = self.walk("Proposal", opportunity_owner=self.seller)
		self.change(travelled, team=self.other)  # its owner stays behind; New of the other team
		self.change(travelled, stage=self.stage("Negotiation", self.other))
		self.change(travelled, team=self.team)  # back: the first stage, with what it reached here
		gone = self.walk("Qualification")
		self.change(gone, team=self.other)  # gone for good: counted in neither team's first stays
		# abandoned by the job (bulk statements, no document save): created 40 days ago, silent since
		frappe.db.set_value("Funnel Stage", self.stage("Qualification"), "abandonable", 1)
		with self.freeze_time(add_days(now_datetime(), -40)):
			self.walk("Qualification")
		with no_commits():
			self.assertEqual(abandon_team(self.team, 30), 1)

	def figures(self, **filters):
		"""The report's rows and summary read from Stages Reached, checked against the same read
		from the history."""
		filters = frappe._dict({"team": self.team, **filters})
		validate_team_filters(filters)
		stages = get_team_stages(self.team)
		self.assertTrue(all(0 < stage.reach_bit <= MAX_REACH_BIT for stage in stages))
		kept, history = (
			get_depths(self.team, stages, filters),
			get_depths_from_history(self.team, stages, filters),
		)
		figures = summarise(stages, kept), get_summary(kept)
		self.assertEqual(figures, (summarise(stages, history), get_summary(history)))
		return figures

	def reached(self, **filters) -> dict[str, int]:
		return {row["stage_name"]: row["reached"] for row in self.figures(**filters)[0]}

	def stage_lost_from(self) -> dict:
		"""Win Loss by stage lost from ({(key, status): count}), checked against the history's."""
		rows = frappe.db.sql(
			"""select closed_from_stage, status, count(*) from `tabPipeline Opportunity`
			where team = %s and status in ('Won', 'Lost', 'Abandoned') group by closed_from_stage, status""",
			self.team,
		)
		kept = {(key, status): count for key, status, count in rows}
		history = {
			(key, status): count
			for key, status, count in frappe.db.sql(STAGE_LOST_FROM_IN_HISTORY, self.team)
		}
		self.assertEqual(kept, history)
		return kept


class TestFunnelConversionFromStagesReached(JourneyCase):
	def test_every_kind_of_journey_counts_as_the_history_does(self):
		self.journeys()
		self.assertEqual(
			self.reached(),
			{
				"New": 15,
				"Qualification": 13,
				"Proposal": 10,
				"Negotiation": 6,
				"Closing": 5,
				"Won": 4,  # entered it: reopened or not
				"Lost": 4,
			},
		)
		_rows, summary = self.figures()
		self.assertEqual([item["value"] for item in summary], [15, 3, 3, 50.0])
		self.assertEqual(self.reached(opportunity_owner=self.seller)["Proposal"], 1)
		self.assertEqual(self.reached(from_date=add_days(today(), -300))["New"], 16)
		self.assertEqual(self.reached(from_date=add_days(today(), -10))["New"], 14)
		# the report itself reads the kept figures
		_columns, rows, _message, _chart, summary = conversion({"team": self.team})
		self.assertEqual((rows, summary), self.figures())

	def test_renumbered_retyped_added_and_deleted_stages_count_as_the_history_does(self):
		self.journeys()
		before = self.reached()
		# Proposal before Qualification now: who entered Qualification got past Proposal
		for name, sequence in (("Qualification", 30), ("Proposal", 20)):
			stage = frappe.get_doc("Funnel Stage", self.stage(name))
			stage.sequence = sequence
			stage.save()
		renumbered = self.reached()
		self.assertNotEqual(list(renumbered.items()), list(before.items()))
		self.assertEqual(renumbered["Proposal"], before["Qualification"])
		# an empty open stage made a Won one: whoever passed through it counts as won
		closing = frappe.get_doc("Funnel Stage", self.stage("Closing"))
		closing.stage_type = "Won"
		closing.save()
		self.assertEqual(self.reached()["Closing"], 2)  # an outcome: those who entered it
		closing.stage_type = "Open"
		closing.save()
		# a stage added between two others, and one deleted while its history stays
		frappe.get_doc(
			{"doctype": "Funnel Stage", "team": self.team, "stage_name": "Demo", "sequence": 35}
		).insert()
		reached = self.reached()  # nobody entered it: whoever reached it went past it
		self.assertEqual(reached["Demo"], reached["Negotiation"])
		negotiation = frappe.get_doc("Funnel Stage", self.stage("Negotiation"))
		bit = negotiation.reach_bit
		frappe.delete_doc("Funnel Stage", negotiation.name, force=True)
		self.assertNotIn("Negotiation", self.reached())
		# the next stage takes the freed bit and none of the old stage's history
		taken = frappe.get_doc(
			{"doctype": "Funnel Stage", "team": self.team, "stage_name": "Pricing", "sequence": 40}
		).insert()
		self.assertEqual(taken.reach_bit, bit)
		reached = self.reached()
		self.assertEqual(reached["Pricing"], reached["Closing"])
		# made again under its old name: the history names it, so its visitors reached it
		again = frappe.get_doc(
			{"doctype": "Funnel Stage", "team": self.team, "stage_name": "Negotiation", "sequence": 45}
		).insert()
		self.assertNotEqual(again.reach_bit, bit)
		reached = self.reached()  # one lost from it: its furthest
		self.assertEqual(reached["Negotiation"], reached["Closing"] + 1)

	def test_the_demo_s_bulk_rows_count_as_the_history_does(self):
		team = {
			"name": self.team,
			"stages": get_team_stages(self.team),
			"members": [self.seller],
			"amounts": 0,
			"currency": None,
		}
		contacts = [make_contact() for _ in range(3)]
		with no_commits():
			_bulk_opportunities(random.Random(5), [team], contacts, [lost_reason()], 200)
		rows, summary = self.figures(from_date=add_days(today(), -HISTORY_DAYS - 1))  # the demo's year
		self.assertEqual(summary[0]["value"], frappe.db.count("Pipeline Opportunity", {"team": self.team}))
		self.assertTrue(all(row["reached"] for row in rows))
		self.stage_lost_from()

	def test_a_stage_keeps_its_bit(self):
		stages = get_team_stages(self.team)
		self.assertEqual([stage.reach_bit for stage in stages], list(range(1, len(stages) + 1)))
		stage = frappe.get_doc("Funnel Stage", stages[2].name)
		stage.reach_bit = 40
		stage.probability = 45
		stage.save()
		self.assertEqual(frappe.db.get_value("Funnel Stage", stage.name, "reach_bit"), 3)
		doc = make_opportunity(self.team)
		doc.stages_reached = 127  # a client cannot claim stages either
		doc.stage = stages[2].name
		doc.save()
		self.assertEqual(doc.stages_reached, 0b101)

	def test_a_team_whose_stages_lack_a_bit_of_their_own_is_read_from_the_history(self):
		doc = self.walk("Proposal")
		filters = frappe._dict(team=self.team)
		validate_team_filters(filters)
		# the 64th stage of a team gets no bit; two stages created at the same instant may share one
		for bit in (0, frappe.db.get_value("Funnel Stage", self.stage("New"), "reach_bit")):
			frappe.db.set_value("Funnel Stage", self.stage("Proposal"), "reach_bit", bit)
			stages = get_team_stages(self.team)
			with patch(
				"pipeline_app.pipeline_app.report.pipeline_funnel_conversion.pipeline_funnel_conversion"
				".get_depths_from_history",
				wraps=get_depths_from_history,
			) as history:
				depths = get_depths(self.team, stages, filters)
			history.assert_called_once()
			self.assertEqual([row["reached"] for row in summarise(stages, depths)][:4], [1, 1, 1, 0])
		self.assertEqual(doc.stage, self.stage("Proposal"))


class TestWinLossFromClosedFromStage(JourneyCase):
	def test_stage_lost_from_is_the_history_s(self):
		self.journeys()
		kept = self.stage_lost_from()
		new, negotiation, closing = (self.stage(name) for name in ("New", "Negotiation", "Closing"))
		self.assertEqual(kept[(negotiation, "Lost")], 1)
		self.assertEqual(kept[(closing, "Lost")], 1)  # reopened in Closing, lost from there
		self.assertEqual(kept[(new, "Won")], 2)  # won from New: by status and dropped on Won
		self.assertEqual(kept[(negotiation, "Won")], 1)  # lost, reopened, then dropped on Won
		rows = win_loss({"team": self.team, "group_by": "Stage Lost From"})[1]
		self.assertEqual(
			{row["group_value"]: (row["won"], row["lost"], row["abandoned"]) for row in rows},
			{
				key: tuple(kept.get((key, status), 0) for status in ("Won", "Lost", "Abandoned"))
				for key in {key for key, _status in kept}
			},
		)


class TestBackfill(JourneyCase):
	def test_the_patch_reproduces_the_live_figures_from_the_history(self):
		from pipeline_app.patches.v0_6.record_journeys import execute as backfill

		self.journeys()
		live = self.figures(), self.figures(opportunity_owner=self.seller), self.stage_lost_from()
		live_reports = (
			conversion({"team": self.team}),
			win_loss({"team": self.team, "group_by": "Stage Lost From"}),
		)
		# as an older version left the site: no bits, nothing kept on the opportunities
		frappe.db.sql(
			"update `tabFunnel Stage` set reach_bit = 0 where team in %s", ((self.team, self.other),)
		)
		frappe.db.sql(
			"""update `tabPipeline Opportunity` set stages_reached = 0, closed_from_stage = null
			where team in %s""",
			((self.team, self.other),),
		)
		self.assertEqual(
			frappe.db.count("Pipeline Opportunity", {"team": self.team, "stages_reached": (">", 0)}), 0
		)
		with no_commits():
			backfill()
		self.assertEqual(
			(self.figures(), self.figures(opportunity_owner=self.seller), self.stage_lost_from()), live
		)
		self.assertEqual(
			(conversion({"team": self.team}), win_loss({"team": self.team, "group_by": "Stage Lost From"})),
			live_reports,
		)
		# and a save after the patch goes on from there
		doc = self.walk("Closing")
		self.assertEqual(self.reached()["Closing"], live[0][0][4]["reached"] + 1)
		self.assertTrue(doc.stages_reached)
