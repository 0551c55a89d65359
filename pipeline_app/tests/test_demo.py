"""The demo tells the truth: its site's country, time zone and currency agree with its teams, and
the team whose funnel is about appointments publishes a valid booking page."""

import frappe
from frappe.geo.country_info import get_country_info
from frappe.tests.utils import FrappeTestCase
from frappe.utils import random_string

from pipeline_app.demo import DEMO_BOOKING, DEMO_LOCALE, DEMO_TEAMS
from pipeline_app.tests.factories import make_team, make_user, purge_team


class TestDemoTruth(FrappeTestCase):
	def test_the_sites_country_time_zone_and_currency_agree_with_the_teams(self):
		country = get_country_info(DEMO_LOCALE["country"])
		self.assertEqual(country["currency"], DEMO_LOCALE["currency"])
		self.assertIn(DEMO_LOCALE["time_zone"], country["timezones"])
		currencies = {currency for *_team, currency, _days in DEMO_TEAMS if currency}
		self.assertEqual(currencies, {DEMO_LOCALE["currency"]})

	def test_the_demo_booking_page_is_a_valid_one(self):
		host = make_user()
		team = make_team(f"Demo booking {random_string(5)}", members=[host], template="Appointment funnel")
		self.addCleanup(purge_team, team.name)
		team = frappe.get_doc("Pipeline Team", team.name)
		team.update({**DEMO_BOOKING, "booking_route": f"demo-{random_string(6).lower()}"})
		team.members[0].booking_host = 1
		team.save(ignore_permissions=True)  # validate_booking_settings accepts it
		self.assertEqual(len(team.booking_hours), 5)
