# Copyright (c) 2026, Pipeline App contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_to_date, now_datetime

from pipeline_app.tests.factories import make_contact, make_opportunity, make_team


class TestPipelineAppointment(FrappeTestCase):
	def test_appointment_takes_team_and_contact_from_its_opportunity(self):
		team = make_team().name
		contact = make_contact()
		opportunity = make_opportunity(team, contact=contact)
		appointment = frappe.get_doc(
			{
				"doctype": "Pipeline Appointment",
				"opportunity": opportunity.name,
				"team": "forged",
				"starts_at": add_to_date(now_datetime(), days=1),
			}
		).insert()
		self.assertEqual((appointment.team, appointment.contact), (team, contact))
		self.assertEqual(appointment.status, "Scheduled")

	def test_appointment_must_end_after_it_starts(self):
		opportunity = make_opportunity(make_team().name)
		start = add_to_date(now_datetime(), days=1)
		with self.assertRaises(frappe.ValidationError):
			frappe.get_doc(
				{
					"doctype": "Pipeline Appointment",
					"opportunity": opportunity.name,
					"starts_at": start,
					"ends_at": add_to_date(start, hours=-1),
				}
			).insert()
		self.assertFalse(frappe.db.exists("Pipeline Appointment", {"opportunity": opportunity.name}))
