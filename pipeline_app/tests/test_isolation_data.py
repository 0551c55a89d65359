"""Team isolation of data Frappe reaches sideways, over HTTP against the running bench, as a seller of
team A against team B: copies of B's private files (a File row naming B's file, an email attachment),
child tables listed with `parent` (line items, booking hours, card fields, digest follows, and the
teams joined through them), appointments left on an opportunity's old team, a removed member's cached
membership, and a guest booking that matches a stored contact. Each refused action changes nothing;
each has a control showing the legitimate user still gets their own data."""

import json
import re
from urllib.parse import parse_qs, quote, urlparse

import frappe
import pytest
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, random_string, today

from pipeline_app.patches.v0_7 import sync_appointment_copies
from pipeline_app.tests.factories import make_contact, make_opportunity, make_team, make_user, purge_team
from pipeline_app.tests.http_client import BASE_URL, Client
from pipeline_app.tests.test_booking import GET_BOOKING, booking_team, reset_rate_limits

pytestmark = pytest.mark.http

EXC_ID = re.compile(r'\\*"__frappe_exc_id\\*": \\*"[0-9a-f]+\\*"')
EMAIL_MAKE = "frappe.core.doctype.communication.email.make"


def normalized(response, *values) -> tuple[int, str]:
	"""Status and body with the given values and the per-request error id taken out."""
	body = EXC_ID.sub("", response.text)
	for value in values:
		body = body.replace(value, "<VALUE>").replace(json.dumps(value)[1:-1], "<VALUE>")
	return response.status_code, body


def rows(response) -> list:
	assert response.status_code == 200, response.text[:500]
	return response.json()["data"]


class TwoTeamsCase(FrappeTestCase):
	"""Teams A (alice) and B (bob) with an opportunity each, a manager; committed (the web server is
	another process), removed in tearDownClass."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		frappe.set_user("Administrator")
		cls.suffix = suffix = random_string(6).lower()
		cls.alice = make_user(f"alice.data.{suffix}@pipeline.test")
		cls.bob = make_user(f"bob.data.{suffix}@pipeline.test")
		cls.manager = make_user(f"manager.data.{suffix}@pipeline.test", roles=("Pipeline Manager",))
		cls.team_a = make_team(f"Data Alpha {suffix}", members=[cls.alice]).name
		cls.team_b = make_team(f"Data Beta {suffix}", members=[cls.bob]).name
		cls.opp_a = make_opportunity(cls.team_a, title=f"Alpha deal {suffix}").name
		cls.opp_b = make_opportunity(cls.team_b, title=f"Beta secret {suffix}").name
		cls.set_up_data()
		frappe.db.commit()
		cls.as_alice = Client.as_user(cls.alice)
		cls.as_bob = Client.as_user(cls.bob)
		cls.as_manager = Client.as_user(cls.manager)

	@classmethod
	def set_up_data(cls):
		pass

	@classmethod
	def tearDownClass(cls):
		frappe.db.rollback()
		frappe.set_user("Administrator")
		purge_team(cls.team_a, cls.team_b)
		super().tearDownClass()


# 1. Copies of another team's private file
# ----------------------------------------


class TestPrivateFileCopies(TwoTeamsCase):
	@classmethod
	def set_up_data(cls):
		# contents of this run only (Frappe stores equal contents under one URL)
		cls.file_b, cls.url_b = cls.private_file(
			cls.opp_b, f"secret-{cls.suffix}.txt", f"beta secret {cls.suffix}".encode()
		)
		cls.file_a, cls.url_a = cls.private_file(
			cls.opp_a, f"alpha-{cls.suffix}.txt", f"alpha own {cls.suffix}".encode()
		)

	@staticmethod
	def private_file(opportunity, file_name, content):
		doc = frappe.get_doc(
			{
				"doctype": "File",
				"file_name": file_name,
				"content": content,
				"attached_to_doctype": "Pipeline Opportunity",
				"attached_to_name": opportunity,
				"is_private": 1,
			}
		).insert(ignore_permissions=True)
		return doc.name, doc.file_url

	def copies_of(self, url) -> list[str]:
		frappe.db.rollback()
		return frappe.get_all("File", filters={"file_url": url}, pluck="name", order_by="name")

	def assertCannotDownload(self, url):
		self.assertIn(self.as_alice.get(url).status_code, (403, 404))

	def test_a_file_row_naming_another_teams_private_file_is_refused_like_a_missing_file(self):
		before = self.copies_of(self.url_b)
		missing = f"/private/files/missing-{self.suffix}.txt"
		for extra in ({}, {"attached_to_doctype": "Pipeline Opportunity", "attached_to_name": self.opp_a}):
			with self.subTest(extra=extra):
				foreign = self.as_alice.post(
					"/api/resource/File", {"file_url": self.url_b, "is_private": 1, **extra}
				)
				absent = self.as_alice.post(
					"/api/resource/File", {"file_url": missing, "is_private": 1, **extra}
				)
				self.assertEqual(foreign.status_code, 403, foreign.text[:300])  # not a 500
				self.assertEqual(normalized(foreign, self.url_b), normalized(absent, missing))
		# the same URL percent-encoded (Frappe unquotes it in File.validate)
		encoded = (
			self.url_b.rsplit("/", 1)[0]
			+ "/"
			+ quote(self.url_b.rsplit("/", 1)[1], safe="").replace("-", "%2D")
		)
		self.assertGreaterEqual(
			self.as_alice.post("/api/resource/File", {"file_url": encoded, "is_private": 1}).status_code, 400
		)
		self.assertEqual(self.copies_of(self.url_b), before)
		self.assertCannotDownload(self.url_b)

	def test_upload_file_naming_another_teams_private_file_is_refused(self):
		before = self.copies_of(self.url_b)
		response = self.as_alice.session.post(
			BASE_URL + "/api/method/upload_file",
			data={
				"doctype": "Pipeline Opportunity",
				"docname": self.opp_a,
				"file_url": self.url_b,
				"is_private": 1,
			},
		)
		self.assertGreaterEqual(response.status_code, 400, response.text[:300])
		self.assertEqual(self.copies_of(self.url_b), before)
		self.assertCannotDownload(self.url_b)

	def email_from_alice(self, subject: str, attachment: str):
		"""Alice's message on her own opportunity, attaching a File by name (not sent)."""
		return self.as_alice.call(
			EMAIL_MAKE,
			recipients=f"somebody.{self.suffix}@example.test",
			subject=subject,
			content="here",
			doctype="Pipeline Opportunity",
			name=self.opp_a,
			send_email=0,
			attachments=[attachment],
		)

	def upload_for_alice(self, word: str):
		"""The form's attach: a private upload with content, to Alice's own opportunity."""
		return self.as_alice.session.post(
			BASE_URL + "/api/method/upload_file",
			data={"doctype": "Pipeline Opportunity", "docname": self.opp_a, "is_private": 1},
			files={"file": (f"{word}-{self.suffix}.txt", f"{word} {self.suffix}".encode(), "text/plain")},
		)

	def test_an_email_attaching_another_teams_file_is_refused(self):
		before = self.copies_of(self.url_b)
		subject = f"leak {self.suffix}"
		response = self.email_from_alice(subject, self.file_b)
		self.assertEqual(response.status_code, 403, response.text[:300])
		self.assertEqual(self.copies_of(self.url_b), before)
		self.assertFalse(frappe.db.exists("Communication", {"subject": subject}))
		self.assertNotIn("beta secret", response.text)
		self.assertCannotDownload(self.url_b)

	def test_an_own_file_cannot_be_pointed_at_another_teams_file(self):
		upload = self.upload_for_alice("mine")
		self.assertEqual(upload.status_code, 200, upload.text[:300])
		mine = upload.json()["message"]
		before = self.copies_of(self.url_b)
		response = self.as_alice.put(f"/api/resource/File/{mine['name']}", {"file_url": self.url_b})
		self.assertGreaterEqual(response.status_code, 400, response.text[:300])
		self.assertEqual(self.copies_of(self.url_b), before)
		self.assertEqual(frappe.db.get_value("File", mine["name"], "file_url"), mine["file_url"])
		self.assertCannotDownload(self.url_b)

	def test_own_files_are_still_attached_copied_and_mailed(self):
		# the form's attach: an upload with content, to her own opportunity
		upload = self.upload_for_alice("form")
		self.assertEqual(upload.status_code, 200, upload.text[:300])
		self.assertEqual(self.as_alice.get(upload.json()["message"]["file_url"]).status_code, 200)
		# an email with her own team's file: Frappe copies the File onto the message
		subject = f"own attachment {self.suffix}"
		response = self.email_from_alice(subject, self.file_a)
		self.assertEqual(response.status_code, 200, response.text[:300])
		frappe.db.rollback()
		communication = frappe.db.get_value("Communication", {"subject": subject})
		self.assertTrue(
			frappe.db.exists(
				"File",
				{
					"attached_to_doctype": "Communication",
					"attached_to_name": communication,
					"file_url": self.url_a,
				},
			)
		)
		# a File row naming her own team's file, and the library attach of it
		copy = self.as_alice.post(
			"/api/resource/File",
			{
				"file_url": self.url_a,
				"is_private": 1,
				"attached_to_doctype": "Pipeline Opportunity",
				"attached_to_name": self.opp_a,
			},
		)
		self.assertEqual(copy.status_code, 200, copy.text[:300])
		self.assertEqual(self.as_alice.get(self.url_a).status_code, 200)
		# bob copies his own team's file (onto his own record: his copy stays out of alice's reach)
		copy_b = self.as_bob.post(
			"/api/resource/File",
			{
				"file_url": self.url_b,
				"is_private": 1,
				"attached_to_doctype": "Pipeline Opportunity",
				"attached_to_name": self.opp_b,
			},
		)
		self.assertEqual(copy_b.status_code, 200, copy_b.text[:300])
		self.assertEqual(self.as_bob.get(self.url_b).status_code, 200)
		self.assertCannotDownload(self.url_b)

	def test_an_upload_of_the_same_content_is_not_refused(self):
		"""Frappe stores an upload whose content is already on the site under that file's URL: the
		uploader brought the content, so it is no copy of anything they could not read."""
		content = f"beta brochure {random_string(8)}".encode()
		_name, _url = self.private_file(self.opp_b, f"brochure-{self.suffix}.txt", content)
		frappe.db.commit()
		upload = self.as_alice.session.post(
			BASE_URL + "/api/method/upload_file",
			data={"doctype": "Pipeline Opportunity", "docname": self.opp_a, "is_private": 1},
			files={"file": (f"same-{self.suffix}.txt", content, "text/plain")},
		)
		self.assertEqual(upload.status_code, 200, upload.text[:300])
		self.assertEqual(self.as_alice.get(upload.json()["message"]["file_url"]).content, content)


# 2. Child tables listed with `parent`
# ------------------------------------


class TestChildTables(TwoTeamsCase):
	@classmethod
	def set_up_data(cls):
		for name, item in ((cls.opp_a, "alpha widget"), (cls.opp_b, "beta secret widget")):
			doc = frappe.get_doc("Pipeline Opportunity", name)
			doc.append("items", {"item": f"{item} {cls.suffix}", "qty": 2, "rate": 50})
			doc.save(ignore_permissions=True)
		for team, route in ((cls.team_a, "alpha"), (cls.team_b, "beta")):
			doc = frappe.get_doc("Pipeline Team", team)
			doc.description = f"{route} description {cls.suffix}"
			doc.booking_route = f"{route}-route-{cls.suffix}"
			doc.set("booking_hours", [{"weekday": "Monday", "from_time": "09:00:00", "to_time": "12:00:00"}])
			doc.set("card_fields", [{"fieldname": "title", "show_on_card": 1}])
			doc.save(ignore_permissions=True)
		for user, team in ((cls.alice, cls.team_a), (cls.bob, cls.team_b)):
			frappe.get_doc(
				{
					"doctype": "Pipeline Digest Subscription",
					"user": user,
					"frequency": "Weekly",
					"weekday": "Monday",
					"teams": [{"team": team}],
				}
			).insert(ignore_permissions=True)

	def child_rows(self, client, doctype, parent, fields, **filters):
		return rows(
			client.get(
				f"/api/resource/{doctype}",
				parent=parent,
				fields=json.dumps(fields),
				filters=json.dumps(filters),
				limit_page_length=0,
			)
		)

	def test_line_items_of_another_team_are_not_listed(self):
		fields = ["parent", "item", "qty", "rate", "amount"]
		for client, mine, other in (
			(self.as_alice, self.opp_a, self.opp_b),
			(self.as_bob, self.opp_b, self.opp_a),
		):
			listed = self.child_rows(client, "Pipeline Opportunity Item", "Pipeline Opportunity", fields)
			parents = {row["parent"] for row in listed}
			self.assertIn(mine, parents)
			self.assertNotIn(other, parents)
		# frappe.client.get_list and reportview say the same
		response = self.as_alice.call(
			"frappe.client.get_list",
			doctype="Pipeline Opportunity Item",
			parent="Pipeline Opportunity",
			fields=fields,
			limit_page_length=0,
		)
		self.assertNotIn("beta secret widget", response.text)
		self.assertIn("alpha widget", response.text)
		response = self.as_alice.call(
			"frappe.desk.reportview.get",
			doctype="Pipeline Opportunity Item",
			parent_doctype="Pipeline Opportunity",
			fields=["`tabPipeline Opportunity Item`.`item`", "`tabPipeline Opportunity Item`.`parent`"],
		)
		self.assertEqual(response.status_code, 200, response.text[:300])
		self.assertNotIn("beta secret widget", response.text)
		# the manager reads every team's
		listed = self.child_rows(self.as_manager, "Pipeline Opportunity Item", "Pipeline Opportunity", fields)
		self.assertTrue({self.opp_a, self.opp_b} <= {row["parent"] for row in listed})

	def test_team_settings_tables_of_another_team_are_not_listed(self):
		for doctype, fields in (
			("Pipeline Booking Hours", ["parent", "weekday", "from_time", "to_time"]),
			("Pipeline Card Field", ["parent", "fieldname"]),
		):
			with self.subTest(doctype):
				parents = {
					row["parent"] for row in self.child_rows(self.as_alice, doctype, "Pipeline Team", fields)
				}
				self.assertIn(self.team_a, parents)
				self.assertNotIn(self.team_b, parents)
				parents = {
					row["parent"] for row in self.child_rows(self.as_bob, doctype, "Pipeline Team", fields)
				}
				self.assertIn(self.team_b, parents)

	def test_digest_follows_are_the_users_own_and_join_no_other_team(self):
		fields = ["parent", "team", "team.description", "team.booking_route"]
		listed = self.child_rows(
			self.as_alice, "Pipeline Digest Team", "Pipeline Digest Subscription", fields
		)
		self.assertEqual({row["parent"] for row in listed}, {self.alice})
		self.assertNotIn(f"beta description {self.suffix}", json.dumps(listed))
		self.assertNotIn(f"beta-route-{self.suffix}", json.dumps(listed))
		self.assertIn(f"alpha-route-{self.suffix}", json.dumps(listed))
		# a filter on another team finds nothing either
		self.assertEqual(
			self.child_rows(
				self.as_alice,
				"Pipeline Digest Team",
				"Pipeline Digest Subscription",
				fields,
				team=self.team_b,
			),
			[],
		)
		listed = self.child_rows(self.as_bob, "Pipeline Digest Team", "Pipeline Digest Subscription", fields)
		self.assertEqual({row["parent"] for row in listed}, {self.bob})

	def test_a_row_of_another_team_loaded_by_name_looks_missing(self):
		"""Frappe checks a row loaded on its own against the role on its parent doctype only."""
		missing = frappe.generate_hash(length=10)
		for doctype, parent in (
			("Pipeline Opportunity Item", self.opp_b),
			("Pipeline Booking Hours", self.team_b),
			("Pipeline Card Field", self.team_b),
			("Pipeline Team Member", self.team_b),
			("Pipeline Digest Team", self.bob),
		):
			with self.subTest(doctype):
				name = frappe.db.get_value(doctype, {"parent": parent})
				for call in (
					lambda row: self.as_alice.get(f"/api/resource/{doctype}/{row}"),
					lambda row: self.as_alice.call("frappe.client.get", "GET", doctype=doctype, name=row),
				):
					foreign = normalized(call(name), name)
					self.assertGreaterEqual(foreign[0], 400, foreign[1][:300])
					self.assertEqual(foreign, normalized(call(missing), missing))
				self.assertEqual(self.as_bob.get(f"/api/resource/{doctype}/{name}").status_code, 200)
		own = frappe.db.get_value("Pipeline Opportunity Item", {"parent": self.opp_a})
		self.assertEqual(self.as_alice.get(f"/api/resource/Pipeline Opportunity Item/{own}").status_code, 200)

	def test_parent_forms_still_load_their_rows(self):
		def getdoc(client, doctype, name):
			response = client.call("frappe.desk.form.load.getdoc", "GET", doctype=doctype, name=name)
			self.assertEqual(response.status_code, 200, response.text[:300])
			return response.json()["docs"][0]

		self.assertEqual(len(getdoc(self.as_alice, "Pipeline Opportunity", self.opp_a)["items"]), 1)
		team = getdoc(self.as_bob, "Pipeline Team", self.team_b)
		self.assertEqual((len(team["booking_hours"]), len(team["card_fields"])), (1, 1))
		subscription = getdoc(self.as_alice, "Pipeline Digest Subscription", self.alice)
		self.assertEqual([row["team"] for row in subscription["teams"]], [self.team_a])
		doc = self.as_alice.get(f"/api/resource/Pipeline Opportunity/{self.opp_a}")
		self.assertEqual(len(doc.json()["data"]["items"]), 1)


# 3. Appointments follow their opportunity to its new team
# --------------------------------------------------------


class TestAppointmentsFollowTheirOpportunitysTeam(TwoTeamsCase):
	@classmethod
	def set_up_data(cls):
		cls.contact = make_contact(f"Moved {cls.suffix}")
		cls.opp_x = make_opportunity(cls.team_a, title=f"Moving deal {cls.suffix}", contact=cls.contact).name
		cls.appointment = (
			frappe.get_doc(
				{
					"doctype": "Pipeline Appointment",
					"opportunity": cls.opp_x,
					"starts_at": add_days(today(), 3),
					"host": cls.alice,
					"notes": f"secret notes {cls.suffix}",
				}
			)
			.insert(ignore_permissions=True)
			.name
		)

	def listed(self, client) -> list[str]:
		return [
			row["name"]
			for row in rows(
				client.get(
					"/api/resource/Pipeline Appointment",
					filters=json.dumps([["opportunity", "=", self.opp_x]]),
					fields=json.dumps(["name", "notes", "starts_at", "host"]),
				)
			)
		]

	def test_moving_the_opportunity_moves_its_appointments(self):
		self.assertEqual(self.listed(self.as_alice), [self.appointment])
		event = frappe.db.get_value("Pipeline Appointment", self.appointment, "event")
		self.assertTrue(event)
		response = self.as_manager.put(
			f"/api/resource/Pipeline Opportunity/{self.opp_x}", {"team": self.team_b}
		)
		self.assertEqual(response.status_code, 200, response.text[:300])
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value("Pipeline Appointment", self.appointment, "team"), self.team_b)
		# A's seller lists nothing of it any more, on any list path; B's seller lists it
		self.assertEqual(self.listed(self.as_alice), [])
		self.assertNotIn(
			f"secret notes {self.suffix}",
			self.as_alice.call(
				"pipeline_app.pipeline_app.doctype.pipeline_appointment.pipeline_appointment.get_calendar_events",
				"GET",
				start=add_days(today(), -1),
				end=add_days(today(), 10),
			).text,
		)
		self.assertEqual(self.listed(self.as_bob), [self.appointment])
		# its host, not in B, keeps no Event naming B's contact and opportunity
		self.assertFalse(frappe.db.exists("Event", event))
		self.assertIsNone(frappe.db.get_value("Pipeline Appointment", self.appointment, "event"))

	def test_a_new_title_or_contact_reaches_the_appointments_and_the_hosts_event(self):
		contact = make_contact(f"Other {self.suffix}")
		opp = make_opportunity(self.team_a, title=f"Titled {self.suffix}", contact=self.contact)
		appointment = frappe.get_doc(
			{
				"doctype": "Pipeline Appointment",
				"opportunity": opp.name,
				"starts_at": add_days(today(), 4),
				"host": self.alice,
			}
		).insert(ignore_permissions=True)
		frappe.db.commit()
		response = self.as_alice.put(
			f"/api/resource/Pipeline Opportunity/{opp.name}",
			{"title": f"Renamed {self.suffix}", "contact": contact},
		)
		self.assertEqual(response.status_code, 200, response.text[:300])
		frappe.db.rollback()
		values = frappe.db.get_value(
			"Pipeline Appointment", appointment.name, ["opportunity_title", "contact", "event"], as_dict=True
		)
		self.assertEqual((values.opportunity_title, values.contact), (f"Renamed {self.suffix}", contact))
		self.assertIn(f"Renamed {self.suffix}", frappe.db.get_value("Event", values.event, "subject"))

	def test_the_patch_resyncs_stale_appointments(self):
		opp = make_opportunity(self.team_b, title=f"Stale {self.suffix}")
		appointment = frappe.get_doc(
			{"doctype": "Pipeline Appointment", "opportunity": opp.name, "starts_at": add_days(today(), 5)}
		).insert(ignore_permissions=True)
		# as an opportunity moved before the fix left it
		frappe.db.set_value(
			"Pipeline Appointment", appointment.name, "team", self.team_a, update_modified=False
		)
		frappe.db.commit()
		self.assertIn(
			appointment.name,
			[row["name"] for row in rows(self.as_alice.get("/api/resource/Pipeline Appointment"))],
		)
		sync_appointment_copies.execute()
		sync_appointment_copies.execute()  # a second run changes nothing
		self.assertEqual(frappe.db.get_value("Pipeline Appointment", appointment.name, "team"), self.team_b)
		self.assertNotIn(
			appointment.name,
			[row["name"] for row in rows(self.as_alice.get("/api/resource/Pipeline Appointment"))],
		)


# 4. A removed member's cached membership
# ---------------------------------------


class TestRemovedMemberLosesAccess(TwoTeamsCase):
	def test_a_request_racing_the_removal_does_not_keep_the_old_membership(self):
		carol = make_user(f"carol.data.{self.suffix}@pipeline.test")
		team = frappe.get_doc("Pipeline Team", self.team_b)
		team.append("members", {"user": carol})
		team.save(ignore_permissions=True)
		frappe.db.commit()
		as_carol = Client.as_user(carol)
		path = f"/api/resource/Pipeline Opportunity/{self.opp_b}"
		self.assertEqual(as_carol.get(path).status_code, 200)

		team = frappe.get_doc("Pipeline Team", self.team_b)
		team.set("members", [member for member in team.members if member.user != carol])
		team.save(ignore_permissions=True)  # clears the cache, in the transaction
		# a request before the commit reads (and caches) the membership as committed: still a member
		self.assertEqual(as_carol.get(path).status_code, 200)
		frappe.db.commit()

		self.assertIn(as_carol.get(path).status_code, (403, 404))
		self.assertEqual(
			rows(
				as_carol.get("/api/resource/Pipeline Opportunity", filters=json.dumps({"team": self.team_b}))
			),
			[],
		)
		self.assertEqual(self.as_bob.get(path).status_code, 200)


# 5. A guest booking that matches a stored contact
# ------------------------------------------------


class TestGuestBookingDisclosesNoStoredContact(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.suffix = random_string(6).lower()
		cls.host = make_user(f"host.data.{cls.suffix}@pipeline.test")
		cls.team = booking_team(f"data-{cls.suffix}", [cls.host]).name
		cls.route = f"book-data-{cls.suffix}"
		cls.phone = "+44 20 " + "".join(str(ord(c) % 10) for c in random_string(8))
		cls.email = f"victoria.{cls.suffix}@example.test"
		cls.victim = make_contact(f"Victoria{cls.suffix}", email=cls.email, phone=cls.phone)
		cls.victim_opportunity = make_opportunity(
			cls.team, title=f"Victim deal {cls.suffix}", contact=cls.victim
		)
		frappe.db.commit()
		cls.guest = Client()

	@classmethod
	def tearDownClass(cls):
		purge_team(cls.team)
		super().tearDownClass()

	def setUp(self):
		reset_rate_limits(self.team)

	def book(self, hour, **fields):
		slot = f"{add_days(today(), 2)} {hour:02d}:00:00"
		response = self.guest.call(
			"pipeline_app.booking.book", route=self.route, slot=slot, first_name="Mallory", **fields
		)
		self.assertEqual(response.status_code, 200, response.text[:300])
		return response

	def managed(self, answer):
		query = parse_qs(urlparse(answer["manage_url"]).query)
		return self.guest.call(GET_BOOKING, "GET", appointment=answer["appointment"], token=query["token"][0])

	def assertDisclosesNothing(self, *responses):
		for response in responses:
			self.assertEqual(response.status_code, 200, response.text[:300])
			for secret in (f"Victoria{self.suffix}", self.email, self.victim, self.victim_opportunity.name):
				self.assertNotIn(secret, response.text)
			self.assertNotIn("contact_first_name", response.text)

	def test_a_phone_number_does_not_pick_a_contact_with_an_email(self):
		before = frappe.db.get_value(
			"Pipeline Opportunity", self.victim_opportunity.name, ["stage", "modified"], as_dict=True
		)
		email = f"mallory.{self.suffix}@example.test"
		response = self.book(9, email=email, phone=self.phone.replace(" ", ""))
		answer = response.json()["message"]
		self.assertDisclosesNothing(response, self.managed(answer))
		frappe.db.rollback()
		appointment = frappe.db.get_value(
			"Pipeline Appointment", answer["appointment"], ["opportunity", "contact"], as_dict=True
		)
		self.assertNotEqual(appointment.opportunity, self.victim_opportunity.name)
		self.assertNotEqual(appointment.contact, self.victim)
		self.assertEqual(frappe.db.get_value("Contact", appointment.contact, "email_id"), email)
		self.assertEqual(
			frappe.db.get_value(
				"Pipeline Opportunity", self.victim_opportunity.name, ["stage", "modified"], as_dict=True
			),
			before,
		)
		self.assertEqual(frappe.db.get_value("Contact", self.victim, "first_name"), f"Victoria{self.suffix}")

	def test_the_manage_link_shows_nothing_of_the_stored_contact(self):
		"""The email matches the stored contact (message intake's rule: the same address is the same
		person), but the answer and the manage link carry only the booking."""
		response = self.book(10, email=self.email.upper())
		self.assertDisclosesNothing(response, self.managed(response.json()["message"]))
