"""Messages: Communication records, the opportunity's conversation fields, reply moves, inbound
creation without duplicates, the POST-only API and the secret-protected webhook."""

import random
from concurrent.futures import ThreadPoolExecutor

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import random_string
from requests.adapters import HTTPAdapter

from pipeline_app import api
from pipeline_app.automation.conversations import record_message
from pipeline_app.tests.factories import (
	make_contact,
	make_opportunity,
	make_team,
	make_user,
	purge_team,
	stage_named,
)
from pipeline_app.tests.http_client import Client, message


def random_number(digits: int) -> str:
	return f"{int(frappe.generate_hash(length=12), 16) % 10**digits:0{digits}d}"


class TestConversations(FrappeTestCase):
	def setUp(self):
		self.team = make_team(template="Appointment funnel").name
		self.email = f"{random_string(8).lower()}@customer.test"
		self.digits = f"316{random_number(8)}"
		self.contact = make_contact(
			email=self.email, phone=f"+{self.digits[:2]} {self.digits[2]} {self.digits[3:]}"
		)
		self.opportunity = make_opportunity(self.team, contact=self.contact)

	def current(self, name=None):
		return frappe.get_doc("Pipeline Opportunity", name or self.opportunity.name)

	def test_inbound_message_updates_fields_and_moves_first_stage_to_replied(self):
		result = record_message(
			self.email, "Inbound", "Yes, <b>interested</b>!", channel="WhatsApp", team=self.team
		)
		self.assertEqual((result["opportunity"], result["created"]), (self.opportunity.name, False))
		communication = frappe.get_doc("Communication", result["communication"])
		self.assertEqual(
			(
				communication.reference_name,
				communication.sent_or_received,
				communication.communication_medium,
			),
			(self.opportunity.name, "Received", "Chat"),
		)
		self.assertIn(self.contact, [link.link_name for link in communication.timeline_links])
		doc = self.current()
		self.assertEqual((doc.unread_count, doc.unanswered), (1, 1))
		self.assertIsNotNone(doc.last_inbound_on)
		self.assertEqual(doc.last_activity_on, doc.last_inbound_on)
		self.assertIn("interested", doc.last_message_preview)
		self.assertNotIn("<b>", doc.last_message_preview)
		self.assertEqual(doc.stage, stage_named(self.team, "Contact replied"))
		notes = frappe.get_all(
			"Comment", {"reference_name": doc.name, "comment_type": "Info"}, pluck="content"
		)
		self.assertEqual(len(notes), 1)

	def test_second_inbound_counts_unread_and_moves_no_further(self):
		record_message(self.email, "Inbound", "one", channel="SMS", team=self.team)
		doc = self.current()
		doc.stage = stage_named(self.team, "Intake")
		doc.save()
		record_message(f"+{self.digits}", "Inbound", "two", channel="SMS", team=self.team)
		doc = self.current()
		self.assertEqual((doc.unread_count, doc.stage), (2, stage_named(self.team, "Intake")))

	def test_outbound_answers(self):
		record_message(self.email, "Inbound", "question", channel="Email", team=self.team)
		record_message(self.email, "Outbound", "answer", channel="Email", team=self.team)
		doc = self.current()
		self.assertEqual((doc.unread_count, doc.unanswered), (0, 0))
		self.assertIsNotNone(doc.last_outbound_on)
		self.assertEqual(doc.last_message_preview, "answer")

	def test_inbound_from_unknown_number_creates_contact_and_one_opportunity(self):
		number = f"+4917{int(frappe.generate_hash(length=6), 16) % 10_000_000:07d}"
		first = record_message(
			number, "Inbound", "hi", channel="WhatsApp", team=self.team, sender_name="New Lead"
		)
		# the message that opened the opportunity is no reply: it stays in the first stage
		self.assertEqual(self.current(first["opportunity"]).stage, stage_named(self.team, "Opt In"))
		second = record_message(number, "Inbound", "anyone?", channel="WhatsApp", team=self.team)
		self.assertTrue(first["created"])
		self.assertFalse(second["created"])
		self.assertEqual(first["opportunity"], second["opportunity"])
		doc = self.current(first["opportunity"])
		self.assertEqual(
			(doc.stage, doc.source, doc.unread_count), (stage_named(self.team, "Contact replied"), "Chat", 2)
		)
		self.assertEqual(frappe.db.get_value("Contact", first["contact"], "first_name"), "New Lead")

	def test_of_duplicate_contacts_the_one_the_team_talks_to_gets_the_message(self):
		with self.freeze_time("2024-01-01 10:00:00"):  # an older duplicate with the same number
			duplicate = make_contact(phone=f"+{self.digits}")
		result = record_message(f"+{self.digits}", "Inbound", "hello", channel="SMS", team=self.team)
		self.assertEqual((result["contact"], result["opportunity"]), (self.contact, self.opportunity.name))
		self.assertFalse(result["created"])
		# a team talking to neither gets the oldest, every time
		other = make_team(template="Appointment funnel").name
		first = record_message(f"+{self.digits}", "Inbound", "hi", channel="SMS", team=other)
		second = record_message(f"+{self.digits}", "Inbound", "again", channel="SMS", team=other)
		self.assertEqual((first["contact"], second["contact"]), (duplicate, duplicate))
		self.assertEqual(first["opportunity"], second["opportunity"])

	def test_team_without_inbound_creation_refuses_unknown_contact(self):
		sales = make_team(template="Sales funnel").name
		before = frappe.db.count("Communication")
		with self.assertRaises(frappe.DoesNotExistError):
			record_message("stranger@nowhere.test", "Inbound", "hi", channel="Email", team=sales)
		self.assertEqual(frappe.db.count("Communication"), before)
		self.assertFalse(frappe.db.exists("Contact Email", {"email_id": "stranger@nowhere.test"}))

	def test_bad_input_changes_nothing(self):
		before = frappe.db.count("Communication")
		for args in (
			(self.email, "Sideways", "x", "Chat"),
			(self.email, "Inbound", "   ", "Chat"),
			(self.email, "Inbound", "x", "Pigeon"),
			("12", "Inbound", "x", "Chat"),
		):
			with self.assertRaises(frappe.ValidationError, msg=args):
				record_message(*args[:3], channel=args[3], team=self.team)
		self.assertEqual(frappe.db.count("Communication"), before)
		self.assertEqual(self.current().unread_count, 0)

	def test_email_received_by_an_email_account_updates_the_contacts_open_opportunities(self):
		frappe.get_doc(
			{
				"doctype": "Communication",
				"communication_type": "Communication",
				"communication_medium": "Email",
				"sent_or_received": "Received",
				"subject": "Re: offer",
				"content": "Sounds good",
				"sender": self.email,
				"timeline_links": [{"link_doctype": "Contact", "link_name": self.contact}],
			}
		).insert(ignore_permissions=True)
		doc = self.current()
		self.assertEqual((doc.unread_count, doc.last_message_preview), (1, "Sounds good"))


class TestMessageEndpoints(FrappeTestCase):
	"""Over HTTP: the API is POST-only and permission-checked, the webhook wants the team's secret."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.member = make_user()
		cls.outsider = make_user()
		cls.secret = frappe.generate_hash(length=24)
		cls.team = make_team(
			template="Appointment funnel", members=[cls.member], webhook_secret=cls.secret
		).name
		cls.email = f"{random_string(8).lower()}@customer.test"
		cls.contact = make_contact(email=cls.email)
		cls.opportunity = make_opportunity(cls.team, contact=cls.contact).name
		frappe.db.commit()
		cls.as_member = Client.as_user(cls.member)
		cls.as_outsider = Client.as_user(cls.outsider)

	@classmethod
	def tearDownClass(cls):
		purge_team(cls.team)
		super().tearDownClass()

	def unread(self):
		frappe.db.rollback()
		return frappe.db.get_value("Pipeline Opportunity", self.opportunity, "unread_count")

	def test_log_message_by_a_member(self):
		before = self.unread()
		result = message(
			self.as_member.call(
				"pipeline_app.api.log_message",
				contact=self.email,
				direction="Inbound",
				text="hello",
				channel="SMS",
				team=self.team,
			)
		)
		self.assertEqual(result["opportunity"], self.opportunity)
		self.assertEqual(self.unread(), before + 1)

	def test_log_message_is_post_only(self):
		before = self.unread()
		response = self.as_member.call(
			"pipeline_app.api.log_message",
			"GET",
			contact=self.email,
			direction="Inbound",
			text="x",
			team=self.team,
		)
		self.assertIn(response.status_code, (403, 405))
		self.assertEqual(self.unread(), before)

	def test_log_message_by_an_outsider_is_denied(self):
		before = self.unread()
		for args in ({"team": self.team}, {"opportunity": self.opportunity}):
			response = self.as_outsider.call(
				"pipeline_app.api.log_message", contact=self.email, direction="Inbound", text="x", **args
			)
			# another team's team or opportunity answers as one that does not exist
			self.assertEqual(response.status_code, 404, response.text[:300])
		self.assertEqual(self.unread(), before)

	def test_webhook_with_the_secret(self):
		before = self.unread()
		response = Client().request(
			"POST",
			"/api/method/pipeline_app.api.receive_message",
			data={"team": self.team, "contact": self.email, "text": "via webhook", "channel": "WhatsApp"},
			headers={"X-Pipeline-Secret": self.secret},
		)
		self.assertEqual(response.status_code, 200, response.text[:300])
		self.assertEqual(self.unread(), before + 1)

	def test_first_messages_of_a_new_number_at_once_make_one_contact_and_one_opportunity(self):
		number = f"+4915{random_number(8)}"

		clients = [Client() for _ in range(4)]  # made here: threads have no frappe.local

		def post(client, text):
			return client.request(
				"POST",
				"/api/method/pipeline_app.api.receive_message",
				data={"team": self.team, "contact": number, "text": text, "channel": "WhatsApp"},
				headers={"X-Pipeline-Secret": self.secret},
			)

		with ThreadPoolExecutor(max_workers=4) as pool:
			responses = list(pool.map(post, clients, [f"hello {i}" for i in range(4)]))
		for response in responses:
			self.assertEqual(response.status_code, 200, response.text[:300])
		frappe.db.rollback()
		results = [message(response) for response in responses]
		self.assertEqual(len({r["contact"] for r in results}), 1)
		self.assertEqual(len({r["opportunity"] for r in results}), 1)
		self.assertEqual(sum(r["created"] for r in results), 1)
		contact = results[0]["contact"]
		self.assertEqual(frappe.db.count("Pipeline Opportunity", {"contact": contact}), 1)
		self.assertEqual(
			frappe.db.get_value("Pipeline Opportunity", results[0]["opportunity"], "unread_count"), 4
		)

	def test_webhook_rejects_wrong_or_missing_secret_and_unknown_team(self):
		before = self.unread()
		communications = frappe.db.count("Communication")
		for team, headers in (
			(self.team, {"X-Pipeline-Secret": "wrong"}),
			(self.team, {}),
			("No Such Team", {"X-Pipeline-Secret": self.secret}),
		):
			response = Client().request(
				"POST",
				"/api/method/pipeline_app.api.receive_message",
				data={"team": team, "contact": self.email, "text": "forged"},
				headers=headers,
			)
			self.assertIn(response.status_code, (401, 403), response.text[:300])
		self.assertEqual(self.unread(), before)
		self.assertEqual(frappe.db.count("Communication"), communications)


class SourceAddressAdapter(HTTPAdapter):
	"""Connects from a given loopback address: the web server sees it as the peer address."""

	def __init__(self, address: str, **kwargs):
		self.address = address
		super().__init__(**kwargs)

	def init_poolmanager(self, *args, **kwargs):
		kwargs["source_address"] = (self.address, 0)
		super().init_poolmanager(*args, **kwargs)


class TestWebhookLimits(FrappeTestCase):
	"""The webhook's rate limit follows the team and the connection's peer address (not a header a
	client can change), and its size limits answer 413 with nothing recorded."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.secret = frappe.generate_hash(length=24)
		cls.team = make_team(template="Appointment funnel", webhook_secret=cls.secret).name
		cls.email = f"{random_string(8).lower()}@customer.test"
		cls.contact = make_contact(email=cls.email)
		cls.opportunity = make_opportunity(cls.team, contact=cls.contact).name
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		purge_team(cls.team)
		super().tearDownClass()

	def setUp(self):
		self.keys = []

	def tearDown(self):
		for key in self.keys:
			frappe.cache.delete(key)

	def peer(self) -> str:
		"""A loopback address of this test alone: other tests' webhook calls keep their own count."""
		return f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"

	def client(self, peer: str) -> Client:
		client = Client()
		client.session.mount("http://", SourceAddressAdapter(peer))
		return client

	def exhaust(self, kind: str, identity: str, limit: int) -> None:
		key = api.webhook_rate_key(kind, identity)
		self.keys.append(key)
		frappe.cache.set(key, limit)
		frappe.cache.expire(key, api.WEBHOOK_RATE_WINDOW)

	def send(self, client, headers=None, **data):
		return client.request(
			"POST",
			"/api/method/pipeline_app.api.receive_message",
			json={"team": self.team, "contact": self.email, "text": "hello", **data},
			headers={"X-Pipeline-Secret": self.secret, **(headers or {})},
		)

	def recorded(self):
		frappe.db.rollback()  # a fresh snapshot: the web server commits in its own process
		return (
			frappe.db.get_value("Pipeline Opportunity", self.opportunity, "unread_count"),
			frappe.db.count("Communication", {"reference_name": self.opportunity}),
		)

	def test_a_peer_over_its_limit_is_refused_whatever_it_forwards(self):
		peer = self.peer()
		limit = frappe.conf.get("pipeline_webhook_peer_rate_limit") or api.WEBHOOK_PEER_RATE_LIMIT
		self.exhaust("peer", peer, limit)
		before = self.recorded()
		for forwarded in (None, f"10.{random.randint(0, 255)}.0.1", "203.0.113.9, 10.0.0.1"):
			headers = {"X-Forwarded-For": forwarded} if forwarded else {}
			response = self.send(self.client(peer), headers=headers)
			self.assertEqual(response.status_code, 429, response.text[:300])
		self.assertEqual(self.recorded(), before)
		self.assertEqual(self.send(self.client(self.peer())).status_code, 200)

	def test_a_team_over_its_limit_is_refused_from_every_peer(self):
		limit = frappe.conf.get("pipeline_webhook_rate_limit") or api.WEBHOOK_RATE_LIMIT
		self.exhaust("team", self.team, limit)
		before = self.recorded()
		for _ in range(2):
			response = self.send(self.client(self.peer()), headers={"X-Forwarded-For": self.peer()})
			self.assertEqual(response.status_code, 429, response.text[:300])
		self.assertEqual(self.recorded(), before)

	def test_oversized_messages_answer_413_and_record_nothing(self):
		before = self.recorded()
		for data in (
			{"text": "x" * (api.MAX_MESSAGE_LENGTH + 1)},
			{"text": "x" * 2_000_000},
			{"subject": "s" * (api.MAX_SUBJECT_LENGTH + 1)},
			{"sender_name": "n" * (api.MAX_SENDER_NAME_LENGTH + 1)},
			{"padding": "p" * (api.WEBHOOK_MAX_REQUEST_BYTES + 1)},
		):
			response = self.send(self.client(self.peer()), **data)
			self.assertEqual(response.status_code, 413, f"{sorted(data)}: {response.text[:300]}")
			self.assertNotIn("Traceback", response.text)
		self.assertEqual(self.recorded(), before)

	def test_a_long_message_within_the_limit_is_recorded(self):
		unread, messages = self.recorded()
		response = self.send(self.client(self.peer()), text="y" * api.MAX_MESSAGE_LENGTH, subject="s" * 400)
		self.assertEqual(response.status_code, 200, response.text[:300])
		self.assertEqual(self.recorded(), (unread + 1, messages + 1))
