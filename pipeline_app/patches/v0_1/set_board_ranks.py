"""Gives opportunities created before the Pipeline Board a board position (newest on top) and a
weighted amount. Runs once per site; one statement per column of cards."""

import frappe

from pipeline_app.board import RANK_GAP


def execute():
	frappe.db.sql(
		"""update `tabPipeline Opportunity`
		set weighted_amount = ifnull(amount, 0) * ifnull(probability, 0) / 100
		where weighted_amount is null or weighted_amount = 0"""
	)
	frappe.db.sql(
		"""update `tabPipeline Opportunity` opportunity
		join (
			select name, row_number() over (partition by team, stage order by creation desc, name) as position
			from `tabPipeline Opportunity`
		) ranked on ranked.name = opportunity.name
		set opportunity.board_rank = ranked.position * %(gap)s
		where opportunity.board_rank is null""",
		{"gap": RANK_GAP},
	)
