"""The board's column totals kept as signed rows: exact after every kind of change (checked against
a count of the opportunities), folded and rebuilt without losing a change another transaction has
not committed yet, and what the board reads its totals from."""

import subprocess

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, flt, now_datetime

from pipeline_app import api
from pipeline_app.column_counts import DOCTYPE, fold, rebuild
from pipeline_app.tests.factories import (
	make_opportunity,
	make_team,
	make_user,
	other_connection,
	purge_team,
	stage_named,
)


def counted(team: str) -> dict:
	"""What the opportunities of the team add up to, per (stage, status)."""
	rows = frappe.db.sql(
		"""select stage, status, count(*), sum(ifnull(amount, 0)), sum(ifnull(weighted_amount, 0))
		from `tabPipeline Opportunity` where team = %s group by stage, status""",
		team,
	)
	return {(stage, status): (n, flt(a, 2), flt(w, 2)) for stage, status, n, a, w in rows}


def kept(team: str) -> dict:
	"""What the column count rows of the team add up to, per (stage, status)."""
	rows = frappe.db.sql(
		f"""select stage, status, sum(count), sum(amount), sum(weighted_amount)
		from `tab{DOCTYPE}` where team = %s group by stage, status""",
		team,
	)
	return {(stage, status): (int(n), flt(a, 2), flt(w, 2)) for stage, status, n, a, w in rows if n}


class ColumnCountTestCase(FrappeTestCase):
	def setUp(self):
		self.seller = make_user()
		self.team = make_team(members=[self.seller], deal_amount_enabled=1).name
		self.other_team = make_team(members=[self.seller], deal_amount_enabled=1).name
		self.new = stage_named(self.team, "New")
		self.proposal = stage_named(self.team, "Proposal")

	def assertExact(self, *teams):
		for team in teams or (self.team,):
			self.assertEqual(kept(team), counted(team), team)


class TestEveryChange(ColumnCountTestCase):
	def test_inserts_moves_edits_outcomes_team_changes_and_deletes(self):
		first = make_opportunity(self.team, amount=100)
		second = make_opportunity(self.team, amount=50, stage=self.proposal)
		self.assertExact()
		self.assertEqual(kept(self.team)[(self.new, "Open")][:2], (1, 100))

		frappe.set_user(self.seller)
		api.move_opportunity(first.name, self.proposal)
		self.assertExact()
		api.update_opportunity(second.name, {"amount": 70})
		self.assertExact()
		frappe.set_user("Administrator")

		second.reload()
		second.status = "On Hold"
		second.on_hold_until = add_days(now_datetime(), 3)
		second.save()
		self.assertExact()

		second.reload()
		second.team = self.other_team
		second.stage = stage_named(self.other_team, "Qualification")
		second.save()
		self.assertExact(self.team, self.other_team)

		frappe.delete_doc("Pipeline Opportunity", first.name)
		self.assertExact(self.team, self.other_team)
		self.assertEqual(kept(self.team), {})

	def test_a_rolled_back_change_takes_its_rows_with_it(self):
		make_opportunity(self.team, amount=10)
		frappe.db.savepoint("column_counts")
		make_opportunity(self.team, amount=5)
		frappe.db.rollback(save_point="column_counts")
		self.assertExact()
		self.assertEqual(kept(self.team)[(self.new, "Open")][:2], (1, 10))


class TestBulkChanges(ColumnCountTestCase):
	"""Changes that commit: the teams are purged afterwards."""

	def tearDown(self):
		frappe.db.rollback()
		purge_team(self.team)
		purge_team(self.other_team)

	def test_the_abandonment_job_moves_its_opportunities_to_abandoned(self):
		from pipeline_app.automation.abandonment import abandon_silent_opportunities

		team = make_team(template="Appointment funnel", abandon_after_days=14, deal_amount_enabled=1).name
		self.addCleanup(purge_team, team)
		with self.freeze_time(add_days(now_datetime(), -20)):
			silent = make_opportunity(team, amount=30)
			make_opportunity(team, amount=40)
		make_opportunity(team, amount=1)
		frappe.db.commit()
		self.assertGreaterEqual(abandon_silent_opportunities(), 2)
		frappe.db.rollback()
		self.assertExact(team)
		self.assertEqual(kept(team)[(silent.stage, "Abandoned")][:2], (2, 70))

	def test_a_fold_leaves_one_row_per_group_with_the_same_totals(self):
		docs = [make_opportunity(self.team, amount=10 * i) for i in range(1, 5)]
		frappe.set_user(self.seller)
		for doc in docs[:3]:
			api.move_opportunity(doc.name, self.proposal)
		api.move_opportunity(docs[0].name, self.new)
		frappe.set_user("Administrator")
		frappe.db.commit()
		before = kept(self.team)
		self.assertGreater(frappe.db.count(DOCTYPE, {"team": self.team}), len(before))
		fold(self.team)
		self.assertEqual(kept(self.team), before)
		self.assertEqual(frappe.db.count(DOCTYPE, {"team": self.team}), len(before))
		self.assertExact()

	def test_fold_and_rebuild_leave_an_uncommitted_change_to_its_transaction(self):
		make_opportunity(self.team, amount=10)
		make_opportunity(self.team, amount=20)
		frappe.db.commit()
		writer = other_connection()
		try:
			# a change in flight on another connection: its opportunity and its row, not committed
			writer.sql(
				"""insert into `tabPipeline Opportunity` (name, title, team, stage, status, amount,
				weighted_amount, creation, modified) values ('PO-IN-FLIGHT', 'In flight', %s, %s, 'Open',
				5, 0, now(), now())""",
				(self.team, self.new),
			)
			writer.sql(
				f"""insert into `tab{DOCTYPE}` (name, team, stage, status, count, amount, weighted_amount)
				values ('in-flight-row', %s, %s, 'Open', 1, 5, 0)""",
				(self.team, self.new),
			)
			fold(self.team)
			rebuild([self.team])
			writer.commit()
		finally:
			writer.close()
		frappe.db.rollback()
		self.assertExact()
		self.assertEqual(kept(self.team)[(self.new, "Open")][:2], (3, 35))

	def test_the_rebuild_command_repairs_totals_after_raw_writes(self):
		doc = make_opportunity(self.team, amount=10)
		frappe.db.commit()
		frappe.db.sql("update `tabPipeline Opportunity` set amount = 99 where name = %s", doc.name)
		frappe.db.commit()
		self.assertNotEqual(kept(self.team), counted(self.team))
		result = subprocess.run(
			["bench", "--site", frappe.local.site, "pipeline-rebuild-column-counts", "--team", self.team],
			cwd="..",
			capture_output=True,
			text=True,
			timeout=300,
		)
		self.assertEqual(result.returncode, 0, result.stderr[-2000:])
		frappe.db.rollback()
		self.assertExact()

	def test_a_team_deleted_leaves_no_rows(self):
		doc = make_opportunity(self.other_team, amount=10)
		frappe.delete_doc("Pipeline Opportunity", doc.name)
		frappe.delete_doc("Pipeline Team", self.other_team)
		self.assertEqual(frappe.db.count(DOCTYPE, {"team": self.other_team}), 0)
		frappe.db.commit()


class TestBoardTotals(ColumnCountTestCase):
	def board_totals(self, filters=None):
		from pipeline_app.tests.counters import count_queries

		with count_queries() as queries:
			board = api.get_board(self.team, filters)
		totals = {column["name"]: (column["count"], column["amount"]) for column in board["columns"]}
		counted_opportunities = any("count(`tabPipeline Opportunity`.`name`)" in q for q in queries)
		return {stage: total for stage, total in totals.items() if total[0]}, counted_opportunities

	def test_whole_team_readers_read_the_counts_others_count_their_cards(self):
		restricted = make_user()
		frappe.get_doc("Pipeline Team", self.team).append("members", {"user": restricted}).save()
		mine = make_opportunity(self.team, amount=10, opportunity_owner=self.seller)
		theirs = make_opportunity(self.team, amount=20, stage=self.proposal, opportunity_owner=restricted)
		frappe.get_doc(
			{
				"doctype": "User Permission",
				"user": restricted,
				"allow": "Pipeline Opportunity",
				"for_value": theirs.name,
			}
		).insert(ignore_permissions=True)

		frappe.set_user(self.seller)
		self.assertEqual(self.board_totals(), ({self.new: (1, 10), self.proposal: (1, 20)}, False))
		self.assertEqual(
			self.board_totals({"status": ["Open"]}), ({self.new: (1, 10), self.proposal: (1, 20)}, False)
		)
		self.assertEqual(self.board_totals({"owner": "me"}), ({self.new: (1, 10)}, True))
		frappe.set_user(restricted)
		self.assertEqual(self.board_totals(), ({self.proposal: (1, 20)}, True))
		frappe.set_user("Administrator")  # a manager reads the whole team
		self.assertEqual(self.board_totals(), ({self.new: (1, 10), self.proposal: (1, 20)}, False))
		self.assertTrue(mine.name)
