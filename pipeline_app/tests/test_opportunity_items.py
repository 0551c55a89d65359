"""Item lines on an opportunity (bare Frappe: the item is text; with ERPNext a Link to Item): with
lines, the amount is their total, and the team's amount rules still hold."""

import frappe
from frappe.tests.utils import FrappeTestCase

from pipeline_app.tests.factories import make_opportunity, make_team


class TestOpportunityItems(FrappeTestCase):
	def test_amount_is_the_total_of_the_lines(self):
		team = make_team(deal_amount_enabled=1).name
		doc = make_opportunity(
			team,
			amount=5,
			items=[{"item": "Consulting", "qty": 3, "rate": 100}, {"item": "Setup", "qty": 1, "rate": 50}],
		)
		self.assertEqual([row.amount for row in doc.items], [300, 50])
		self.assertEqual(doc.amount, 350)
		doc.items[0].qty = 1
		doc.save()
		self.assertEqual(frappe.db.get_value("Pipeline Opportunity", doc.name, "amount"), 150)

	def test_without_lines_the_amount_is_kept_as_entered(self):
		team = make_team(deal_amount_enabled=1).name
		self.assertEqual(make_opportunity(team, amount=70).amount, 70)

	def test_a_team_without_amounts_keeps_none_from_its_lines(self):
		team = make_team(deal_amount_enabled=0).name
		doc = make_opportunity(team, items=[{"item": "Consulting", "qty": 3, "rate": 100}])
		self.assertEqual(doc.amount, 0)
