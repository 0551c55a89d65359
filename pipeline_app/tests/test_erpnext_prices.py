"""With ERPNext, item lines without a rate take it from the team's selling price list (else Selling
Settings' default); a rate given is kept. Runs on the ERPNext site only (marker `erpnext`)."""

import frappe
import pytest
from frappe.tests.utils import FrappeTestCase

from pipeline_app.tests.erpnext_factories import make_erpnext_team, make_item
from pipeline_app.tests.factories import make_opportunity

pytestmark = pytest.mark.erpnext


def make_price_list(item: str, rate: float) -> str:
	name = f"Pipeline List {frappe.generate_hash(length=6)}"
	frappe.get_doc(
		{"doctype": "Price List", "price_list_name": name, "selling": 1, "currency": "USD"}
	).insert()
	frappe.get_doc(
		{"doctype": "Item Price", "item_code": item, "price_list": name, "price_list_rate": rate}
	).insert()
	return name


class TestItemRates(FrappeTestCase):
	def test_lines_without_a_rate_take_the_teams_price_list_rate(self):
		item = make_item()
		team = make_erpnext_team(selling_price_list=make_price_list(item, 120)).name
		doc = make_opportunity(team, items=[{"item": item, "qty": 2}, {"item": item, "qty": 1, "rate": 99}])
		self.assertEqual([(row.rate, row.amount) for row in doc.items], [(120, 240), (99, 99)])
		self.assertEqual(doc.amount, 339)

	def test_without_a_team_price_list_the_selling_settings_default_applies(self):
		default = frappe.db.get_single_value("Selling Settings", "selling_price_list")
		self.assertTrue(default)
		item = make_item(rate=75)  # ERPNext prices a new item's standard rate in the default list
		self.assertEqual(
			frappe.db.get_value("Item Price", {"item_code": item, "price_list": default}, "price_list_rate"),
			75,
		)
		team = make_erpnext_team().name
		doc = make_opportunity(team, items=[{"item": item, "qty": 2}])
		self.assertEqual((doc.items[0].rate, doc.amount), (75, 150))
