"""Where deals come from, end to end over HTTP: ERPNext Leads and Opportunities converted to Pipeline
Opportunities (the form button's method), and the bench command that imports ERPNext Opportunities
into a team's funnel. Runs on the ERPNext site only (marker `erpnext`). HTTP tests commit their data
(the web server is another process)."""

import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

import frappe
import pytest
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, random_string, today

from pipeline_app.erpnext.conversion import import_erpnext_opportunities
from pipeline_app.tests.erpnext_factories import default_company, make_erpnext_team, make_item, make_seller
from pipeline_app.tests.factories import make_user, purge_team, stage_named
from pipeline_app.tests.http_client import Client

pytestmark = pytest.mark.erpnext

STATUS_CYCLE = ("Open", "Replied", "Lost", "Converted", "Quotation")
CONVERT = "pipeline_app.erpnext.conversion.convert_to_pipeline_opportunity"
OPPORTUNITY = "Pipeline Opportunity"


def make_lead(**fields) -> str:
	suffix = random_string(6)
	lead = frappe.get_doc(
		{
			"doctype": "Lead",
			"first_name": f"Lena {suffix}",
			"company_name": f"Lead Org {suffix}",
			"email_id": f"lead.{suffix.lower()}@buyer.test",
			"mobile_no": "+31 6 1234 5678",
			"company": default_company(),
			**fields,
		}
	)
	lead.insert(ignore_permissions=True)
	return lead.name


def make_customer() -> str:
	return (
		frappe.get_doc({"doctype": "Customer", "customer_name": f"Customer {random_string(6)}"})
		.insert(ignore_permissions=True)
		.name
	)


def sales_stage(name: str) -> str:
	if not frappe.db.exists("Sales Stage", name):
		frappe.get_doc({"doctype": "Sales Stage", "stage_name": name}).insert(ignore_permissions=True)
	return name


def make_erpnext_opportunity(items=(), status: str | None = None, lost_reasons=(), **fields) -> str:
	"""An ERPNext Opportunity of a new customer with item lines [(item, qty, rate)]."""
	doc = frappe.get_doc(
		{
			"doctype": "Opportunity",
			"opportunity_from": "Customer",
			"party_name": fields.pop("party_name", None) or make_customer(),
			"company": default_company(),
			"transaction_date": today(),
			"items": [{"item_code": item, "qty": qty, "rate": rate} for item, qty, rate in items],
			"lost_reasons": [{"lost_reason": reason} for reason in lost_reasons],
			**fields,
		}
	)
	doc.insert(ignore_permissions=True)
	if status:
		frappe.db.set_value("Opportunity", doc.name, "status", status)
	return doc.name


def lost_reason(name: str) -> str:
	if not frappe.db.exists("Opportunity Lost Reason", name):
		frappe.get_doc({"doctype": "Opportunity Lost Reason", "lost_reason": name}).insert(
			ignore_permissions=True
		)
	return name


def info_comments(doctype: str, name: str) -> list[str]:
	return frappe.get_all(
		"Comment",
		{"reference_doctype": doctype, "reference_name": name, "comment_type": "Info"},
		pluck="content",
	)


def made_from(field: str, source: str) -> list[str]:
	frappe.db.rollback()  # a fresh snapshot: the web server commits in its own process
	return frappe.get_all(OPPORTUNITY, {field: source}, pluck="name")


class ConversionCase(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.company = default_company()
		cls.seller = make_seller()
		cls.other_seller = make_seller()
		cls.team = make_erpnext_team(members=[cls.seller]).name
		cls.other_team = make_erpnext_team(members=[cls.other_seller]).name
		cls.item = make_item()
		frappe.db.commit()
		cls.client = Client.as_user(cls.seller)
		cls.other_client = Client.as_user(cls.other_seller)

	def convert(self, doctype: str, name: str, team: str | None = None, client=None):
		return (client or self.client).call(CONVERT, doctype=doctype, name=name, team=team or self.team)

	def converted(self, doctype: str, name: str) -> frappe._dict:
		response = self.convert(doctype, name)
		self.assertEqual(response.status_code, 200, response.text[:500])
		frappe.db.rollback()
		return frappe._dict(response.json()["message"])


class TestLeadConversion(ConversionCase):
	def test_a_lead_becomes_an_opportunity_with_its_contact_and_link(self):
		lead = make_lead()
		frappe.db.commit()
		answer = self.converted("Lead", lead)
		self.assertTrue(answer.created)
		opportunity = frappe.get_doc(OPPORTUNITY, answer.name)
		contact = frappe.db.get_value(
			"Dynamic Link", {"parenttype": "Contact", "link_doctype": "Lead", "link_name": lead}, "parent"
		)
		self.assertTrue(contact)
		self.assertEqual(
			(
				opportunity.title,
				opportunity.lead,
				opportunity.contact,
				opportunity.company,
				opportunity.team,
				opportunity.stage,
				opportunity.status,
				opportunity.opportunity_owner,
			),
			(
				frappe.db.get_value("Lead", lead, "company_name"),
				lead,
				contact,
				self.company,
				self.team,
				stage_named(self.team, "New"),
				"Open",
				self.seller,
			),
		)
		self.assertTrue(any(lead in note for note in info_comments(OPPORTUNITY, answer.name)))
		self.assertTrue(any(answer.name in note for note in info_comments("Lead", lead)))

	def test_a_lead_without_a_contact_gives_its_name_email_and_phone(self):
		lead = make_lead(company_name=None)
		frappe.db.delete("Dynamic Link", {"parenttype": "Contact", "link_doctype": "Lead", "link_name": lead})
		frappe.db.commit()
		opportunity = frappe.get_doc(OPPORTUNITY, self.converted("Lead", lead).name)
		lead_name, email = frappe.db.get_value("Lead", lead, ["lead_name", "email_id"])
		self.assertEqual(
			(
				opportunity.title,
				opportunity.contact,
				opportunity.contact_name,
				opportunity.contact_email,
				opportunity.contact_phone,
			),
			(lead_name, None, lead_name, email, "+31 6 1234 5678"),
		)

	def test_converting_twice_gives_the_same_opportunity(self):
		lead = make_lead()
		frappe.db.commit()
		first = self.converted("Lead", lead)
		second = self.converted("Lead", lead)
		self.assertEqual((first.created, second.created, second.name), (True, False, first.name))
		self.assertEqual(made_from("lead", lead), [first.name])
		self.assertEqual(len(info_comments("Lead", lead)), 1)
		# another team gets its own
		theirs = self.converted_by_other_team(lead)
		self.assertNotEqual(theirs, first.name)
		self.assertEqual(sorted(made_from("lead", lead)), sorted([first.name, theirs]))

	def converted_by_other_team(self, lead: str) -> str:
		response = self.convert("Lead", lead, team=self.other_team, client=self.other_client)
		self.assertEqual(response.status_code, 200, response.text[:500])
		return response.json()["message"]["name"]

	def test_simultaneous_conversions_make_one_opportunity(self):
		lead = make_lead()
		frappe.db.commit()
		clients = [Client(self.client.session.headers["Authorization"]) for _ in range(5)]
		with ThreadPoolExecutor(max_workers=len(clients)) as pool:
			responses = list(pool.map(lambda client: self.convert("Lead", lead, client=client), clients))
		for response in responses:
			self.assertEqual(response.status_code, 200, response.text[:500])
		answers = [response.json()["message"] for response in responses]
		self.assertEqual(len({answer["name"] for answer in answers}), 1, answers)
		self.assertEqual(sum(answer["created"] for answer in answers), 1, answers)
		self.assertEqual(made_from("lead", lead), [answers[0]["name"]])
		self.assertEqual(len(info_comments("Lead", lead)), 1)


class TestOpportunityConversion(ConversionCase):
	def test_an_erpnext_opportunity_brings_its_items_customer_and_stage(self):
		# the team's stage is named like ERPNext's sales stage, case aside
		frappe.db.set_value(
			"Funnel Stage", stage_named(self.team, "Qualification"), "stage_name", "QUALIFICATION"
		)
		close = add_days(today(), 20)
		source = make_erpnext_opportunity(
			items=[(self.item, 3, 40)],
			sales_stage=sales_stage("Qualification"),
			expected_closing=close,
			title="Big order",
		)
		frappe.db.commit()
		answer = self.converted("Opportunity", source)
		opportunity = frappe.get_doc(OPPORTUNITY, answer.name)
		self.assertEqual(
			(
				opportunity.title,
				opportunity.erpnext_opportunity,
				opportunity.customer,
				opportunity.company,
				opportunity.stage,
				opportunity.status,
				str(opportunity.expected_close_date),
				opportunity.amount,
			),
			(
				"Big order",
				source,
				frappe.db.get_value("Opportunity", source, "party_name"),
				self.company,
				stage_named(self.team, "QUALIFICATION"),
				"Open",
				close,
				120,
			),
		)
		self.assertEqual([(row.item, row.qty, row.rate) for row in opportunity.items], [(self.item, 3, 40)])
		self.assertTrue(any(source in note for note in info_comments(OPPORTUNITY, answer.name)))
		self.assertTrue(any(answer.name in note for note in info_comments("Opportunity", source)))
		self.assertIn(
			("Opportunity", source),
			frappe.get_all(
				"Pipeline Stage Change",
				{"opportunity": answer.name, "change_type": "Stage"},
				["caused_by_doctype", "caused_by"],
				as_list=True,
			),
		)

	def test_a_sales_stage_the_team_does_not_have_goes_to_the_first_stage(self):
		source = make_erpnext_opportunity(sales_stage=sales_stage("Prospecting"))
		frappe.db.commit()
		opportunity = frappe.get_doc(OPPORTUNITY, self.converted("Opportunity", source).name)
		self.assertEqual(opportunity.stage, stage_named(self.team, "New"))

	def test_a_sales_stage_matches_by_a_part_of_its_name(self):
		source = make_erpnext_opportunity(sales_stage=sales_stage("Proposal/Price Quote"))
		frappe.db.commit()
		opportunity = frappe.get_doc(OPPORTUNITY, self.converted("Opportunity", source).name)
		self.assertEqual(opportunity.stage, stage_named(self.team, "Proposal"))

	def test_lost_becomes_lost_with_its_reason_and_converted_becomes_won(self):
		reason = lost_reason(f"Budget cut {random_string(4)}")
		lost = make_erpnext_opportunity(
			status="Lost", lost_reasons=[reason], order_lost_reason="No budget this year"
		)
		won = make_erpnext_opportunity(status="Converted")
		frappe.db.commit()
		lost = frappe.get_doc(OPPORTUNITY, self.converted("Opportunity", lost).name)
		won = frappe.get_doc(OPPORTUNITY, self.converted("Opportunity", won).name)
		self.assertEqual(
			(lost.status, lost.stage, lost.lost_reason, lost.lost_detail),
			("Lost", stage_named(self.team, "Lost"), reason, "No budget this year"),
		)
		self.assertTrue(frappe.db.exists("Pipeline Lost Reason", reason))
		self.assertEqual((won.status, won.stage), ("Won", stage_named(self.team, "Won")))

	def test_an_opportunity_of_a_lead_names_the_lead_and_its_contact(self):
		lead = make_lead()
		source = make_erpnext_opportunity(opportunity_from="Lead", party_name=lead)
		frappe.db.commit()
		opportunity = frappe.get_doc(OPPORTUNITY, self.converted("Opportunity", source).name)
		contact = frappe.db.get_value(
			"Dynamic Link", {"parenttype": "Contact", "link_doctype": "Lead", "link_name": lead}, "parent"
		)
		self.assertEqual(
			(opportunity.lead, opportunity.customer, opportunity.contact, opportunity.erpnext_opportunity),
			(lead, None, contact, source),
		)


class TestConversionRefused(ConversionCase):
	def assert_nothing_made(self, lead: str):
		self.assertEqual(made_from("lead", lead), [])
		self.assertEqual(info_comments("Lead", lead), [])

	def test_a_seller_of_another_team_is_refused_as_for_a_missing_team(self):
		lead = make_lead()
		frappe.db.commit()
		foreign = self.convert("Lead", lead, team=self.team, client=self.other_client)
		missing = self.convert("Lead", lead, team="No such team", client=self.other_client)
		self.assertEqual(foreign.status_code, 404, foreign.text[:300])
		self.assertEqual(foreign.status_code, missing.status_code)

		def answer(response, team):
			return re.sub(r"__frappe_exc_id[^,}]*", "", response.text.replace(team, "X"))

		self.assertEqual(answer(foreign, self.team), answer(missing, "No such team"))
		self.assert_nothing_made(lead)

	def test_a_team_member_without_read_on_the_lead_is_refused(self):
		member = make_user(roles=("Pipeline User",))
		team = frappe.get_doc("Pipeline Team", self.team)
		team.append("members", {"user": member})
		team.save(ignore_permissions=True)
		lead = make_lead()
		frappe.db.commit()
		response = self.convert("Lead", lead, client=Client.as_user(member))
		self.assertEqual(response.status_code, 403, response.text[:300])
		self.assert_nothing_made(lead)

	def test_a_doctype_other_than_lead_or_opportunity_is_a_4xx(self):
		customer = make_customer()
		frappe.db.commit()
		before = frappe.db.count(OPPORTUNITY)
		for doctype in ("Customer", "Pipeline Opportunity", "No Such Doctype"):
			response = self.convert(doctype, customer)
			self.assertTrue(400 <= response.status_code < 500, response.text[:300])
			self.assertIn("Only a Lead or an Opportunity", response.text)
		frappe.db.rollback()
		self.assertEqual(frappe.db.count(OPPORTUNITY), before)
		self.assertEqual(info_comments("Customer", customer), [])


class TestImportCommand(ConversionCase):
	"""`bench pipeline-import-erpnext-opportunities`, run as the command itself."""

	COUNT = 300

	def run_command(self, *args) -> str:
		"""Runs the command in the bench (pytest runs in its sites directory)."""
		result = subprocess.run(
			[
				"bench",
				"--site",
				frappe.local.site,
				"pipeline-import-erpnext-opportunities",
				"--team",
				self.import_team,
				*args,
			],
			cwd="..",
			capture_output=True,
			text=True,
			timeout=1200,
		)
		self.assertEqual(result.returncode, 0, result.stdout[-2000:] + result.stderr[-2000:])
		frappe.db.rollback()
		return result.stdout

	def counts(self, output: str) -> tuple[int, int, int]:
		found = re.search(r"imported (\d+), skipped (\d+) \(already in the team\), failed (\d+)", output)
		self.assertTrue(found, output)
		return tuple(int(value) for value in found.groups())

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.customers = [make_customer() for _ in range(10)]
		cls.import_team = make_erpnext_team(members=[cls.seller]).name
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		"""The import takes every ERPNext Opportunity of the site: this test's go, and what the team
		imported (trusted test cleanup, in bulk)."""
		frappe.db.rollback()
		sources = frappe.get_all("Opportunity", {"party_name": ("in", cls.customers)}, pluck="name")
		imported = frappe.get_all(OPPORTUNITY, {"team": cls.import_team}, pluck="name")
		for doctype, field, names in (
			("Opportunity Item", "parent", sources),
			("Opportunity Lost Reason Detail", "parent", sources),
			("Comment", "reference_name", sources),
			("Opportunity", "name", sources),
			("Pipeline Opportunity Item", "parent", imported),
			("Pipeline Stage Change", "opportunity", imported),
			("Comment", "reference_name", imported),
			("ToDo", "reference_name", imported),
			(OPPORTUNITY, "name", imported),
		):
			if names:
				frappe.db.delete(doctype, {field: ("in", names)})
		frappe.db.commit()
		purge_team(cls.import_team)
		super().tearDownClass()

	def test_import_brings_every_erpnext_opportunity_once(self):
		stages = [sales_stage("Qualification"), sales_stage("Negotiation/Review"), sales_stage("Prospecting")]
		reason = lost_reason("Lost to a competitor")
		ours = []
		for index in range(self.COUNT):
			status = STATUS_CYCLE[index % 5]
			ours.append(
				make_erpnext_opportunity(
					items=[(self.item, index % 4 + 1, 25)],
					sales_stage=stages[index % 3],
					status=status,
					lost_reasons=[reason] if status == "Lost" else [],
					party_name=self.customers[index % len(self.customers)],
				)
			)
		frappe.db.commit()
		total = frappe.db.count("Opportunity")
		# one converted by a seller before the import is not imported again
		converted = self.convert("Opportunity", ours[0], team=self.import_team)
		self.assertEqual(converted.status_code, 200, converted.text[:300])

		first = self.run_command("--limit", "100")
		self.assertEqual(self.counts(first)[::2], (100, 0), first)
		rest = self.run_command()
		self.assertEqual(self.counts(rest), (total - 101, 101, 0), rest)
		again = self.run_command()
		self.assertEqual(self.counts(again), (0, total, 0), again)

		imported = frappe.get_all(
			OPPORTUNITY,
			{"team": self.import_team, "erpnext_opportunity": ("in", ours)},
			["name", "erpnext_opportunity", "stage", "status", "amount", "lost_reason"],
		)
		self.assertEqual(len(imported), self.COUNT)
		self.assertEqual(frappe.db.count(OPPORTUNITY, {"team": self.import_team}), total)
		by_source = {row.erpnext_opportunity: row for row in imported}
		self.assertEqual(by_source[ours[0]].name, converted.json()["message"]["name"])
		open_stage = {
			"Qualification": stage_named(self.import_team, "Qualification"),
			"Negotiation/Review": stage_named(self.import_team, "Negotiation"),
			"Prospecting": stage_named(self.import_team, "New"),
		}
		for index, source in enumerate(ours):
			row = by_source[source]
			status = STATUS_CYCLE[index % 5]
			if status == "Lost":
				expected = ("Lost", stage_named(self.import_team, "Lost"), reason)
			elif status == "Converted":
				expected = ("Won", stage_named(self.import_team, "Won"), None)
			else:
				expected = ("Open", open_stage[stages[index % 3]], None)
			self.assertEqual((row.status, row.stage, row.lost_reason), expected, source)
			self.assertEqual(row.amount, (index % 4 + 1) * 25, source)
		# as the document API leaves them: items, the stage history, the timeline notes
		sample = by_source[ours[7]].name
		self.assertEqual(
			[(row.item, row.qty, row.rate) for row in frappe.get_doc(OPPORTUNITY, sample).items],
			[(self.item, 4, 25)],
		)
		self.assertTrue(frappe.db.exists("Pipeline Stage Change", {"opportunity": sample}))
		self.assertTrue(any(ours[7] in note for note in info_comments(OPPORTUNITY, sample)))
		self.assertTrue(any(sample in note for note in info_comments("Opportunity", ours[7])))
		self.assertRegex(rest, r"\n  Qualification: \d+")
		# the import's comments (one statement per batch) are the rows a single conversion leaves
		single = self.comment_row("Opportunity", ours[0])
		bulk = self.comment_row("Opportunity", ours[7])
		self.assertEqual(bulk, single)

	def comment_row(self, doctype: str, name: str) -> dict:
		row = frappe.db.sql(
			"select * from `tabComment` where reference_doctype = %s and reference_name = %s"
			" and comment_type = 'Info'",
			(doctype, name),
			as_dict=True,
		)[0]
		for varying in ("name", "creation", "modified", "owner", "modified_by", "comment_email"):
			self.assertTrue(row.pop(varying), varying)
		self.assertIn("Converted to Pipeline Opportunity", row.pop("content"))
		row.pop("reference_name")
		return row

	def test_an_unknown_team_or_status_is_refused(self):
		before = frappe.db.count(OPPORTUNITY, {"team": self.import_team})
		with self.assertRaises(frappe.DoesNotExistError):
			import_erpnext_opportunities("No such team")
		with self.assertRaises(frappe.ValidationError):
			import_erpnext_opportunities(self.import_team, statuses=["Open", "Sideways"])
		self.assertEqual(frappe.db.count(OPPORTUNITY, {"team": self.import_team}), before)
