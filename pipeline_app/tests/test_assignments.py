"""The owner's assignment (Frappe's ToDo) follows the opportunity's owner and outcome."""

import json

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, get_datetime, getdate, today

from pipeline_app.tests.factories import make_opportunity, make_team, make_user


class TestOwnerAssignment(FrappeTestCase):
	def setUp(self):
		self.anna = make_user()
		self.ben = make_user()
		self.team = make_team(members=[self.anna, self.ben]).name

	def todos(self, doc, status=None):
		filters = {"reference_type": doc.doctype, "reference_name": doc.name}
		if status:
			filters["status"] = status
		return {
			(t.allocated_to, t.status)
			for t in frappe.get_all("ToDo", filters=filters, fields=["allocated_to", "status"])
		}

	def assigned(self, doc):
		return json.loads(frappe.db.get_value(doc.doctype, doc.name, "_assign") or "[]")

	def test_the_owner_is_assigned_due_on_the_follow_up(self):
		follow_up = get_datetime(f"{add_days(today(), 3)} 10:00:00")
		doc = make_opportunity(
			self.team, title="Assigned deal", opportunity_owner=self.anna, follow_up_on=follow_up
		)
		self.assertEqual(self.todos(doc), {(self.anna, "Open")})
		self.assertEqual(self.assigned(doc), [self.anna])
		todo = frappe.get_doc("ToDo", {"reference_name": doc.name, "allocated_to": self.anna})
		self.assertEqual((getdate(todo.date), todo.description), (getdate(follow_up), "Assigned deal"))
		self.assertTrue(
			frappe.db.exists(
				"Notification Log", {"for_user": self.anna, "document_name": doc.name, "type": "Assignment"}
			)
		)
		# a new follow-up date moves the to-do
		doc.follow_up_on = get_datetime(f"{add_days(today(), 6)} 09:00:00")
		doc.save()
		self.assertEqual(
			getdate(frappe.db.get_value("ToDo", todo.name, "date")), getdate(add_days(today(), 6))
		)

	def test_an_unowned_opportunity_is_assigned_to_nobody(self):
		doc = make_opportunity(self.team)
		self.assertEqual(self.todos(doc), set())

	def test_a_new_owner_takes_over_the_assignment(self):
		doc = make_opportunity(self.team, opportunity_owner=self.anna)
		doc.opportunity_owner = self.ben
		doc.save()
		self.assertEqual(self.todos(doc), {(self.anna, "Cancelled"), (self.ben, "Open")})
		self.assertEqual(self.assigned(doc), [self.ben])
		doc.opportunity_owner = None
		doc.save()
		self.assertEqual(self.todos(doc, "Open"), set())
		self.assertEqual(self.assigned(doc), [])

	def test_an_outcome_closes_the_assignment_and_reopening_assigns_again(self):
		doc = make_opportunity(self.team, opportunity_owner=self.anna)
		doc.status = "Won"
		doc.save()
		self.assertEqual(self.todos(doc), {(self.anna, "Closed")})
		self.assertEqual(self.assigned(doc), [])
		doc.status = "Open"
		doc.save()
		self.assertEqual(self.todos(doc, "Open"), {(self.anna, "Open")})

	def test_deleting_the_opportunity_removes_its_assignments(self):
		doc = make_opportunity(self.team, opportunity_owner=self.anna)
		frappe.delete_doc(doc.doctype, doc.name)
		self.assertEqual(self.todos(doc), set())
