"""Every whitelisted method of the app, found by importing the app's modules (a new endpoint is swept
without editing this test), and the app's reports, called over HTTP with bad input: as a Pipeline
User of one team, as Guest, and with the wrong HTTP method. Each answer is 2xx or 4xx, never a 500,
carries no server traceback, and the data is the same afterwards."""

import hashlib
import importlib
import inspect
import json
import pkgutil
import sys
import time

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import random_string

import pipeline_app
from pipeline_app.tests.factories import (
	make_contact,
	make_opportunity,
	make_team,
	make_user,
	purge_team,
	stage_named,
)
from pipeline_app.tests.http_client import Client

HUGE = "x" * 150_000
# applied to every argument of a method at once: nothing in a call is valid, so nothing may change
POISONS = (
	"{bad",
	"[1,",
	"9" * 40,
	"-5",
	"2024-13-45",
	"no-such-record",
	{"nosuchcol": 1},
	[["User", "name", "=", "x"]],
	[1, 2],
	10**30,
	-5,
	1e308,
	True,
)
# one argument bad, the others valid: each value here is invalid for every method taking that argument
BAD_BY_NAME = {
	"filters": (
		"{bad",
		"[1,",
		{"nosuchcol": 1},
		[["User", "name", "=", "x"]],
		[["nosuchcol", "=", 1]],
		{"owner": {"a": 1}},
		{"status": 5},
		{"q": 5},
		{"team": ["a"]},
		5,
	),
	"values": (
		"{bad",
		[1],
		{"contact": "no-such-contact"},
		{"follow_up_on": "2024-13-45"},
		{"expected_close_date": "garbage"},
		{"amount": "abc"},
		{"amount": 1e300},
		{"title": {"a": 1}},
		{"description": "x" * 70_000},
		{"nosuch": 1},
		{"status": "Bogus"},
		{"team": {"name": ["like", "%"]}},
	),
	"start": (10**30, "abc", {"a": 1}),
	"limit": (10**30, "abc", {"a": 1}),
	"page_len": (10**30, "abc", {"a": 1}),
	"limit_per_stage": (10**30, "abc", {"a": 1}),
	"team": ("no-such-team", "FOREIGN_TEAM", {"a": 1}, HUGE),
	"name": ("no-such-opportunity", "FOREIGN_OPPORTUNITY", {"a": 1}),
	"opportunity": ("no-such-opportunity", "FOREIGN_OPPORTUNITY", {"a": 1}),
	"stage": ("no-such-stage", "FOREIGN_STAGE", {"a": 1}),
	"contact": ({"a": 1}, HUGE),
	"expected_modified": ("garbage", {"a": 1}),
	"text": ({"a": 1}, HUGE),
	"subject": ({"a": 1}, HUGE),
	"sender_name": ({"a": 1}, HUGE),
	"direction": ("Sideways", {"a": 1}),
	"channel": ("Pigeon", {"a": 1}),
	"doctype": ("NoSuchDoctype", {"a": 1}),
}
ALTERNATIVES = {"team": "opportunity", "opportunity": "team"}
REPORTS = ("Pipeline Time in Stage", "Pipeline Funnel Conversion", "Pipeline Forecast", "Pipeline Win Loss")
WATCHED_DOCTYPES = ("Contact", "Communication", "ToDo", "Comment")
TRACEBACK_KEYS = ("exc", "exception", "_exc_source", "_debug_messages")


def app_endpoints() -> dict[str, object]:
	"""Dotted path → function of every whitelisted method defined in the app's modules."""
	for module in pkgutil.walk_packages(pipeline_app.__path__, "pipeline_app."):
		if ".tests" in module.name or ".patches" in module.name:
			continue
		importlib.import_module(module.name)
	whitelisted = set(frappe.whitelisted)
	endpoints = {}
	for name, module in list(sys.modules.items()):
		if not name.startswith("pipeline_app.") or module is None or ".tests" in name:
			continue
		for attribute, value in vars(module).items():
			if callable(value) and value in whitelisted and getattr(value, "__module__", "") == name:
				endpoints[f"{name}.{attribute}"] = value
	return endpoints


def client_for(user: str) -> Client:
	"""A client with new API keys of `user`, set without saving the User (Frappe's User.validate locks
	one global default row, and other tests' user saves meanwhile can deadlock with it). Commits."""
	from frappe.utils.password import set_encrypted_password

	api_key = frappe.db.get_value("User", user, "api_key") or frappe.generate_hash(length=15)
	secret = frappe.generate_hash(length=15)
	frappe.db.set_value("User", user, "api_key", api_key, update_modified=False)
	set_encrypted_password("User", user, secret, "api_secret")
	frappe.db.commit()
	return Client(f"token {api_key}:{secret}")


class TestFuzz(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		suffix = random_string(6).lower()
		cls.seller = make_user(f"fuzz.seller.{suffix}@pipeline.test")
		cls.outsider = make_user(f"fuzz.outsider.{suffix}@pipeline.test")
		cls.secret = frappe.generate_hash(length=24)
		cls.team = make_team(f"Fuzz {suffix}", members=[cls.seller], webhook_secret=cls.secret).name
		cls.other_team = make_team(f"Fuzz other {suffix}", members=[cls.outsider]).name
		cls.email = f"fuzz.{suffix}@customer.test"
		cls.contact = make_contact(email=cls.email)
		cls.opportunity = make_opportunity(cls.team, contact=cls.contact).name
		cls.foreign = make_opportunity(cls.other_team).name
		cls.traceback_setting = frappe.get_system_settings("allow_error_traceback")
		frappe.db.set_single_value("System Settings", "allow_error_traceback", 1)
		frappe.db.commit()
		cls.as_seller = client_for(cls.seller)
		cls.as_guest = Client()
		for client in (cls.as_seller, cls.as_guest):
			client.session.headers["X-Pipeline-Secret"] = cls.secret
		cls.sane = {
			"team": cls.team,
			"name": cls.opportunity,
			"opportunity": cls.opportunity,
			"stage": stage_named(cls.team, "Qualification"),
			"contact": cls.email,
			"direction": "Inbound",
			"channel": "Chat",
			"text": "hello",
			"values": {"title": "fuzzed"},
			"doctype": "Pipeline Opportunity",
			"txt": "",
			"searchfield": "name",
			"start": 0,
			"page_len": 10,
			"filters": {"team": cls.team},
		}
		cls.placeholders = {
			"FOREIGN_TEAM": cls.other_team,
			"FOREIGN_OPPORTUNITY": cls.foreign,
			"FOREIGN_STAGE": stage_named(cls.other_team, "Qualification"),
		}

	@classmethod
	def tearDownClass(cls):
		frappe.db.rollback()
		frappe.db.set_single_value("System Settings", "allow_error_traceback", cls.traceback_setting)
		purge_team(cls.team, cls.other_team)
		frappe.delete_doc("Contact", cls.contact, force=True, ignore_permissions=True)
		frappe.db.commit()
		super().tearDownClass()

	# --- what must not change

	def snapshot(self) -> dict:
		"""Every row of the fixtures' teams (app tables), and the rows of Contact, Communication, ToDo
		and Comment written by the fuzzing users or attached to the teams' opportunities."""
		frappe.db.rollback()  # a fresh snapshot: the web server commits in its own process
		teams = (self.team, self.other_team)
		opportunities = frappe.get_all("Pipeline Opportunity", {"team": ("in", teams)}, pluck="name")
		tables = {
			"Pipeline Team": {"name": ("in", teams)},
			"Pipeline Team Member": {"parent": ("in", teams)},
			"Funnel Stage": {"team": ("in", teams)},
			"Pipeline Opportunity": {"team": ("in", teams)},
			"Pipeline Appointment": {"team": ("in", teams)},
			"Pipeline Stage Change": {"team": ("in", teams)},
		}
		snapshot = {}
		for doctype, filters in tables.items():
			snapshot[doctype] = self.checksum(doctype, filters)
		users = (self.seller, "Guest")
		for doctype in WATCHED_DOCTYPES:
			snapshot[doctype] = (
				self.checksum(doctype, {"owner": ("in", users)}),
				self.checksum(doctype, {"modified_by": ("in", users)}),
			)
		for doctype in ("Communication", "ToDo", "Comment"):
			snapshot[f"{doctype} of the opportunities"] = self.checksum(
				doctype, {"reference_name": ("in", opportunities)}
			)
		snapshot["Contact of the fixture"] = self.checksum("Contact", {"name": self.contact})
		return snapshot

	def checksum(self, doctype, filters):
		rows = frappe.get_all(doctype, filters=filters, fields=["*"], order_by="name asc")
		return len(rows), hashlib.sha256(frappe.as_json(rows).encode()).hexdigest()

	# --- calls

	def call(self, client, path, http_method, args):
		args = {
			key: self.placeholders.get(value, value) if isinstance(value, str) else value
			for key, value in args.items()
		}
		if http_method == "GET":
			params = {k: json.dumps(v) if not isinstance(v, str) else v for k, v in args.items()}
			response = client.request("GET", path, params=params)
		else:
			response = client.request("POST", path, json=args)
		self.check_answer(response, f"{http_method} {path} {sorted(args)}")
		return response

	def check_answer(self, response, label):
		self.assertLess(response.status_code, 500, f"{label}: {response.text[:600]}")
		self.assertNotIn("Traceback", response.text, label)
		try:
			body = response.json()
		except ValueError:
			return
		if isinstance(body, dict):
			leaked = [key for key in TRACEBACK_KEYS if key in body]
			self.assertFalse(leaked, f"{label}: {leaked} in {response.text[:600]}")

	def test_every_endpoint_answers_bad_input_with_a_4xx_and_changes_nothing(self):
		endpoints = app_endpoints()
		self.assertIn("pipeline_app.api.update_opportunity", endpoints)
		self.assertIn("pipeline_app.overrides.get_count", endpoints)
		started = time.monotonic()
		before = self.snapshot()
		calls = 0
		for path, fn in sorted(endpoints.items()):
			url = f"/api/method/{path}"
			methods = frappe.allowed_http_methods_for_whitelisted_func[fn]
			http_method = "POST" if "POST" in methods else methods[0]
			parameters = [
				p.name
				for p in inspect.signature(fn).parameters.values()
				if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
			]
			with self.subTest(endpoint=path):
				# nothing given, then every argument poisoned at once
				for client in (self.as_seller, self.as_guest):
					self.call(client, url, http_method, {})
					if "GET" not in methods:  # the GET/POST rule: a write refuses GET
						response = self.call(client, url, "GET", {name: "x" for name in parameters})
						self.assertIn(response.status_code, (401, 403, 405), response.text[:300])
				for poison in POISONS:
					self.call(self.as_seller, url, http_method, dict.fromkeys(parameters, poison))
					calls += 1
				for poison in POISONS[:3]:
					self.call(self.as_guest, url, http_method, dict.fromkeys(parameters, poison))
				# one argument bad, the others as a seller would send them
				sane = {name: self.sane[name] for name in parameters if name in self.sane}
				for name in parameters:
					# without the argument that would stand in for the bad one (log_message: team or opportunity)
					others = {k: v for k, v in sane.items() if k != ALTERNATIVES.get(name)}
					for bad in BAD_BY_NAME.get(name, ()):
						self.call(self.as_seller, url, http_method, {**others, name: bad})
						calls += 1
		for report in REPORTS:
			with self.subTest(report=report):
				for bad in (
					*BAD_BY_NAME["filters"],
					{"team": self.team, "from_date": "garbage"},
					{
						"team": self.team,
						"to_date": "2024-02-31",
					},
					{"team": self.team, "opportunity_owner": ["a", "b"]},
					{"team": "FOREIGN_TEAM"},
				):
					for client in (self.as_seller, self.as_guest):
						self.call(
							client,
							"/api/method/frappe.desk.query_report.run",
							"GET",
							{"report_name": report, "filters": bad, "ignore_prepared_report": 1},
						)
						calls += 1
		self.assertEqual(self.snapshot(), before)
		self.assertGreater(calls, 100)
		self.assertLess(time.monotonic() - started, 120, "the sweep must stay short")

	def test_a_pipeline_user_gets_no_traceback_from_a_server_error(self):
		"""An error the app did not foresee still reaches a Pipeline User without the server's code."""
		response = self.as_seller.request("GET", "/api/method/pipeline_app.api.no_such_method")
		self.assertGreaterEqual(response.status_code, 400)
		self.check_answer(response, "unknown method")

	def test_a_system_manager_still_gets_the_traceback(self):
		admin = make_user(roles=("System Manager",))
		frappe.db.commit()
		response = client_for(admin).call("pipeline_app.api.get_stage_cards", "GET", team=self.team)
		self.assertEqual(response.status_code, 417, response.text[:300])
		self.assertIn("exception", response.json())

	def test_missing_arguments_are_named(self):
		response = self.as_seller.call("pipeline_app.api.get_stage_cards", "GET", team=self.team)
		self.assertEqual(response.status_code, 417, response.text[:300])
		self.assertIn("Missing argument: stage", response.text)

	def test_a_dangling_contact_is_refused(self):
		"""Frappe v15 does not notice a Link to a missing record where the link fetches fields (the
		opportunity's contact fetches its name, email and phone): the app refuses it on every path."""
		before = self.snapshot()
		response = self.as_seller.call(
			"pipeline_app.api.update_opportunity",
			name=self.opportunity,
			values={"contact": "no-such-contact"},
		)
		self.assertEqual(response.status_code, 417, response.text[:300])
		self.assertIn("Could not find Contact", response.text)
		response = self.as_seller.put(
			f"/api/resource/Pipeline Opportunity/{self.opportunity}", {"contact": "no-such-contact"}
		)
		self.assertEqual(response.status_code, 417, response.text[:300])
		self.assertEqual(self.snapshot(), before)
