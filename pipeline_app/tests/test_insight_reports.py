"""The Pipeline Forecast and Pipeline Win Loss reports and the workspace's Forecast chart: their figures
against numbers worked out by hand for a known set of opportunities, Won apart and Lost / Abandoned
left out of the forecast, the win rates with and without the abandoned ones, the filters, and the
team scoping over HTTP (run, export, the chart as the workspace asks for it)."""

import csv
import io
import json

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, add_months, get_datetime, get_first_day, today

from pipeline_app.pipeline_app.report.pipeline_forecast.pipeline_forecast import execute as forecast
from pipeline_app.pipeline_app.report.pipeline_win_loss.pipeline_win_loss import execute as win_loss
from pipeline_app.tests.factories import make_opportunity, make_team, make_user, purge_team, stage_named
from pipeline_app.tests.http_client import Client, message

FORECAST = "Pipeline Forecast"
WIN_LOSS = "Pipeline Win Loss"
CHART_METHOD = "pipeline_app.pipeline_app.dashboard_chart_source.pipeline_forecast.pipeline_forecast.get"
FORECAST_FIGURES = (
	"open_count",
	"open_amount",
	"weighted_amount",
	"on_hold_count",
	"on_hold_amount",
	"won_count",
	"won_amount",
	"forecast_amount",
)
WIN_LOSS_FIGURES = (
	"won",
	"lost",
	"abandoned",
	"win_rate",
	"win_rate_with_abandoned",
	"average_days_to_close",
	"average_days_to_win",
	"won_amount",
	"average_deal_size",
)


def month(months_from_now: int) -> str:
	return str(add_months(get_first_day(today()), months_from_now))[:7]


def in_month(months_from_now: int) -> str:
	"""The 15th of a month counted from this one."""
	return str(add_days(add_months(get_first_day(today()), months_from_now), 14))


def lost_reasons() -> list[str]:
	return frappe.get_all("Pipeline Lost Reason", pluck="name", order_by="name asc", limit=2)


def close(doc, status: str, reason: str | None = None) -> None:
	doc.reload()
	doc.status = status
	if status == "Lost":
		doc.lost_reason = reason or lost_reasons()[0]
	if status == "On Hold":
		doc.on_hold_until = add_days(today(), 30)
	doc.save()


def by_key(rows, *keys) -> dict:
	return {tuple(row[key] for key in keys): row for row in rows}


class TestForecast(FrappeTestCase):
	"""A Sales funnel team (New 10 %, Qualification 20 %, Proposal 40 %, Negotiation 60 %, Closing 80 %)
	with two sellers, and another team whose opportunities must never show."""

	def setUp(self):
		self.anna, self.ben = make_user(), make_user()
		self.team = make_team(members=[self.anna, self.ben], deal_amount_enabled=1).name
		self.other_seller = make_user()
		self.other = make_team(members=[self.other_seller], deal_amount_enabled=1).name

	def add(self, owner, stage, amount, close_date, team=None):
		team = team or self.team
		return make_opportunity(
			team,
			opportunity_owner=owner,
			stage=stage_named(team, stage),
			amount=amount,
			expected_close_date=close_date,
		)

	def build(self):
		anna, ben = self.anna, self.ben
		self.add(anna, "New", 1000, in_month(0))  # weighted 100
		self.add(anna, "Proposal", 2000, in_month(0))  # 800
		self.add(anna, "Negotiation", 500, in_month(1))  # 300
		self.add(ben, "Qualification", 3000, in_month(1))  # 600
		self.add(None, "Closing", 400, in_month(2))  # 320, unassigned
		close(self.add(anna, "Proposal", 700, in_month(1)), "On Hold")
		# won today: counted in this month (when it was won), not in its expected month
		close(self.add(anna, "Proposal", 5000, in_month(2)), "Won")
		close(self.add(ben, "Negotiation", 9000, in_month(0)), "Lost")  # never counted
		close(self.add(anna, "Qualification", 8000, in_month(1)), "Abandoned")  # never counted
		self.add(ben, "New", 250, None)  # open, no expected close date
		self.add(ben, "New", 600, in_month(-2))  # open, expected before the default months
		self.add(ben, "Proposal", 1200, in_month(7))  # after the default months
		with self.freeze_time(f"{in_month(-2)} 10:00:00"):
			close(self.add(anna, "Proposal", 4000, in_month(-2)), "Won")  # won two months ago
		# the other team, in the same months
		self.add(self.other_seller, "Closing", 100_000, in_month(0), team=self.other)
		close(self.add(self.other_seller, "Closing", 200_000, in_month(0), team=self.other), "Won")

	def figures(self, row):
		return tuple(row[field] for field in FORECAST_FIGURES)

	def test_open_by_expected_month_and_owner_with_won_apart(self):
		self.build()
		columns, rows, _message, chart, summary = forecast({"team": self.team})
		anna, ben = self.anna, self.ben
		# open count, open amount, weighted, on hold count, on hold amount, won count, won amount, forecast
		self.assertEqual(
			{key: self.figures(row) for key, row in by_key(rows, "month", "opportunity_owner").items()},
			{
				(month(0), anna): (2, 3000, 900, 0, 0, 1, 5000, 5900),
				(month(1), anna): (1, 500, 300, 1, 700, 0, 0, 300),
				(month(1), ben): (1, 3000, 600, 0, 0, 0, 0, 600),
				(month(2), None): (1, 400, 320, 0, 0, 0, 0, 320),
			},
		)
		self.assertEqual([row["month"] for row in rows], sorted(row["month"] for row in rows))
		unassigned = next(row for row in rows if row["opportunity_owner"] is None)
		self.assertEqual(unassigned["owner_name"], "Unassigned")
		self.assertEqual({c["fieldname"] for c in columns} - set().union(*rows), set())

		months = [month(n) for n in range(6)]
		self.assertEqual(chart["data"]["labels"], months)
		won, weighted = chart["data"]["datasets"]
		self.assertEqual(won["values"], [5000, 0, 0, 0, 0, 0])
		self.assertEqual(weighted["values"], [900, 900, 320, 0, 0, 0])

		values = {item["label"]: item["value"] for item in summary}
		self.assertEqual(values["Open"], 5)
		self.assertEqual(values["Weighted Open"], 2120)
		self.assertEqual(values["Won Amount"], 5000)
		self.assertEqual(values["Forecast (Won + Weighted)"], 7120)
		self.assertEqual(values["Won"], 1)
		self.assertEqual(values["Open Without Expected Close Date"], 1)
		self.assertEqual(values["Open, Expected Before the Period"], 1)

	def test_lost_and_abandoned_are_never_counted(self):
		self.build()
		for filters in ({}, {"from_date": in_month(-12), "to_date": in_month(12)}):
			_columns, rows, *_rest = forecast({"team": self.team, **filters})
			counted = sum(row["open_count"] + row["on_hold_count"] + row["won_count"] for row in rows)
			everything = frappe.db.count("Pipeline Opportunity", {"team": self.team})
			# of 13: all but the Lost, the Abandoned and the one without a date; by default only the
			# months from this one on
			self.assertEqual(everything, 13)
			self.assertEqual(counted, 10 if filters else 7)
			amounts = {row[field] for row in rows for field in FORECAST_FIGURES}
			self.assertFalse(amounts & {9000, 8000}, rows)

	def test_the_owner_and_the_months(self):
		self.build()
		mine = forecast({"team": self.team, "opportunity_owner": self.anna})[1]
		self.assertEqual({row["month"] for row in mine}, {month(0), month(1)})
		self.assertEqual({row["opportunity_owner"] for row in mine}, {self.anna})

		# whole months: any day of the first and last month names that month
		_columns, rows, _message, chart, summary = forecast(
			{"team": self.team, "from_date": str(add_days(in_month(1), 10)), "to_date": in_month(1)}
		)
		self.assertEqual(
			{key: self.figures(row) for key, row in by_key(rows, "month", "opportunity_owner").items()},
			{
				(month(1), self.anna): (1, 500, 300, 1, 700, 0, 0, 300),
				(month(1), self.ben): (1, 3000, 600, 0, 0, 0, 0, 600),
			},
		)
		self.assertEqual(chart["data"]["labels"], [month(1)])
		before = {item["label"]: item["value"] for item in summary}["Open, Expected Before the Period"]
		self.assertEqual(before, 3)  # this month's two of Anna's and Ben's overdue one

		wide = by_key(
			forecast({"team": self.team, "from_date": in_month(-2), "to_date": in_month(7)})[1],
			"month",
			"opportunity_owner",
		)
		self.assertEqual(self.figures(wide[(month(-2), self.anna)]), (0, 0, 0, 0, 0, 1, 4000, 4000))
		self.assertEqual(self.figures(wide[(month(-2), self.ben)]), (1, 600, 60, 0, 0, 0, 0, 60))
		self.assertEqual(self.figures(wide[(month(7), self.ben)]), (1, 1200, 480, 0, 0, 0, 0, 480))

	def test_a_team_without_amounts_shows_counts(self):
		team = make_team(members=[self.anna]).name
		self.add(self.anna, "Proposal", 0, in_month(0), team=team)
		close(self.add(self.anna, "Proposal", 0, in_month(1), team=team), "Won")
		columns, rows, _message, chart, summary = forecast({"team": team})
		self.assertNotIn("Currency", {column["fieldtype"] for column in columns})
		self.assertEqual(self.figures(rows[0])[:1] + self.figures(rows[0])[5:6], (1, 1))
		self.assertEqual([d["values"][0] for d in chart["data"]["datasets"]], [1, 1])
		self.assertNotIn("Weighted Open", {item["label"] for item in summary})

	def test_bad_filters_are_refused(self):
		foreign = frappe.get_doc("Pipeline Team", self.other)
		for filters in (
			{},
			{"team": ["a"]},
			{"team": "No Such Team"},
			{"team": self.team, "from_date": in_month(2), "to_date": in_month(0)},
			{"team": self.team, "from_date": "garbage"},
			{"team": self.team, "to_date": "2024-02-31"},
			{"team": self.team, "from_date": 5},
			{"team": self.team, "from_date": in_month(0), "to_date": in_month(60)},  # 61 months
			{"team": self.team, "opportunity_owner": ["a", "b"]},
		):
			with self.subTest(filters=filters), self.assertRaises(frappe.ValidationError):
				forecast(filters)
		self.assertEqual(len(forecast({"team": self.team, "to_date": in_month(59)})[3]["data"]["labels"]), 60)
		frappe.set_user(self.anna)  # another team's, as a team that does not exist
		with self.assertRaises(frappe.DoesNotExistError):
			forecast({"team": foreign.name})


class TestWinLoss(FrappeTestCase):
	"""Outcomes with known creation and closing times (days before today, 09:00), grouped each way."""

	def setUp(self):
		self.anna, self.ben = make_user(), make_user()
		self.team = make_team(members=[self.anna, self.ben], deal_amount_enabled=1).name
		self.other_seller = make_user()
		self.other = make_team(members=[self.other_seller], deal_amount_enabled=1).name
		self.reason_1, self.reason_2 = lost_reasons()
		self.morning = get_datetime(f"{today()} 09:00:00")

	def at(self, days):
		return self.freeze_time(add_days(self.morning, days))

	def story(self, owner, source, interest, amount, created, moves=(), outcome=None, team=None):
		"""An opportunity created `created` days ago, moved to `moves` [(stage, day)], closed
		`outcome` = (status, day, reason)."""
		team = team or self.team
		with self.at(created):
			doc = make_opportunity(
				team, opportunity_owner=owner, source=source, interest=interest, amount=amount
			)
		for stage, day in moves:
			with self.at(day):
				doc.reload()
				doc.stage = stage_named(team, stage)
				doc.save()
		if outcome:
			status, day, *reason = outcome
			with self.at(day):
				close(doc, status, *reason)
		doc.reload()
		return doc

	def build(self):
		anna, ben = self.anna, self.ben
		self.story(anna, "Website", "Hot", 1000, -20, [("Proposal", -15)], ("Won", -10))  # 10 days
		self.story(ben, "Referral", "Warm", 3000, -12, (), ("Won", -6))  # 6 days, from New
		self.story(anna, "Website", "Cold", 500, -9, [("Qualification", -8)], ("Lost", -5, self.reason_1))
		self.story(ben, "Referral", "Hot", 800, -30, (), ("Lost", -2, self.reason_2))  # 28 days
		self.abandoned = self.story(
			anna, "Website", "Warm", 700, -40, [("Qualification", -35)], ("Abandoned", -1)
		)
		self.story(ben, "Referral", "Hot", 900, -300, (), ("Lost", -200, self.reason_1))  # before the period
		self.story(anna, "Website", "Hot", 5000, -3)  # open: never counted
		self.story(self.other_seller, "Website", "Hot", 99_000, -20, (), ("Won", -3), team=self.other)

	def run_report(self, group_by, **filters):
		filters = {"team": self.team, "from_date": add_days(today(), -60), "to_date": today(), **filters}
		columns, rows, _message, chart, summary = win_loss({**filters, "group_by": group_by})
		self.assertEqual({c["fieldname"] for c in columns} - set().union(*rows) - {"group"}, set())
		self.assertEqual(chart["data"]["labels"], [row["group"] for row in rows])
		return rows, summary

	def figures(self, rows):
		return {row["group"]: tuple(row.get(field) for field in WIN_LOSS_FIGURES) for row in rows}

	def counts(self, rows):
		"""Won, lost, abandoned per group."""
		return {group: figures[:3] for group, figures in self.figures(rows).items()}

	def test_by_owner_with_and_without_abandoned(self):
		self.build()
		rows, summary = self.run_report("Owner")
		anna, ben = frappe.utils.get_fullname(self.anna), frappe.utils.get_fullname(self.ben)
		# won, lost, abandoned, win rate (won / won + lost), with abandoned (won / all closed),
		# days to close (all outcomes), days to win, won amount, average deal size
		self.assertEqual(
			self.figures(rows),
			{
				anna: (1, 1, 1, 50.0, 33.3, 17.7, 10.0, 1000, 1000),  # (10 + 4 + 39) / 3
				ben: (1, 1, 0, 50.0, 50.0, 17.0, 6.0, 3000, 3000),  # (6 + 28) / 2
			},
		)
		values = {item["label"]: item["value"] for item in summary}
		self.assertEqual((values["Won"], values["Lost"], values["Abandoned"]), (2, 2, 1))
		self.assertEqual(values["Win Rate without Abandoned"], 50.0)
		self.assertEqual(values["Win Rate with Abandoned"], 40.0)
		self.assertEqual(values["Average Deal Size"], 2000)
		columns = {c["fieldname"]: c["label"] for c in win_loss({"team": self.team})[0]}
		self.assertIn("without Abandoned", columns["win_rate"])
		self.assertIn("with Abandoned", columns["win_rate_with_abandoned"])

		mine = self.figures(self.run_report("Owner", opportunity_owner=self.ben)[0])
		self.assertEqual(list(mine), [ben])
		wider = self.figures(self.run_report("Owner", from_date=add_days(today(), -250))[0])
		self.assertEqual(wider[ben][:3], (1, 2, 0))

	def test_by_source_interest_stage_reason_and_month(self):
		self.build()
		self.assertEqual(
			self.counts(self.run_report("Source")[0]), {"Website": (1, 1, 1), "Referral": (1, 1, 0)}
		)
		interest = self.run_report("Interest")[0]
		self.assertEqual([row["group"] for row in interest], ["Cold", "Warm", "Hot"])  # the field's order
		self.assertEqual(self.counts(interest), {"Cold": (0, 1, 0), "Warm": (1, 0, 1), "Hot": (1, 1, 0)})
		self.assertEqual(self.figures(interest)["Cold"][3:5], (0.0, 0.0))
		stages = self.run_report("Stage Lost From")[0]
		self.assertEqual(
			[row["group"] for row in stages], ["New", "Qualification", "Proposal"]
		)  # funnel order
		self.assertEqual(
			self.counts(stages), {"New": (1, 1, 0), "Qualification": (0, 1, 1), "Proposal": (1, 0, 0)}
		)
		# by lost reason: the won ones have none; an abandoned one keeps whatever reason the app gave it
		outcomes = [
			("Won", None),
			("Won", None),
			("Lost", self.reason_1),
			("Lost", self.reason_2),
			("Abandoned", self.abandoned.lost_reason),
		]
		reasons = {}
		for status, reason in outcomes:
			tally = list(reasons.get(reason or "Not Set", (0, 0, 0)))
			tally[("Won", "Lost", "Abandoned").index(status)] += 1
			reasons[reason or "Not Set"] = tuple(tally)
		self.assertEqual(self.counts(self.run_report("Lost Reason")[0]), reasons)
		months = {}
		for day, outcome in ((-10, 0), (-6, 0), (-5, 1), (-2, 1), (-1, 2)):
			key = str(add_days(self.morning, day))[:7]
			tally = list(months.get(key, (0, 0, 0)))
			tally[outcome] += 1
			months[key] = tuple(tally)
		by_month = self.run_report("Month")[0]
		self.assertEqual(self.counts(by_month), months)
		self.assertEqual([row["group"] for row in by_month], sorted(months))

	def test_a_team_without_amounts_has_no_deal_size(self):
		team = make_team(members=[self.anna]).name
		self.story(self.anna, "Website", "Hot", 0, -4, (), ("Won", -1), team=team)
		columns, rows, *_rest = win_loss({"team": team})
		self.assertNotIn("average_deal_size", {column["fieldname"] for column in columns})
		self.assertEqual((rows[0]["won"], rows[0]["average_days_to_win"]), (1, 3.0))

	def test_bad_filters_are_refused(self):
		for filters in (
			{},
			{"team": self.team, "group_by": "opportunity_owner; drop table x"},
			{"team": self.team, "group_by": ["Owner"]},
			{"team": self.team, "from_date": today(), "to_date": add_days(today(), -1)},
			{"team": self.team, "from_date": "garbage"},
			{"team": self.team, "from_date": add_days(today(), -2000)},  # more than 60 months
			{"team": self.team, "opportunity_owner": {"a": 1}},
		):
			with self.subTest(filters=filters), self.assertRaises(frappe.ValidationError):
				win_loss(filters)
		frappe.set_user(self.anna)
		with self.assertRaises(frappe.DoesNotExistError):
			win_loss({"team": self.other})


class TestInsightOverHttp(FrappeTestCase):
	"""As the desk runs, exports and charts them: a member gets the team's figures, a member of another
	team gets what a missing team gets."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.member = make_user()
		cls.outsider = make_user()
		cls.team = make_team(members=[cls.member], deal_amount_enabled=1).name
		cls.other = make_team(members=[cls.outsider], deal_amount_enabled=1).name
		for team, owner, amount in ((cls.team, cls.member, 1000), (cls.other, cls.outsider, 77_000)):
			make_opportunity(
				team,
				opportunity_owner=owner,
				stage=stage_named(team, "Proposal"),
				amount=amount,
				expected_close_date=in_month(0),
			)
			close(
				make_opportunity(team, opportunity_owner=owner, amount=2 * amount, source="Website"),
				"Won",
			)
			close(make_opportunity(team, opportunity_owner=owner, amount=amount, source="Website"), "Lost")
		frappe.db.commit()
		cls.as_member = Client.as_user(cls.member)
		cls.as_outsider = Client.as_user(cls.outsider)

	@classmethod
	def tearDownClass(cls):
		purge_team(cls.team)
		purge_team(cls.other)
		super().tearDownClass()

	def run_report(self, client, report, **filters):
		return client.call(
			"frappe.desk.query_report.run",
			report_name=report,
			filters=filters,
			ignore_prepared_report=1,
		)

	def export(self, client, report, **filters):
		return client.call(
			"frappe.desk.query_report.export_query",
			report_name=report,
			file_format_type="CSV",
			filters=filters,
			visible_idx=[],
			include_indentation=0,
		)

	def test_a_member_runs_both_reports_for_the_team(self):
		rows = message(self.run_report(self.as_member, FORECAST, team=self.team))["result"]
		self.assertEqual(
			[
				(row["open_count"], row["weighted_amount"], row["won_count"], row["won_amount"])
				for row in rows
			],
			[(1, 400, 1, 2000)],  # Proposal: 40 % of 1000
		)
		rows = message(self.run_report(self.as_member, WIN_LOSS, team=self.team, group_by="Source"))["result"]
		self.assertEqual(
			[(row["group"], row["won"], row["lost"], row["win_rate"]) for row in rows],
			[("Website", 1, 1, 50.0)],
		)

	def test_another_team_is_refused_as_a_missing_one(self):
		for report in (FORECAST, WIN_LOSS):
			with self.subTest(report=report):
				refused = self.run_report(self.as_outsider, report, team=self.team)
				self.assertEqual(refused.status_code, 404, refused.text[:300])
				missing = self.run_report(self.as_outsider, report, team="No Such Team")
				self.assertEqual(
					refused.text.split("__frappe_exc_id")[0].replace(self.team, "<TEAM>"),
					missing.text.split("__frappe_exc_id")[0].replace("No Such Team", "<TEAM>"),
				)
				self.assertNotIn('"result"', refused.text)
				bad = self.run_report(self.as_member, report, team=self.team, from_date="garbage")
				self.assertEqual(bad.status_code, 417, bad.text[:300])
				self.assertNotIn("Traceback", bad.text)

	def test_export_has_the_team_s_rows_only(self):
		exported = self.export(self.as_member, FORECAST, team=self.team)
		self.assertEqual(exported.status_code, 200, exported.text[:300])
		table = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
		header = table[0]
		self.assertIn("Weighted Amount (Amount times Probability)", header)
		self.assertIn("Won (in Month Closed)", header)
		self.assertEqual(len(table), 2, table)
		row = dict(zip(header, table[1], strict=True))
		self.assertEqual((row["Expected Close Month"], row["Owner"]), (month(0), self.member))
		self.assertEqual(float(row["Weighted Amount (Amount times Probability)"]), 400)
		self.assertNotIn("77000", exported.text)
		self.assertNotIn(self.outsider, exported.text)

		exported = self.export(self.as_member, WIN_LOSS, team=self.team, group_by="Source")
		self.assertEqual(exported.status_code, 200, exported.text[:300])
		table = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
		self.assertEqual(table[1][:4], ["Website", "1", "1", "0"])
		self.assertIn("Win Rate with Abandoned (Won ÷ Won + Lost + Abandoned)", table[0])

		refused = self.export(self.as_outsider, WIN_LOSS, team=self.team)
		self.assertEqual(refused.status_code, 404, refused.text[:300])
		self.assertNotIn("Website", refused.text)

	def test_the_workspace_chart_is_the_team_s(self):
		"""As the workspace's chart widget asks its source: the user's first team by default, the next six
		months; another team answers as a missing one. A non-System-Manager sees the chart."""
		chart = message(self.as_member.call(CHART_METHOD, "GET", chart_name=FORECAST, filters={}))
		self.assertEqual(chart["labels"], [month(n) for n in range(6)])
		self.assertEqual([d["values"] for d in chart["datasets"]], [[2000] + [0] * 5, [400] + [0] * 5])
		self.assertEqual(
			message(self.as_member.call(CHART_METHOD, "GET", filters={"team": self.team})), chart
		)
		refused = self.as_member.call(CHART_METHOD, "GET", filters={"team": self.other})
		self.assertEqual(refused.status_code, 404, refused.text[:300])
		self.assertNotIn("77000", refused.text)
		own = message(self.as_outsider.call(CHART_METHOD, "GET", filters={}))
		self.assertEqual(own["datasets"][0]["values"][0], 154_000)
		bad = self.as_member.call(CHART_METHOD, "GET", filters="{bad")
		self.assertEqual(bad.status_code, 417, bad.text[:300])

		page = message(
			self.as_member.call(
				"frappe.desk.desktop.get_desktop_page", page={"name": "Pipeline", "title": "Pipeline"}
			)
		)
		charts = {chart["chart_name"]: chart for chart in page["charts"]["items"]}
		self.assertIn(FORECAST, charts)
		blocks = json.loads(frappe.db.get_value("Workspace", "Pipeline", "content"))
		self.assertIn(charts[FORECAST]["label"], {block["data"].get("chart_name") for block in blocks})
		loaded = self.as_member.call(
			"frappe.desk.form.load.getdoc", "GET", doctype="Dashboard Chart", name=FORECAST
		)
		self.assertEqual(loaded.status_code, 200, loaded.text[:300])
		self.assertEqual(loaded.json()["docs"][0]["source"], FORECAST)


class TestRefusedRunsStayUnprepared(FrappeTestCase):
	def test_a_refused_run_leaves_no_prepared_report_timer(self):
		from frappe.desk.query_report import run

		from pipeline_app.reporting import prepared_report_timers

		for report in (FORECAST, WIN_LOSS):
			self.assertFalse(frappe.db.get_value("Report", report, "prepared_report"))
			with self.assertRaises(frappe.ValidationError):
				run(report, filters={})
			self.assertEqual(prepared_report_timers(report), [], report)
