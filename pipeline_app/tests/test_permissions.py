"""The permission matrix, over HTTP against the running bench: two teams, a user of each, a manager,
a guest, on every read and write path Frappe exposes (REST, frappe.client.*, reportview, link search,
export, the desk form loader, sidebar group-by counts)."""

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, random_string, today

from pipeline_app.tests.factories import make_opportunity, make_team, make_user, purge_team
from pipeline_app.tests.http_client import Client, message

OPP = "/api/resource/Pipeline Opportunity"


class TestPermissionMatrix(FrappeTestCase):
	"""Data is committed (the web server is another process) and removed in tearDownClass."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		suffix = random_string(6).lower()
		cls.alice = make_user(f"alice.{suffix}@pipeline.test")
		cls.bob = make_user(f"bob.{suffix}@pipeline.test")
		cls.manager = make_user(f"manager.{suffix}@pipeline.test", roles=("Pipeline Manager",))
		cls.team_a = make_team(f"Alpha {suffix}", members=[cls.alice]).name
		cls.team_b = make_team(f"Beta {suffix}", members=[cls.bob], template="Deal funnel").name
		cls.opp_a = make_opportunity(cls.team_a, title=f"Alpha deal {suffix}").name
		cls.opp_b = make_opportunity(cls.team_b, title=f"Beta secret {suffix}").name
		cls.appointment_b = (
			frappe.get_doc(
				{
					"doctype": "Pipeline Appointment",
					"opportunity": cls.opp_b,
					"starts_at": add_days(today(), 2),
				}
			)
			.insert()
			.name
		)
		frappe.db.commit()
		cls.as_alice = Client.as_user(cls.alice)
		cls.as_bob = Client.as_user(cls.bob)
		cls.as_manager = Client.as_user(cls.manager)
		cls.as_guest = Client()

	@classmethod
	def tearDownClass(cls):
		frappe.set_user("Administrator")
		# users stay (Frappe refuses to delete users while no other System Manager exists); names are unique
		purge_team(cls.team_a, cls.team_b)
		super().tearDownClass()

	def opportunity(self, name):
		"""The stored record, read in a fresh snapshot (the web server commits in its own process)."""
		frappe.db.rollback()
		return frappe.db.get_value(
			"Pipeline Opportunity", name, ["team", "stage", "title", "modified"], as_dict=True
		)

	def assertDenied(self, response):
		self.assertEqual(response.status_code, 403, response.text[:500])

	def assertHidden(self, response):
		"""Another team's record answers as one that does not exist (test_isolation compares the
		two answers in full)."""
		self.assertEqual(response.status_code, 404, response.text[:500])
		self.assertEqual(response.json().get("exc_type"), "DoesNotExistError")

	def names(self, response):
		return {row["name"] for row in message(response) or response.json()["data"]}

	# --- REST
	def test_rest_list_shows_only_own_team(self):
		rows = self.as_alice.get(OPP, limit_page_length=0).json()["data"]
		names = {row["name"] for row in rows}
		self.assertIn(self.opp_a, names)
		self.assertNotIn(self.opp_b, names)
		self.assertTrue(
			all(frappe.db.get_value("Pipeline Opportunity", n, "team") == self.team_a for n in names)
		)

	def test_rest_list_filtered_to_other_team_is_empty(self):
		rows = self.as_alice.get(OPP, filters=frappe.as_json([["team", "=", self.team_b]])).json()["data"]
		self.assertEqual(rows, [])

	def test_rest_get_other_team_is_denied(self):
		self.assertHidden(self.as_alice.get(f"{OPP}/{self.opp_b}"))
		self.assertEqual(self.as_bob.get(f"{OPP}/{self.opp_b}").json()["data"]["name"], self.opp_b)

	def test_rest_put_other_team_is_denied_and_changes_nothing(self):
		before = self.opportunity(self.opp_b)
		self.assertHidden(self.as_alice.put(f"{OPP}/{self.opp_b}", {"title": "hacked"}))
		self.assertEqual(self.opportunity(self.opp_b), before)

	def test_rest_put_cannot_pull_a_record_into_own_team(self):
		before = self.opportunity(self.opp_b)
		self.assertHidden(self.as_alice.put(f"{OPP}/{self.opp_b}", {"team": self.team_a}))
		self.assertEqual(self.opportunity(self.opp_b), before)

	def test_rest_put_cannot_push_a_record_to_a_team_one_is_not_in(self):
		before = self.opportunity(self.opp_a)
		self.assertDenied(self.as_alice.put(f"{OPP}/{self.opp_a}", {"team": self.team_b}))
		self.assertEqual(self.opportunity(self.opp_a), before)

	def test_rest_put_own_team_applies_the_rules(self):
		response = self.as_alice.put(f"{OPP}/{self.opp_a}", {"status": "Lost"})
		self.assertEqual(response.status_code, 417, response.text[:300])
		self.assertIn("lost reason", response.json()["_server_messages"].lower())
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value("Pipeline Opportunity", self.opp_a, "status"), "Open")

	def test_writes_carrying_a_stale_modified_are_refused(self):
		"""REST PUT and frappe.client.set_value are last-write-wins unless the client sends the
		`modified` it read: then a write over someone else's newer change is refused."""
		read = frappe.db.get_value("Pipeline Opportunity", self.opp_a, "modified")
		fresh = self.as_alice.put(f"{OPP}/{self.opp_a}", {"title": "First edit", "modified": str(read)})
		self.assertEqual(fresh.status_code, 200, fresh.text[:300])
		for response in (
			self.as_alice.put(f"{OPP}/{self.opp_a}", {"title": "Stale edit", "modified": str(read)}),
			self.as_alice.call(
				"frappe.client.set_value",
				doctype="Pipeline Opportunity",
				name=self.opp_a,
				fieldname={"title": "Stale edit", "modified": str(read)},
			),
		):
			self.assertEqual(response.status_code, 417, response.text[:300])
			self.assertEqual(response.json()["exc_type"], "TimestampMismatchError")
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value("Pipeline Opportunity", self.opp_a, "title"), "First edit")

	def test_rest_post_into_other_team_is_denied(self):
		response = self.as_alice.post(OPP, {"title": "sneaky", "team": self.team_b})
		self.assertDenied(response)
		frappe.db.rollback()
		self.assertFalse(frappe.db.exists("Pipeline Opportunity", {"title": "sneaky"}))

	def test_rest_post_into_own_team_lands_in_first_stage(self):
		response = self.as_alice.post(OPP, {"title": f"new {random_string(4)}", "team": self.team_a})
		data = response.json()["data"]
		self.assertEqual(
			data["stage"], frappe.db.get_value("Funnel Stage", {"team": self.team_a, "stage_name": "New"})
		)
		self.assertEqual(data["owner"], self.alice)

	def test_rest_post_with_stage_of_other_team_is_refused(self):
		stage_b = frappe.db.get_value("Funnel Stage", {"team": self.team_b, "stage_name": "New Deal"})
		response = self.as_alice.post(OPP, {"title": "cross stage", "team": self.team_a, "stage": stage_b})
		self.assertIn(response.status_code, (403, 417))
		frappe.db.rollback()
		self.assertFalse(frappe.db.exists("Pipeline Opportunity", {"title": "cross stage"}))

	def test_rest_delete_needs_manager(self):
		self.assertDenied(self.as_alice.delete(f"{OPP}/{self.opp_a}"))
		frappe.db.rollback()
		self.assertTrue(frappe.db.exists("Pipeline Opportunity", self.opp_a))
		doomed = make_opportunity(self.team_a, title="doomed").name
		frappe.db.commit()
		self.assertEqual(self.as_manager.delete(f"{OPP}/{doomed}").status_code, 202)
		frappe.db.rollback()
		self.assertFalse(frappe.db.exists("Pipeline Opportunity", doomed))

	# --- frappe.client
	def test_client_get_list_and_get_value(self):
		names = {
			r["name"]
			for r in message(
				self.as_alice.call(
					"frappe.client.get_list", "GET", doctype="Pipeline Opportunity", limit_page_length=0
				)
			)
		}
		self.assertIn(self.opp_a, names)
		self.assertNotIn(self.opp_b, names)
		value = message(
			self.as_alice.call(
				"frappe.client.get_value",
				"GET",
				doctype="Pipeline Opportunity",
				fieldname="title",
				filters=self.opp_b,
			)
		)
		self.assertFalse(value)

	def test_client_get_count_counts_only_readable_rows(self):
		count = message(self.as_alice.call("frappe.client.get_count", "GET", doctype="Pipeline Opportunity"))
		self.assertEqual(count, frappe.db.count("Pipeline Opportunity", {"team": self.team_a}))
		other = message(
			self.as_alice.call(
				"frappe.client.get_count",
				"GET",
				doctype="Pipeline Opportunity",
				filters={"team": self.team_b},
			)
		)
		self.assertEqual(other, 0)
		# filters as a list, as Frappe's own desk and integrators send them too (an argument annotated
		# `str | dict | list` takes either shape)
		listed = self.as_alice.call(
			"frappe.client.get_count",
			"GET",
			doctype="Pipeline Opportunity",
			filters=[["Pipeline Opportunity", "team", "in", [self.team_a, self.team_b]]],
		)
		self.assertEqual(listed.status_code, 200, listed.text[:300])
		self.assertEqual(message(listed), count)
		self.assertEqual(
			message(
				self.as_manager.call(
					"frappe.client.get_count",
					"GET",
					doctype="Pipeline Opportunity",
					filters={"team": self.team_b},
				)
			),
			1,
		)

	def test_client_get_count_denied_to_guest(self):
		response = self.as_guest.call("frappe.client.get_count", "GET", doctype="Pipeline Opportunity")
		self.assertDenied(response)

	def test_client_get_and_set_value_and_delete_other_team_are_denied(self):
		before = self.opportunity(self.opp_b)
		self.assertHidden(
			self.as_alice.call("frappe.client.get", "GET", doctype="Pipeline Opportunity", name=self.opp_b)
		)
		self.assertHidden(
			self.as_alice.call(
				"frappe.client.set_value",
				doctype="Pipeline Opportunity",
				name=self.opp_b,
				fieldname="title",
				value="x",
			)
		)
		self.assertHidden(
			self.as_alice.call(
				"frappe.client.set_value",
				doctype="Pipeline Opportunity",
				name=self.opp_b,
				fieldname="team",
				value=self.team_a,
			)
		)
		self.assertHidden(
			self.as_alice.call("frappe.client.delete", doctype="Pipeline Opportunity", name=self.opp_b)
		)
		self.assertEqual(self.opportunity(self.opp_b), before)

	# --- desk paths
	def test_reportview_and_its_count(self):
		response = self.as_alice.call(
			"frappe.desk.reportview.get",
			doctype="Pipeline Opportunity",
			fields=["name", "title"],
			page_length=500,
		)
		result = message(response)
		names = {row[result["keys"].index("name")] for row in result["values"]}
		self.assertIn(self.opp_a, names)
		self.assertNotIn(self.opp_b, names)
		count = message(
			self.as_alice.call("frappe.desk.reportview.get_count", doctype="Pipeline Opportunity")
		)
		self.assertEqual(count, frappe.db.count("Pipeline Opportunity", {"team": self.team_a}))

	def test_sidebar_group_by_counts(self):
		groups = message(
			self.as_alice.call(
				"frappe.desk.listview.get_group_by_count",
				doctype="Pipeline Opportunity",
				current_filters=[],
				field="team",
			)
		)
		self.assertEqual({g["name"] for g in groups}, {self.team_a})

	def test_link_search_shows_only_own_team(self):
		for doctype, own, other in (
			("Pipeline Opportunity", self.opp_a, self.opp_b),
			("Pipeline Team", self.team_a, self.team_b),
		):
			results = message(
				self.as_alice.call("frappe.desk.search.search_link", doctype=doctype, txt="", page_length=500)
			)
			values = {r["value"] for r in results}
			self.assertIn(own, values, doctype)
			self.assertNotIn(other, values, doctype)
		stages = message(
			self.as_alice.call(
				"frappe.desk.search.search_link", doctype="Funnel Stage", txt="", page_length=500
			)
		)
		self.assertTrue(stages)
		self.assertTrue(
			all(frappe.db.get_value("Funnel Stage", s["value"], "team") == self.team_a for s in stages)
		)

	def test_validate_link_answers_other_team_records_as_missing(self):
		for doctype, own, other in (
			("Pipeline Opportunity", self.opp_a, self.opp_b),
			("Pipeline Team", self.team_a, self.team_b),
		):
			own_answer = message(
				self.as_alice.call(
					"frappe.client.validate_link", doctype=doctype, docname=own, fields='["name"]'
				)
			)
			self.assertEqual(own_answer["name"], own, doctype)
			other_answer = message(
				self.as_alice.call(
					"frappe.client.validate_link", doctype=doctype, docname=other, fields='["name"]'
				)
			)
			missing = message(
				self.as_alice.call(
					"frappe.client.validate_link",
					doctype=doctype,
					docname="no such record",
					fields='["name"]',
				)
			)
			self.assertFalse((other_answer or {}).get("name"), doctype)
			self.assertEqual(other_answer, missing, doctype)
		# the owner of the record still gets it
		answer = message(
			self.as_bob.call(
				"frappe.client.validate_link", doctype="Pipeline Opportunity", docname=self.opp_b
			)
		)
		self.assertEqual(answer["name"], self.opp_b)

	def test_a_seller_cannot_share_or_assign_a_record_outside_the_team(self):
		"""Frappe lets a share override row permissions: sellers may not share (managers may), so
		neither a share nor an assignment (which shares) can hand a record to another team."""
		shared = self.as_alice.call(
			"frappe.share.add", doctype="Pipeline Opportunity", name=self.opp_a, user=self.bob, read=1
		)
		self.assertDenied(shared)
		assigned = self.as_alice.call(
			"frappe.desk.form.assign_to.add",
			doctype="Pipeline Opportunity",
			name=self.opp_a,
			assign_to=[self.bob],
		)
		self.assertDenied(assigned)
		frappe.db.rollback()
		self.assertFalse(frappe.db.exists("DocShare", {"share_name": self.opp_a, "user": self.bob}))
		self.assertFalse(frappe.db.exists("ToDo", {"reference_name": self.opp_a, "allocated_to": self.bob}))
		self.assertHidden(self.as_bob.get(f"{OPP}/{self.opp_a}"))

	def test_portal_list_api_shows_only_own_team(self):
		listed = self.as_alice.call("frappe.www.list.get_list_data", "GET", doctype="Pipeline Opportunity")
		self.assertEqual(self.names(listed) & {self.opp_a, self.opp_b}, {self.opp_a})
		guest = self.as_guest.call("frappe.www.list.get_list_data", "GET", doctype="Pipeline Opportunity")
		self.assertDenied(guest)
		self.assertNotIn(self.opp_a, guest.text)

	def test_owner_search_lists_members_of_a_readable_team_only(self):
		def search(client, team, txt=""):
			return client.call(
				"frappe.desk.search.search_link",
				doctype="User",
				txt=txt,
				query="pipeline_app.api.search_team_members",
				filters={"team": team},
			)

		found = {row["value"] for row in message(search(self.as_alice, self.team_a))}
		self.assertEqual(found, {self.alice})
		self.assertEqual(message(search(self.as_alice, self.team_a, "no-such-member")), [])
		# Frappe's search_link answers a PermissionError of the query as a 404 "Invalid Method" page
		refused = search(self.as_alice, self.team_b)
		self.assertIn(refused.status_code, (403, 404), refused.text[:300])
		self.assertNotIn(self.bob, refused.text)
		direct = self.as_alice.call(
			"pipeline_app.api.search_team_members",
			"GET",
			doctype="User",
			txt="",
			searchfield="name",
			start=0,
			page_len=20,
			filters={"team": self.team_b},
		)
		self.assertHidden(direct)
		manager_view = {row["value"] for row in message(search(self.as_manager, self.team_b))}
		self.assertEqual(manager_view, {self.bob})

	def test_export_contains_only_own_team(self):
		response = self.as_alice.call(
			"frappe.desk.reportview.export_query",
			doctype="Pipeline Opportunity",
			file_format_type="CSV",
			fields=["`tabPipeline Opportunity`.`name`", "`tabPipeline Opportunity`.`title`"],
			title="export",
		)
		self.assertEqual(response.status_code, 200, response.text[:300])
		self.assertIn(self.opp_a, response.text)
		self.assertNotIn(self.opp_b, response.text)
		self.assertNotIn("Beta secret", response.text)

	def test_desk_form_load_other_team_is_denied(self):
		"""The form loader answers a missing record with an empty list: so it answers another team's."""
		response = self.as_alice.call(
			"frappe.desk.form.load.getdoc", "GET", doctype="Pipeline Opportunity", name=self.opp_b
		)
		self.assertEqual((response.status_code, response.json()), (200, {"message": []}))
		self.assertNotIn("Beta secret", response.text)

	# --- other doctypes
	def test_appointments_and_history_are_team_scoped(self):
		self.assertHidden(self.as_alice.get(f"/api/resource/Pipeline Appointment/{self.appointment_b}"))
		rows = self.as_alice.get("/api/resource/Pipeline Appointment", limit_page_length=0).json()["data"]
		self.assertNotIn(self.appointment_b, {r["name"] for r in rows})
		history = self.as_alice.get(
			"/api/resource/Pipeline Stage Change", fields=frappe.as_json(["opportunity"]), limit_page_length=0
		).json()["data"]
		self.assertNotIn(self.opp_b, {r["opportunity"] for r in history})
		self.assertIn(self.opp_a, {r["opportunity"] for r in history})

	def test_appointment_cannot_be_attached_to_other_team(self):
		response = self.as_alice.post(
			"/api/resource/Pipeline Appointment",
			{"opportunity": self.opp_b, "starts_at": f"{add_days(today(), 3)} 10:00:00"},
		)
		self.assertDenied(response)
		frappe.db.rollback()
		self.assertEqual(frappe.db.count("Pipeline Appointment", {"opportunity": self.opp_b}), 1)

	def test_only_managers_configure_teams_and_stages(self):
		self.assertHidden(self.as_alice.get(f"/api/resource/Pipeline Team/{self.team_b}"))
		self.assertEqual(self.as_alice.get(f"/api/resource/Pipeline Team/{self.team_a}").status_code, 200)
		self.assertDenied(
			self.as_alice.put(f"/api/resource/Pipeline Team/{self.team_a}", {"abandon_after_days": 3})
		)
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value("Pipeline Team", self.team_a, "abandon_after_days"), 0)
		self.assertDenied(
			self.as_alice.post("/api/resource/Funnel Stage", {"team": self.team_a, "stage_name": "Extra"})
		)
		frappe.db.rollback()
		self.assertFalse(frappe.db.exists("Funnel Stage", {"team": self.team_a, "stage_name": "Extra"}))
		self.assertDenied(
			self.as_alice.post("/api/resource/Pipeline Team", {"team_name": f"Mine {random_string(4)}"})
		)
		response = self.as_manager.post(
			"/api/resource/Funnel Stage", {"team": self.team_a, "stage_name": "Extra", "stage_type": "Open"}
		)
		self.assertEqual(response.status_code, 200, response.text[:300])

	def test_manager_sees_every_team(self):
		names = {r["name"] for r in self.as_manager.get(OPP, limit_page_length=0).json()["data"]}
		self.assertTrue({self.opp_a, self.opp_b} <= names)

	def test_guest_sees_nothing(self):
		self.assertDenied(self.as_guest.get(OPP))
		self.assertHidden(self.as_guest.get(f"{OPP}/{self.opp_a}"))
		self.assertDenied(self.as_guest.post(OPP, {"title": "guest", "team": self.team_a}))

	def test_rest_team_template_creates_stages(self):
		name = f"Rest Team {random_string(5)}"
		response = self.as_manager.post(
			"/api/resource/Pipeline Team", {"team_name": name, "funnel_template": "Deal funnel"}
		)
		self.assertEqual(response.status_code, 200, response.text[:300])
		try:
			frappe.db.rollback()
			self.assertEqual(frappe.db.count("Funnel Stage", {"team": name}), 6)
		finally:
			frappe.delete_doc("Pipeline Team", name, force=True)
			frappe.db.commit()
