"""Permission-checked list queries kept per process (pipeline_app/list_queries.py): the kept text is
always the one `frappe.get_list` builds now, whatever changed since it was kept."""

import frappe
from frappe.custom.doctype.property_setter.property_setter import make_property_setter
from frappe.permissions import add_permission
from frappe.tests.utils import FrappeTestCase
from frappe.utils import now_datetime

from pipeline_app import list_queries
from pipeline_app.list_queries import permitted_query
from pipeline_app.tests.factories import make_opportunity, make_team, make_user
from pipeline_app.tests.test_board import new_request

DOCTYPE = "Pipeline Opportunity"


class TestPermittedQuery(FrappeTestCase):
	def setUp(self):
		self.seller = make_user()
		self.team = make_team(members=[self.seller]).name
		self.other_team = make_team().name
		self.addCleanup(frappe.set_user, "Administrator")
		self.arguments = {
			"filters": [["team", "in", [self.team, self.other_team]], ["status", "=", "Open"]],
			"fields": ["name", "title", "contact_phone"],
			"order_by": f"`tab{DOCTYPE}`.`name` asc",
			"limit_page_length": 20,
		}

	def as_seller(self, change=None) -> str:
		"""The seller's kept text, after `change` (made as Administrator): checked against the text
		Frappe builds now, in a new request."""
		if change:
			frappe.set_user("Administrator")
			change()
		frappe.set_user(self.seller)
		new_request()
		kept = permitted_query(DOCTYPE, **self.arguments)
		new_request()
		self.assertEqual(kept, frappe.get_list(DOCTYPE, run=False, **self.arguments))
		return kept

	def test_kept_text_follows_teams_user_permissions_shares_roles_and_customizations(self):
		first = self.as_seller()
		self.assertIn(frappe.db.escape(self.team), first)
		self.assertEqual(self.as_seller(), first)  # the same inputs: the kept text

		def join_other_team():
			team = frappe.get_doc("Pipeline Team", self.other_team)
			team.append("members", {"user": self.seller})
			team.save()

		joined = self.as_seller(join_other_team)
		self.assertNotEqual(joined, first)

		def restrict():
			frappe.get_doc(
				{
					"doctype": "User Permission",
					"user": self.seller,
					"allow": "Pipeline Team",
					"for_value": self.team,
				}
			).insert(ignore_permissions=True)

		restricted = self.as_seller(restrict)
		self.assertNotEqual(restricted, joined)

		frappe.set_user("Administrator")
		shared_card = make_opportunity(self.other_team)

		def share():
			frappe.share.add_docshare(
				DOCTYPE, shared_card.name, self.seller, read=1, flags={"ignore_share_permission": True}
			)

		# with a User Permission, Frappe adds the rows shared with the user
		shared = self.as_seller(share)
		self.assertIn(frappe.db.escape(shared_card.name), shared)

		phone_reader = f"Phone reader {frappe.generate_hash(length=6)}"

		def hide_phone():
			# the phone at permission level 1, which managers and a new role read
			make_property_setter(DOCTYPE, "contact_phone", "permlevel", "1", "Int")
			add_permission(DOCTYPE, "Pipeline Manager", 1)
			frappe.get_doc({"doctype": "Role", "role_name": phone_reader}).insert(ignore_permissions=True)
			add_permission(DOCTYPE, phone_reader, 1)
			frappe.clear_cache(doctype=DOCTYPE)

		self.addCleanup(frappe.clear_cache, doctype=DOCTYPE)
		self.addCleanup(frappe.db.rollback)
		hidden = self.as_seller(hide_phone)
		self.assertNotIn("contact_phone", hidden)

		def give_phone_role():
			# a role that changes nothing but the fields read
			frappe.get_doc("User", self.seller).add_roles(phone_reader)

		with_phone = self.as_seller(give_phone_role)
		self.assertIn("contact_phone", with_phone)
		self.assertEqual(with_phone.replace(", `contact_phone`", ""), hidden)

		def make_manager():
			frappe.get_doc("User", self.seller).add_roles("Pipeline Manager")

		managed = self.as_seller(make_manager)
		self.assertNotEqual(managed, with_phone)  # managers read every team: no team rule

	def test_queries_that_join_are_built_every_time(self):
		frappe.set_user(self.seller)
		list_queries._kept.clear()
		arguments = {"fields": ["name", "contact.email_id"], "filters": {"team": self.team}}
		self.assertEqual(
			permitted_query(DOCTYPE, **arguments), frappe.get_list(DOCTYPE, run=False, **arguments)
		)
		self.assertEqual(list_queries._kept, {})
		permitted_query(DOCTYPE, **self.arguments)
		self.assertEqual(len(list_queries._kept), 1)

	def test_queries_naming_an_instant_are_not_kept(self):
		"""The board's follow-up filters compare with now: a text built for one instant is never asked
		for again, so it is not kept."""
		frappe.set_user(self.seller)
		list_queries._kept.clear()
		arguments = {
			**self.arguments,
			"filters": [*self.arguments["filters"], ["follow_up_on", "<=", now_datetime()]],
		}
		self.assertEqual(
			permitted_query(DOCTYPE, **arguments), frappe.get_list(DOCTYPE, run=False, **arguments)
		)
		self.assertEqual(list_queries._kept, {})

	def test_without_permissions_and_without_read_permission(self):
		new_request()
		self.assertEqual(
			permitted_query(DOCTYPE, ignore_permissions=True, **self.arguments),
			frappe.get_list(DOCTYPE, run=False, ignore_permissions=True, **self.arguments),
		)
		frappe.set_user(make_user(roles=()))
		new_request()
		with self.assertRaises(frappe.PermissionError):
			permitted_query(DOCTYPE, **self.arguments)
