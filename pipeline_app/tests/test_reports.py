"""The Time in Stage report, computed from the stage history, and its team scoping; the
workspace's number cards and charts."""

import json

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, add_to_date, get_datetime, now_datetime, time_diff_in_seconds, today

from pipeline_app.pipeline_app.report.pipeline_funnel_conversion.pipeline_funnel_conversion import (
	execute as execute_conversion,
)
from pipeline_app.pipeline_app.report.pipeline_time_in_stage.pipeline_time_in_stage import execute
from pipeline_app.tests.factories import PASSWORD, make_opportunity, make_team, make_user, stage_named
from pipeline_app.tests.http_client import Client, message

REPORT = "Pipeline Time in Stage"
CONVERSION = "Pipeline Funnel Conversion"


class TestTimeInStage(FrappeTestCase):
	def setUp(self):
		self.seller = make_user()
		self.team = make_team(members=[self.seller]).name  # Sales funnel: New, Qualification, ...
		self.start = get_datetime(f"{add_days(today(), -10)} 09:00:00")

	def at(self, days):
		return self.freeze_time(add_to_date(self.start, days=days))

	def move(self, doc, stage_name, days):
		with self.at(days):
			doc.reload()
			doc.stage = stage_named(self.team, stage_name)
			doc.save()

	def rows(self, **filters):
		columns, rows, _message, chart, summary = execute({"team": self.team, **filters})
		self.assertEqual({c["fieldname"] for c in columns} - set().union(*rows), set())
		self.assertEqual(len(chart["data"]["labels"]), len(rows))
		self.assertEqual(summary[0]["value"], sum(row["entered"] for row in rows))
		return {row["stage_name"]: row for row in rows}

	def test_days_per_stage_from_the_history(self):
		with self.at(0):
			walker = make_opportunity(self.team, opportunity_owner=self.seller)
			winner = make_opportunity(self.team)
		with self.at(1):
			make_opportunity(self.team)  # stays in New
		self.move(walker, "Qualification", 2)
		self.move(walker, "Proposal", 5)
		self.move(winner, "Won", 3)

		rows = self.rows()
		new = rows["New"]
		self.assertEqual((new["entered"], new["moved_on"], new["still_there"]), (3, 2, 1))
		self.assertEqual((new["average_days"], new["median_days"], new["longest_days"]), (2.5, 2.5, 3))
		waiting = time_diff_in_seconds(now_datetime(), add_to_date(self.start, days=1)) / 86400
		self.assertAlmostEqual(new["average_age_days"], waiting, delta=0.01)
		qualification = rows["Qualification"]
		self.assertEqual((qualification["entered"], qualification["average_days"]), (1, 3))
		proposal = rows["Proposal"]
		self.assertEqual((proposal["entered"], proposal["moved_on"], proposal["still_there"]), (1, 0, 1))
		self.assertIsNone(proposal["average_days"])
		self.assertEqual(rows["Won"]["entered"], 1)
		self.assertIsNone(rows["Won"].get("average_days"))

		# the owner filter and the period
		self.assertEqual(self.rows(opportunity_owner=self.seller)["New"]["entered"], 1)
		later = self.rows(from_date=add_days(today(), -8))
		self.assertEqual((later["New"]["entered"], later["Qualification"]["entered"]), (0, 1))

	def test_closing_ends_a_stay_reopening_resumes_it_and_the_backfill_agrees(self):
		reason = frappe.get_all("Pipeline Lost Reason", pluck="name", limit=1)[0]
		with self.at(0):
			lost = make_opportunity(self.team)
			reopened = make_opportunity(self.team)
			odd = [make_opportunity(self.team) for _ in range(3)]
			abandoned, back = make_opportunity(self.team), make_opportunity(self.team)
		for doc in (abandoned, back):  # closed in its stage: the stay ends with it
			with self.at(3):
				doc.reload()
				doc.update({"status": "Abandoned"})
				doc.save()
		with self.at(5):  # reopened in the stage it stayed in: that stay goes on
			back.reload()
			back.update({"status": "Open"})
			back.save()
		with self.at(4):  # lost from New (its stage is the Lost stage now)
			lost.reload()
			lost.update({"status": "Lost", "lost_reason": reason})
			lost.save()
		with self.at(1):
			reopened.reload()
			reopened.update({"status": "On Hold", "on_hold_until": add_days(today(), 30)})
			reopened.save()  # On Hold is not closed: still there
		for days, doc in zip((1, 2, 6), odd, strict=True):
			self.move(doc, "Qualification", days)
		rows = self.rows()
		new = rows["New"]
		self.assertEqual((new["entered"], new["moved_on"], new["still_there"]), (7, 5, 2))
		self.assertEqual((new["average_days"], new["median_days"], new["longest_days"]), (3.2, 3, 6))
		# without the abandoned one: 1, 2, 4 and 6 days, the median of an even count is the mean of
		# the middle two
		frappe.delete_doc("Pipeline Opportunity", abandoned.name)
		new = self.rows()["New"]
		self.assertEqual((new["moved_on"], new["average_days"], new["median_days"]), (4, 3.25, 3))
		odd[0].reload()
		odd[0].update({"status": "Lost", "lost_reason": reason})
		odd[0].save()  # a stage change (to Lost) ended it already: nothing changes
		self.assertEqual(self.rows()["New"], new)

		# the history as an older version left it (no left_on): the patch gives the same figures
		frappe.db.sql("update `tabPipeline Stage Change` set left_on = null where team = %s", self.team)
		self.assertEqual(self.rows()["New"]["moved_on"], 0)
		from pipeline_app.patches.v0_5.record_stays_left_on import execute as backfill

		backfill()
		self.assertEqual(self.rows()["New"], new)

	def test_bad_filters_are_refused(self):
		with self.assertRaises(frappe.ValidationError):
			execute({})
		with self.assertRaises(frappe.ValidationError):
			execute({"team": self.team, "from_date": today(), "to_date": add_days(today(), -1)})


class TestFunnelConversion(FrappeTestCase):
	def setUp(self):
		self.seller = make_user()
		self.team = make_team(members=[self.seller]).name  # New, Qualification, Proposal, ...

	def move(self, doc, **values):
		doc.reload()
		doc.update(values)
		doc.save()

	def stage(self, name):
		return stage_named(self.team, name)

	def test_how_far_the_period_s_opportunities_got(self):
		with self.freeze_time(add_days(now_datetime(), -200)):
			make_opportunity(self.team)  # created before the period: not counted
		make_opportunity(self.team)  # stays in New
		walker = make_opportunity(self.team, opportunity_owner=self.seller)
		self.move(walker, stage=self.stage("Qualification"))
		self.move(walker, stage=self.stage("Proposal"))
		self.move(make_opportunity(self.team), status="Won")  # straight from New: past every stage
		loser = make_opportunity(self.team)
		self.move(loser, stage=self.stage("Qualification"))
		reason = frappe.get_all("Pipeline Lost Reason", pluck="name", limit=1)[0]
		self.move(loser, status="Lost", lost_reason=reason)

		_columns, rows, _message, chart, summary = execute_conversion({"team": self.team})
		by_stage = {row["stage_name"]: row for row in rows}
		self.assertEqual(
			[(name, by_stage[name]["reached"], by_stage[name]["from_previous"]) for name in by_stage],
			[
				("New", 4, None),
				("Qualification", 3, 75.0),
				("Proposal", 2, 66.7),
				("Negotiation", 1, 50.0),
				("Closing", 1, 100.0),
				("Won", 1, None),
				("Lost", 1, None),
			],
		)
		self.assertEqual(by_stage["Qualification"]["share_of_all"], 75.0)
		self.assertEqual(chart["data"]["datasets"][0]["values"], [4, 3, 2, 1, 1, 1, 1])
		self.assertEqual([item["value"] for item in summary], [4, 1, 1, 50.0])

		mine = {
			row["stage_name"]: row["reached"]
			for row in execute_conversion({"team": self.team, "opportunity_owner": self.seller})[1]
		}
		self.assertEqual((mine["New"], mine["Proposal"], mine["Won"]), (1, 1, 0))


class TestTimeInStageAccess(FrappeTestCase):
	"""Over HTTP, as the desk runs reports: members see their team's report, nobody else's."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.member = make_user()
		cls.outsider = make_user()
		cls.team = make_team(members=[cls.member]).name
		cls.other = make_team(members=[cls.outsider]).name
		make_opportunity(cls.team)
		frappe.db.commit()
		cls.as_member = Client.as_user(cls.member)
		cls.as_outsider = Client.as_user(cls.outsider)

	@classmethod
	def tearDownClass(cls):
		from pipeline_app.tests.factories import purge_team

		purge_team(cls.team, cls.other)
		super().tearDownClass()

	def run_report(self, client, team):
		return client.call(
			"frappe.desk.query_report.run",
			report_name=REPORT,
			filters={"team": team},
			ignore_prepared_report=1,
		)

	def test_a_member_runs_it_for_the_team(self):
		result = message(self.run_report(self.as_member, self.team))
		first = result["result"][0]
		self.assertEqual((first["stage_name"], first["entered"]), ("New", 1))

	def test_another_team_is_refused(self):
		# another team answers as a team that does not exist
		response = self.run_report(self.as_outsider, self.team)
		self.assertEqual(response.status_code, 404, response.text[:300])
		missing = self.run_report(self.as_outsider, "No Such Team")
		self.assertEqual(
			response.text.split("__frappe_exc_id")[0].replace(self.team, "<TEAM>"),
			missing.text.split("__frappe_exc_id")[0].replace("No Such Team", "<TEAM>"),
		)
		conversion = self.as_outsider.call(
			"frappe.desk.query_report.run",
			report_name=CONVERSION,
			filters={"team": self.team},
			ignore_prepared_report=1,
		)
		self.assertEqual(conversion.status_code, 404, conversion.text[:300])
		own = message(
			self.as_member.call(
				"frappe.desk.query_report.run",
				report_name=CONVERSION,
				filters={"team": self.team},
				ignore_prepared_report=1,
			)
		)
		self.assertEqual(own["result"][0]["reached"], 1)
		# run()'s `user` argument (a Frappe IDOR) does not let an outsider read as a member
		posing = self.as_outsider.call(
			"frappe.desk.query_report.run",
			report_name=REPORT,
			filters={"team": self.team},
			user=self.member,
			ignore_prepared_report=1,
		)
		self.assertEqual(posing.status_code, 404, posing.text[:300])
		self.assertNotIn('"result"', posing.text)
		self.assertNotIn("New", response.text.replace("New Notification", ""))


class TestReportsInTheUsersLanguage(FrappeTestCase):
	"""Over HTTP, as the desk runs them for a German user: the team reports (rows and charts) and the
	stage Link search name a template-made team's stages in German, as the board does."""

	@classmethod
	def setUpClass(cls):
		from pipeline_app.tests.test_insight_reports import close

		super().setUpClass()
		cls.german = make_user()
		user = frappe.get_doc("User", cls.german)
		user.language = "de"
		user.save(ignore_permissions=True)
		cls.team = make_team(members=[cls.german]).name  # Sales funnel, made in English
		proposal = stage_named(cls.team, "Proposal")
		make_opportunity(cls.team, stage=proposal)  # open in Proposal
		close(make_opportunity(cls.team, stage=proposal), "Lost")
		close(make_opportunity(cls.team), "Won")
		frappe.db.commit()
		# signed in as the desk is (a request's language is the session user's; an API token's is not)
		cls.client = Client()
		signed_in = cls.client.request("POST", "/api/method/login", data={"usr": cls.german, "pwd": PASSWORD})
		signed_in.raise_for_status()

	@classmethod
	def tearDownClass(cls):
		from pipeline_app.tests.factories import purge_team

		purge_team(cls.team)
		super().tearDownClass()

	def run_report(self, report, **filters):
		return message(
			self.client.call(
				"frappe.desk.query_report.run",
				"GET",
				report_name=report,
				filters={"team": self.team, **filters},
				ignore_prepared_report=1,
			)
		)

	def test_time_in_stage_and_funnel_conversion_name_the_stages_in_german(self):
		for report in (REPORT, CONVERSION):
			result = self.run_report(report)
			names = [row["stage_name"] for row in result["result"]]
			self.assertEqual(
				names,
				["Neu", "Qualifizierung", "Angebot", "Verhandlung", "Abschluss", "Gewonnen", "Verloren"],
				report,
			)
			self.assertEqual(result["chart"]["data"]["labels"], names, report)
			self.assertEqual(result["result"][0]["stage_type"], "Offen", report)

	def test_win_loss_names_the_stage_lost_from_in_german(self):
		result = self.run_report("Pipeline Win Loss", group_by="Stage Lost From")
		self.assertEqual([row["group"] for row in result["result"]], ["Neu", "Angebot"])
		self.assertEqual(result["chart"]["data"]["labels"], ["Neu", "Angebot"])

	def test_the_stage_link_search_finds_the_german_name(self):
		# Funnel Stage is a translated doctype: Link fields show, and search by, the translated title
		found = message(
			self.client.call(
				"frappe.desk.search.search_link", "GET", doctype="Funnel Stage", txt="Angebot", page_length=50
			)
		)
		self.assertIn(stage_named(self.team, "Proposal"), [row["value"] for row in found])


class TestDashboards(FrappeTestCase):
	"""The workspace's number cards and charts count only what the user may read (over HTTP, as the
	workspace asks for them)."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.member = make_user()
		cls.team = make_team(members=[cls.member], deal_amount_enabled=1, currency="EUR").name
		cls.other = make_team(deal_amount_enabled=1).name
		cls.no_amounts = make_user()
		cls.counting = make_team(members=[cls.no_amounts]).name
		make_opportunity(cls.team, amount=100, follow_up_on=add_to_date(now_datetime(), hours=-1))
		make_opportunity(cls.team, amount=250)
		for amount in (1000, 2000, 3000):
			make_opportunity(cls.other, amount=amount)
		frappe.db.commit()
		cls.as_member = Client.as_user(cls.member)

	@classmethod
	def tearDownClass(cls):
		from pipeline_app.tests.factories import purge_team

		purge_team(cls.team, cls.other, cls.counting)
		super().tearDownClass()

	def card_value(self, name, dynamic=()):
		"""As the desk's widget asks: the card's filters plus its dynamic ones, evaluated."""
		card = frappe.get_doc("Number Card", name)
		return message(
			self.as_member.call(
				"frappe.desk.doctype.number_card.number_card.get_result",
				doc=card.as_dict(convert_dates_to_str=True),
				filters=json.loads(card.filters_json) + list(dynamic),
			)
		)

	def test_the_workspace_shows_the_cards_and_charts(self):
		workspace = frappe.get_doc("Workspace", "Pipeline")
		cards = {row.number_card_name for row in workspace.number_cards}
		charts = {row.chart_name for row in workspace.charts}
		self.assertEqual(
			cards,
			{
				"Pipeline Open Opportunities",
				"Pipeline Open Value",
				"Pipeline Weighted Value",
				"Pipeline Follow-ups Due",
			},
		)
		self.assertEqual(charts, {"Pipeline Open by Stage", "Pipeline Won per Month", "Pipeline Forecast"})
		# the page's blocks find their widget by the row's label
		blocks = json.loads(workspace.content)
		labels = {row.label for row in workspace.number_cards} | {row.label for row in workspace.charts}
		shown = {b["data"].get("number_card_name") or b["data"].get("chart_name") for b in blocks}
		self.assertLessEqual(labels, shown)
		for doctype, names in (("Number Card", cards), ("Dashboard Chart", charts)):
			for name in names:
				self.assertEqual(frappe.db.get_value(doctype, name, "module"), "Pipeline App", name)
		self.assertTrue(frappe.db.exists("Report", REPORT))

	def test_number_cards_count_the_users_teams_only(self):
		self.assertEqual(self.card_value("Pipeline Open Opportunities"), 2)
		# the value cards: the user's teams' amounts in each team's currency (the other team's 6,000
		# never), or a plain "No amounts tracked"
		value = "pipeline_app.reporting.open_value_card"
		self.assertEqual(message(self.as_member.call(value, "GET", filters={})), "€ 350")
		# as the workspace's widget asks: POST, with the card's filters
		card_filters = json.loads(frappe.db.get_value("Number Card", "Pipeline Open Value", "filters_json"))
		self.assertEqual(message(self.as_member.call(value, filters=card_filters)), "€ 350")
		weighted = message(self.as_member.call("pipeline_app.reporting.weighted_value_card", "GET"))
		self.assertTrue(weighted.startswith("€ "), weighted)
		self.assertEqual(message(Client.as_user(self.no_amounts).call(value, "GET")), "No amounts tracked")
		now = [["Pipeline Opportunity", "follow_up_on", "<=", str(now_datetime())]]
		self.assertEqual(self.card_value("Pipeline Follow-ups Due", now), 1)

	def test_stage_chart_counts_the_users_teams_only(self):
		"""As the workspace's chart widget asks its source: the user's team in funnel order, under the
		stages' own names; another team answers as a missing one."""
		from pipeline_app.funnel import get_team_stages

		method = "pipeline_app.pipeline_app.dashboard_chart_source.pipeline_open_by_stage.pipeline_open_by_stage.get"
		chart = message(self.as_member.call(method, "GET", chart_name="Pipeline Open by Stage", filters={}))
		stages = [stage for stage in get_team_stages(self.team) if stage.stage_type == "Open"]
		self.assertEqual(chart["labels"], [stage.stage_name for stage in stages])
		self.assertEqual(chart["datasets"][0]["values"], [2] + [0] * (len(stages) - 1))
		self.assertEqual(message(self.as_member.call(method, "GET", filters={"team": self.team})), chart)
		response = self.as_member.call(method, "GET", filters={"team": self.other})
		self.assertEqual(response.status_code, 404, response.text[:300])
		self.assertEqual(
			frappe.db.get_value("Dashboard Chart", "Pipeline Open by Stage", "chart_type"), "Custom"
		)


class TestRefusedRunsStayUnprepared(FrappeTestCase):
	"""A run that refuses its filters, through Frappe's report runner, leaves no timer that would turn
	the report into a prepared report 15 s later (Frappe v15 cancels it only after a success)."""

	def test_a_refused_run_leaves_no_prepared_report_timer(self):
		from frappe.desk.query_report import run

		from pipeline_app.reporting import prepared_report_timers

		for report in (REPORT, CONVERSION):
			self.assertFalse(frappe.db.get_value("Report", report, "prepared_report"))
			with self.assertRaises(frappe.ValidationError):
				run(report, filters={})
			self.assertEqual(prepared_report_timers(report), [], report)
