"""Team isolation on Frappe's side paths, over HTTP against the running bench: a seller of team A
against team B's records, on the generic endpoints and doctypes that reach any record (REST,
frappe.client, the form loader, link search, likes, tags, follows, files, to-dos, comments,
messages, the list sidebar, realtime rooms). Another team's record must answer exactly as a record
that does not exist, and nothing of B may change."""

import json
import re

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, random_string, today

from pipeline_app.automation.conversations import record_message
from pipeline_app.tests.counters import forget_queued_events, queued_events
from pipeline_app.tests.factories import make_contact, make_opportunity, make_team, make_user, purge_team
from pipeline_app.tests.http_client import Client, message

EXC_ID = re.compile(r'\\*"__frappe_exc_id\\*": \\*"[0-9a-f]+\\*"')


def normalized(response, *names) -> tuple[int, str]:
	"""Status and body with the record's name and the per-request error id taken out. Tracebacks
	stay: sellers get none (they would tell the app's code from Frappe's)."""
	try:
		data = response.json()
	except ValueError:
		data = None
	body = json.dumps(data, sort_keys=True) if isinstance(data, dict) else response.text
	body = EXC_ID.sub("", body)
	for name in names:
		body = body.replace(name, "<NAME>")
	return response.status_code, body


class IsolationCase(FrappeTestCase):
	"""Two teams with a seller each and a manager; team B's opportunity has an appointment, stage
	history, a file, a to-do, a comment and a message from its contact. Committed (the web server is
	another process); removed in tearDownClass."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		suffix = random_string(6).lower()
		cls.suffix = suffix
		cls.alice = make_user(f"alice.iso.{suffix}@pipeline.test")
		cls.bob = make_user(f"bob.iso.{suffix}@pipeline.test")
		cls.manager = make_user(f"manager.iso.{suffix}@pipeline.test", roles=("Pipeline Manager",))
		cls.team_a = make_team(f"Iso Alpha {suffix}", members=[cls.alice]).name
		cls.team_b = make_team(f"Iso Beta {suffix}", members=[cls.bob]).name
		cls.email_b = f"contact.b.{suffix}@example.test"
		cls.contact_b = make_contact(f"Shared {suffix}", email=cls.email_b)
		cls.opp_a = make_opportunity(cls.team_a, title=f"Iso alpha {suffix}").name
		opp_b = make_opportunity(
			cls.team_b, title=f"Iso secret {suffix}", contact=cls.contact_b, opportunity_owner=cls.bob
		)
		cls.opp_b = opp_b.name
		opp_b.reload()
		opp_b.description = "a change, for a version row"
		opp_b.save()
		cls.appointment_b = (
			frappe.get_doc(
				{
					"doctype": "Pipeline Appointment",
					"opportunity": cls.opp_b,
					"starts_at": add_days(today(), 3),
				}
			)
			.insert()
			.name
		)
		cls.stage_b = frappe.db.get_value("Funnel Stage", {"team": cls.team_b}, "name")
		cls.history_b = frappe.db.get_value("Pipeline Stage Change", {"opportunity": cls.opp_b}, "name")
		cls.run_b = (
			frappe.get_doc({"doctype": "Pipeline Abandonment Run", "team": cls.team_b, "abandoned_count": 0})
			.insert(ignore_permissions=True)
			.name
		)
		cls.file_b = (
			frappe.get_doc(
				{
					"doctype": "File",
					"file_name": f"secret-{suffix}.txt",
					"content": b"secret",
					"attached_to_doctype": "Pipeline Opportunity",
					"attached_to_name": cls.opp_b,
					"is_private": 1,
				}
			)
			.insert(ignore_permissions=True)
			.name
		)
		cls.comment_b = opp_b.add_comment("Comment", f"secret comment {suffix}").name
		cls.message_b = record_message(
			cls.email_b, "Inbound", f"secret message {suffix}", channel="Email", team=cls.team_b
		)["communication"]
		frappe.db.commit()
		cls.as_alice = Client.as_user(cls.alice)
		cls.as_bob = Client.as_user(cls.bob)
		cls.as_manager = Client.as_user(cls.manager)
		cls.as_admin = Client.as_user("Administrator")

	@classmethod
	def tearDownClass(cls):
		frappe.db.rollback()
		frappe.set_user("Administrator")
		purge_team(cls.team_a, cls.team_b)
		super().tearDownClass()

	def missing(self, doctype: str) -> str:
		"""A name of `doctype` that does not exist, shaped like the real ones."""
		return {
			"Pipeline Opportunity": "OPP-99999",
			"Pipeline Team": f"Iso Gamma {self.suffix}",
			"Funnel Stage": f"Iso Gamma {self.suffix} - Won",
		}.get(doctype, frappe.generate_hash(length=10))

	def foreign_records(self):
		return [
			("Pipeline Opportunity", self.opp_b),
			("Pipeline Appointment", self.appointment_b),
			("Pipeline Team", self.team_b),
			("Funnel Stage", self.stage_b),
			("Pipeline Stage Change", self.history_b),
			("Pipeline Abandonment Run", self.run_b),
		]

	def snapshot_b(self) -> dict:
		"""What a seller of A must never change, read in a fresh snapshot."""
		frappe.db.rollback()
		opportunity = frappe.db.get_value(
			"Pipeline Opportunity",
			self.opp_b,
			[
				"modified",
				"title",
				"stage",
				"_liked_by",
				"_user_tags",
				"_assign",
				"last_message_preview",
				"unread_count",
			],
			as_dict=True,
		)
		counts = {
			doctype: frappe.db.count(doctype, {field: self.opp_b})
			for doctype, field in (
				("Comment", "reference_name"),
				("ToDo", "reference_name"),
				("File", "attached_to_name"),
				("Document Follow", "ref_docname"),
				("Tag Link", "document_name"),
				("Communication", "reference_name"),
				("DocShare", "share_name"),
			)
		}
		return {"opportunity": opportunity, "counts": counts}


class TestForeignLooksMissing(IsolationCase):
	def assertAlike(self, call, doctype, name, refused=True):
		"""`call(name)` answers for another team's record exactly what it answers for a missing one
		(an error, or for the form loader an empty answer)."""
		missing = self.missing(doctype)
		foreign = normalized(call(name), name)
		absent = normalized(call(missing), missing)
		self.assertEqual(foreign, absent, f"{doctype} {name}")
		if refused:
			self.assertGreaterEqual(foreign[0], 400, foreign[1][:300])
		else:
			self.assertEqual(foreign, (200, '{"message": []}'))
		return foreign

	def test_rest_get_put_delete(self):
		before = self.snapshot_b()
		for doctype, name in self.foreign_records():
			path = f"/api/resource/{doctype}/"
			self.assertAlike(lambda n, p=path: self.as_alice.get(p + n), doctype, name)
			self.assertAlike(lambda n, p=path: self.as_alice.put(p + n, {"title": "taken"}), doctype, name)
			self.assertAlike(lambda n, p=path: self.as_alice.delete(p + n), doctype, name)
		self.assertEqual(self.snapshot_b(), before)
		self.assertEqual(self.as_bob.get(f"/api/resource/Pipeline Opportunity/{self.opp_b}").status_code, 200)

	def test_frappe_client_by_name_and_by_filters(self):
		before = self.snapshot_b()
		for doctype, name in self.foreign_records():
			self.assertAlike(
				lambda n, d=doctype: self.as_alice.call("frappe.client.get", "GET", doctype=d, name=n),
				doctype,
				name,
			)
			self.assertAlike(
				lambda n, d=doctype: self.as_alice.call(
					"frappe.client.get", "GET", doctype=d, filters={"name": n}
				),
				doctype,
				name,
			)
			self.assertAlike(
				lambda n, d=doctype: self.as_alice.call(
					"frappe.client.set_value", doctype=d, name=n, fieldname="modified_by", value="x"
				),
				doctype,
				name,
			)
			self.assertAlike(
				lambda n, d=doctype: self.as_alice.call("frappe.client.delete", doctype=d, name=n),
				doctype,
				name,
			)
		# filters on a field other than the name: still nothing of B's, not even its name
		response = self.as_alice.call(
			"frappe.client.get",
			"GET",
			doctype="Pipeline Opportunity",
			filters={"title": f"Iso secret {self.suffix}"},
		)
		self.assertEqual(response.status_code, 404)
		self.assertNotIn(self.opp_b, response.text)
		self.assertEqual(self.snapshot_b(), before)

	def test_form_loader_and_timeline(self):
		for doctype, name in self.foreign_records():
			self.assertAlike(
				lambda n, d=doctype: self.as_alice.call(
					"frappe.desk.form.load.getdoc", "GET", doctype=d, name=n
				),
				doctype,
				name,
				refused=False,
			)
			self.assertAlike(
				lambda n, d=doctype: self.as_alice.call(
					"frappe.desk.form.load.get_docinfo", "GET", doctype=d, name=n
				),
				doctype,
				name,
			)
			self.assertAlike(
				lambda n, d=doctype: self.as_alice.call(
					"frappe.desk.form.load.get_communications", "GET", doctype=d, name=n
				),
				doctype,
				name,
			)

	def test_likes_tags_follows_comments_assignments_and_shares(self):
		before = self.snapshot_b()
		doctype = "Pipeline Opportunity"
		calls = {
			"like": lambda n: self.as_alice.call(
				"frappe.desk.like.toggle_like", doctype=doctype, name=n, add="Yes"
			),
			"tag": lambda n: self.as_alice.call(
				"frappe.desk.doctype.tag.tag.add_tag", tag="x", dt=doctype, dn=n
			),
			"tags": lambda n: self.as_alice.call(
				"frappe.desk.doctype.tag.tag.add_tags", tags=["x"], dt=doctype, docs=[n]
			),
			"untag": lambda n: self.as_alice.call(
				"frappe.desk.doctype.tag.tag.remove_tag", tag="x", dt=doctype, dn=n
			),
			"follow": lambda n: self.as_alice.call(
				"frappe.desk.form.document_follow.follow_document",
				doctype=doctype,
				doc_name=n,
				user=self.alice,
			),
			"comment": lambda n: self.as_alice.call(
				"frappe.desk.form.utils.add_comment",
				reference_doctype=doctype,
				reference_name=n,
				content="hello",
				comment_email=self.alice,
				comment_by="Alice",
			),
			"assign": lambda n: self.as_alice.call(
				"frappe.desk.form.assign_to.add", doctype=doctype, name=n, assign_to=[self.alice]
			),
			"share": lambda n: self.as_alice.call(
				"frappe.share.add", doctype=doctype, name=n, user=self.alice, read=1
			),
			"attach": lambda n: self.as_alice.call(
				"frappe.client.attach_file",
				filename="x.txt",
				filedata="eA==",
				doctype=doctype,
				docname=n,
				decode_base64=1,
			),
			"email": lambda n: self.as_alice.call(
				"frappe.core.doctype.communication.email.make",
				doctype=doctype,
				name=n,
				content="hi",
				subject="hi",
				recipients=self.email_b,
				send_email=0,
			),
			"validate_link": lambda n: self.as_alice.call(
				"frappe.client.validate_link", "GET", doctype=doctype, docname=n
			),
		}
		for label, call in calls.items():
			with self.subTest(label):
				if label == "validate_link":
					self.assertEqual(
						normalized(call(self.opp_b), self.opp_b), normalized(call("OPP-99999"), "OPP-99999")
					)
				else:
					self.assertAlike(call, doctype, self.opp_b)
		self.assertEqual(self.snapshot_b(), before)

	def test_upload_file_to_another_teams_record(self):
		before = self.snapshot_b()

		def upload(name):
			return self.as_alice.session.post(
				self.as_alice_url("/api/method/upload_file"),
				data={"doctype": "Pipeline Opportunity", "docname": name, "is_private": 1},
				files={"file": ("note.txt", b"hello", "text/plain")},
			)

		self.assertAlike(upload, "Pipeline Opportunity", self.opp_b)
		self.assertEqual(self.snapshot_b(), before)

	def as_alice_url(self, path):
		from pipeline_app.tests.http_client import BASE_URL

		return BASE_URL + path

	def test_bob_may_do_the_same_on_his_own_record(self):
		"""The control: the same calls work for the record's own team, so the tests above can fail."""
		response = self.as_bob.call(
			"frappe.desk.like.toggle_like", doctype="Pipeline Opportunity", name=self.opp_b, add="Yes"
		)
		self.assertEqual(response.status_code, 200, response.text[:300])
		frappe.db.rollback()
		self.assertIn(self.bob, frappe.db.get_value("Pipeline Opportunity", self.opp_b, "_liked_by") or "")
		self.assertEqual(
			self.as_bob.call(
				"frappe.desk.form.load.getdoc", "GET", doctype="Pipeline Opportunity", name=self.opp_b
			).status_code,
			200,
		)


class TestGenericDoctypes(IsolationCase):
	GENERIC = (
		("File", "attached_to_name"),
		("Comment", "reference_name"),
		("ToDo", "reference_name"),
		("Communication", "reference_name"),
		("Version", "docname"),
		("Document Follow", "ref_docname"),
		("Tag Link", "document_name"),
		("Workflow Action", "reference_name"),
	)

	def rows(self, client, doctype, field, name):
		response = client.get(
			f"/api/resource/{doctype}", filters=json.dumps([[field, "=", name]]), limit_page_length=0
		)
		if response.status_code == 403:
			return []
		self.assertEqual(response.status_code, 200, response.text[:300])
		return response.json()["data"]

	def test_lists_and_counts_leave_out_rows_attached_to_another_team(self):
		seen_by_admin = 0
		for doctype, field in self.GENERIC:
			with self.subTest(doctype):
				self.assertEqual(self.rows(self.as_alice, doctype, field, self.opp_b), [])
				count = self.as_alice.call(
					"frappe.client.get_count", "GET", doctype=doctype, filters={field: self.opp_b}
				)
				if count.status_code == 200:
					self.assertEqual(message(count), 0)
				seen_by_admin += len(self.rows(self.as_admin, doctype, field, self.opp_b))
		self.assertGreaterEqual(seen_by_admin, 5)  # file, comment, to-do, message, version

	def test_single_rows_attached_to_another_team_look_missing(self):
		for doctype, name in (
			("File", self.file_b),
			("Comment", self.comment_b),
			("Communication", self.message_b),
		):
			with self.subTest(doctype):
				response = self.as_alice.get(f"/api/resource/{doctype}/{name}")
				self.assertIn(response.status_code, (403, 404), response.text[:300])
				self.assertNotIn(self.opp_b, response.text)
				self.assertEqual(self.as_admin.get(f"/api/resource/{doctype}/{name}").status_code, 200)

	def test_private_file_of_another_team_cannot_be_downloaded(self):
		url = frappe.db.get_value("File", self.file_b, "file_url")
		self.assertIn(self.as_alice.get(url).status_code, (403, 404))
		self.assertEqual(self.as_bob.get(url).status_code, 200)

	def test_inserts_pointing_at_another_team_fail_like_a_missing_record(self):
		before = self.snapshot_b()
		inserts = {
			"ToDo": lambda n: {
				"allocated_to": self.alice,
				"description": "x",
				"reference_type": "Pipeline Opportunity",
				"reference_name": n,
			},
			"Comment": lambda n: {
				"comment_type": "Comment",
				"reference_doctype": "Pipeline Opportunity",
				"reference_name": n,
				"content": "x",
			},
			"File": lambda n: {
				"file_name": "x.txt",
				"content": "x",
				"attached_to_doctype": "Pipeline Opportunity",
				"attached_to_name": n,
				"is_private": 1,
			},
			"Document Follow": lambda n: {
				"ref_doctype": "Pipeline Opportunity",
				"ref_docname": n,
				"user": self.alice,
			},
			"Pipeline Appointment": lambda n: {"opportunity": n, "starts_at": add_days(today(), 4)},
		}
		for doctype, values in inserts.items():
			with self.subTest(doctype):
				foreign = normalized(
					self.as_alice.post(f"/api/resource/{doctype}", values(self.opp_b)), self.opp_b
				)
				absent = normalized(
					self.as_alice.post(f"/api/resource/{doctype}", values("OPP-99999")), "OPP-99999"
				)
				self.assertEqual(foreign, absent)
				self.assertGreaterEqual(foreign[0], 400)
		# an opportunity of A placed in a stage of B: as a stage that does not exist
		foreign = self.as_alice.post(
			"/api/resource/Pipeline Opportunity", {"title": "x", "team": self.team_a, "stage": self.stage_b}
		)
		absent = self.as_alice.post(
			"/api/resource/Pipeline Opportunity",
			{"title": "x", "team": self.team_a, "stage": self.missing("Funnel Stage")},
		)
		self.assertEqual(normalized(foreign, self.stage_b), normalized(absent, self.missing("Funnel Stage")))
		self.assertEqual(self.snapshot_b(), before)
		frappe.db.rollback()
		self.assertFalse(frappe.db.exists("Pipeline Opportunity", {"team": self.team_a, "title": "x"}))

	def test_workflow_creates_no_workflow_actions(self):
		frappe.db.rollback()
		self.assertFalse(frappe.db.exists("Workflow Action", {"reference_doctype": "Pipeline Opportunity"}))


class TestSearchAndCounts(IsolationCase):
	def test_link_search_ignoring_user_permissions_stays_team_scoped(self):
		for doctype, name in self.foreign_records():
			for method in ("frappe.desk.search.search_link", "frappe.desk.search.search_widget"):
				with self.subTest(doctype=doctype, method=method):
					response = self.as_alice.call(
						method,
						"GET",
						doctype=doctype,
						txt=name[:12],
						ignore_user_permissions=1,
						page_length=50,
					)
					self.assertEqual(response.status_code, 200, response.text[:300])
					self.assertNotIn(name, response.text)
		# the control: the manager finds it the same way
		found = self.as_manager.call(
			"frappe.desk.search.search_link",
			"GET",
			doctype="Pipeline Opportunity",
			txt=self.opp_b,
			ignore_user_permissions=1,
		)
		self.assertIn(self.opp_b, found.text)

	def test_link_search_of_generic_doctypes_ignoring_user_permissions(self):
		response = self.as_alice.call(
			"frappe.desk.search.search_widget",
			"GET",
			doctype="Comment",
			txt="secret comment",
			ignore_user_permissions=1,
			page_length=50,
		)
		self.assertNotIn(self.comment_b, response.text)

	def test_sidebar_assigned_to_counts_only_readable_records(self):
		response = self.as_alice.call(
			"frappe.desk.listview.get_group_by_count",
			"GET",
			doctype="Pipeline Opportunity",
			current_filters="[]",
			field="assigned_to",
		)
		self.assertEqual(response.status_code, 200, response.text[:300])
		self.assertNotIn(self.bob, {row["name"] for row in message(response)})
		managed = self.as_manager.call(
			"frappe.desk.listview.get_group_by_count",
			"GET",
			doctype="Pipeline Opportunity",
			current_filters=json.dumps([["team", "=", self.team_b]]),
			field="assigned_to",
		)
		self.assertIn(self.bob, {row["name"] for row in message(managed)})


class TestMessages(IsolationCase):
	def test_a_message_written_by_another_team_does_not_touch_the_opportunity(self):
		"""frappe.core.doctype.communication.email.make needs no reference document: a message "from"
		B's contact written by A must not update B's card nor move its stage."""
		before = self.snapshot_b()
		response = self.as_alice.call(
			"frappe.core.doctype.communication.email.make",
			content="forged reply",
			subject="forged",
			sender=self.email_b,
			recipients=self.alice,
			sent_or_received="Received",
			send_email=0,
		)
		self.assertEqual(response.status_code, 200, response.text[:300])
		after = self.snapshot_b()
		self.assertEqual(after["opportunity"], before["opportunity"])

	def test_the_owner_team_writing_the_same_message_does_update(self):
		"""The control for the test above."""
		response = self.as_bob.call(
			"frappe.core.doctype.communication.email.make",
			content=f"real reply {self.suffix}",
			subject="real",
			sender=self.email_b,
			recipients=self.bob,
			sent_or_received="Received",
			send_email=0,
		)
		self.assertEqual(response.status_code, 200, response.text[:300])
		frappe.db.rollback()
		self.assertIn(
			"real reply", frappe.db.get_value("Pipeline Opportunity", self.opp_b, "last_message_preview")
		)

	def test_shared_contact_timeline_leaves_out_other_teams_messages(self):
		for method in ("frappe.desk.form.load.getdoc", "frappe.desk.form.load.get_communications"):
			with self.subTest(method):
				response = self.as_alice.call(method, "GET", doctype="Contact", name=self.contact_b)
				self.assertEqual(response.status_code, 200, response.text[:300])
				self.assertNotIn(f"secret message {self.suffix}", response.text)
				own = self.as_bob.call(method, "GET", doctype="Contact", name=self.contact_b)
				self.assertIn(f"secret message {self.suffix}", own.text)


class TestRealtimeRooms(IsolationCase):
	def test_doctype_rooms_of_team_scoped_doctypes_are_closed_to_sellers(self):
		for doctype, _name in self.foreign_records():
			with self.subTest(doctype):
				response = self.as_alice.call("frappe.realtime.can_subscribe_doctype", "GET", doctype=doctype)
				self.assertEqual(response.status_code, 403)
		self.assertEqual(
			self.as_manager.call(
				"frappe.realtime.can_subscribe_doctype", "GET", doctype="Pipeline Opportunity"
			).status_code,
			200,
		)

	def test_other_teams_documents_cannot_be_subscribed(self):
		for doctype, name in self.foreign_records():
			response = self.as_alice.call(
				"frappe.realtime.can_subscribe_doc", "GET", doctype=doctype, docname=name
			)
			self.assertGreaterEqual(response.status_code, 400)

	def test_list_updates_of_attached_documents_go_to_readers_only(self):
		"""Frappe sends each save's list_update to the doctype's room; for documents attached to a
		team's record, and for the team's configuration, it goes to readers' own rooms instead."""
		forget_queued_events()
		frappe.set_user(self.bob)
		try:
			frappe.get_doc("Pipeline Opportunity", self.opp_b).add_comment("Comment", "live")
			self.bobs_todo()
		finally:
			frappe.set_user("Administrator")
		frappe.get_doc("Pipeline Team", self.team_b).save()
		frappe.get_doc("Funnel Stage", self.stage_b).save()
		rooms = {room for event, _message, room in queued_events() if event == "list_update"}
		self.assertFalse({room for room in rooms if room.startswith("doctype:")}, rooms)
		frappe.db.rollback()

	def test_held_list_updates_reach_the_records_readers(self):
		"""What replaces the doctype room: each reader's own room, after commit."""
		from pipeline_app.realtime import readers_of

		frappe.set_user(self.bob)
		try:
			todo = self.bobs_todo()
		finally:
			frappe.set_user("Administrator")
		readers = readers_of(todo, self.team_b)
		self.assertIn(self.bob, readers)
		self.assertNotIn(self.alice, readers)
		frappe.db.rollback()

	def bobs_todo(self):
		return frappe.get_doc(
			{
				"doctype": "ToDo",
				"allocated_to": self.bob,
				"description": "call back",
				"reference_type": "Pipeline Opportunity",
				"reference_name": self.opp_b,
			}
		).insert()
