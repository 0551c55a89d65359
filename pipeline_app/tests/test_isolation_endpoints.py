"""Team isolation on Frappe v15 whitelisted endpoints that read records without the row permissions
(replaced in hooks.override_whitelisted_methods, pipeline_app/overrides.py), over HTTP against the
running bench: a seller of team A against team B's records, each with a control showing that B's
seller (or the seller of A on A's records) still gets the answer. Another team's record answers
exactly as a missing one, and nothing of B changes."""

import json

import frappe
from frappe.desk.doctype.kanban_board.kanban_board import quick_kanban_board
from frappe.desk.doctype.tag.tag import add_tag
from frappe.tests.utils import FrappeTestCase
from frappe.utils import random_string

from pipeline_app.tests.factories import make_opportunity, make_team, make_user, purge_team
from pipeline_app.tests.http_client import Client, message
from pipeline_app.tests.test_isolation import normalized

MISSING = "OPP-99999"


class EndpointIsolationCase(FrappeTestCase):
	"""Two teams with a seller each. A has an older and a newer opportunity around B's, which has a
	contact email, an appointment with notes, a tag and a to-do of B's seller. Committed (the web
	server is another process); removed in tearDownClass."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		suffix = cls.suffix = random_string(6).lower()
		cls.alice = make_user(f"alice.ep.{suffix}@pipeline.test")
		cls.bob = make_user(f"bob.ep.{suffix}@pipeline.test")
		cls.team_a = make_team(f"Ep Alpha {suffix}", members=[cls.alice]).name
		cls.team_b = make_team(f"Ep Beta {suffix}", members=[cls.bob]).name
		cls.opp_a_old = make_opportunity(cls.team_a, title=f"Ep alpha old {suffix}").name
		cls.email_b = f"secret.{suffix}@example.test"
		cls.opp_b = make_opportunity(
			cls.team_b, title=f"Ep secret {suffix}", contact_email=cls.email_b, opportunity_owner=cls.bob
		).name
		cls.opp_a_new = make_opportunity(cls.team_a, title=f"Ep alpha new {suffix}").name
		cls.notes_b = f"secret notes {suffix}"
		frappe.get_doc(
			{
				"doctype": "Pipeline Appointment",
				"opportunity": cls.opp_b,
				"starts_at": frappe.utils.add_days(frappe.utils.now_datetime(), 3),
				"notes": cls.notes_b,
			}
		).insert()
		cls.tag = f"ep-{suffix}"
		for name in (cls.opp_a_old, cls.opp_b):
			add_tag(cls.tag, "Pipeline Opportunity", name)
		for user, name in ((cls.bob, cls.opp_b), (cls.alice, cls.opp_a_old)):
			frappe.get_doc(
				{
					"doctype": "ToDo",
					"allocated_to": user,
					"reference_type": "Pipeline Opportunity",
					"reference_name": name,
					"description": f"call back {suffix}",
				}
			).insert(ignore_permissions=True)
		# an Administrator's Kanban of Pipeline Opportunity, as benchmarks/board_vs_kanban.py makes
		cls.board = quick_kanban_board("Pipeline Opportunity", f"Ep board {suffix}", "status").name
		frappe.db.commit()
		cls.as_alice = Client.as_user(cls.alice)
		cls.as_bob = Client.as_user(cls.bob)
		cls.as_admin = Client.as_user("Administrator")

	@classmethod
	def tearDownClass(cls):
		frappe.db.rollback()
		frappe.set_user("Administrator")
		for board in frappe.get_all(
			"Kanban Board", {"kanban_board_name": ("like", f"%{cls.suffix}%")}, pluck="name"
		):
			frappe.delete_doc("Kanban Board", board, force=True, ignore_permissions=True)
		frappe.db.delete("Tag Link", {"tag": cls.tag})
		for tag in (cls.tag, cls.opp_b):
			frappe.db.delete("Tag", {"name": tag})
		purge_team(cls.team_a, cls.team_b)
		super().tearDownClass()

	def opportunity_b(self) -> dict:
		"""B's opportunity as stored, read in a fresh snapshot."""
		frappe.db.rollback()
		return frappe.db.get_value(
			"Pipeline Opportunity", self.opp_b, ["modified", "status", "_user_tags", "_assign"], as_dict=True
		)

	def board_orders(self) -> list:
		frappe.db.rollback()
		return frappe.get_all(
			"Kanban Board Column",
			{"parent": self.board},
			["column_name", "order"],
			order_by="idx",
		)


class TestWorkflowStateCount(EndpointIsolationCase):
	"""Frappe (workflow.py:123-135) checks doctype read, then counts with frappe.get_all grouped by
	any column the caller names: B's contact emails and appointment notes, counted over every team."""

	METHOD = "frappe.workflow.doctype.workflow.workflow.get_workflow_state_count"

	def count(self, client, doctype, field):
		return client.call(self.METHOD, "GET", doctype=doctype, workflow_state_field=field, states="[]")

	def test_only_the_workflow_state_field_is_counted(self):
		for doctype, field, secret in (
			("Pipeline Opportunity", "contact_email", self.email_b),
			("Pipeline Appointment", "notes", self.notes_b),
		):
			for client in (self.as_alice, self.as_bob):
				response = self.count(client, doctype, field)
				self.assertLess(response.status_code, 500, response.text[:300])
				self.assertNotIn(secret, response.text)

	def test_states_are_counted_over_readable_records_only(self):
		for client, team in ((self.as_alice, self.team_a), (self.as_bob, self.team_b)):
			response = self.count(client, "Pipeline Opportunity", "status")
			counted = sum(row["count"] for row in message(response))
			self.assertEqual(counted, frappe.db.count("Pipeline Opportunity", {"team": team}))


class TestDashboardChart(EndpointIsolationCase):
	"""Frappe (dashboard_chart.py:104-106, 225-252) takes a `chart` JSON from the request and, for a
	Heatmap, counts with frappe.get_all and the chart's filters: no permission, not even doctype read."""

	METHOD = "frappe.desk.doctype.dashboard_chart.dashboard_chart.get"

	def heatmap(self, client, doctype="Pipeline Opportunity", filters=None):
		chart = {
			"name": f"Ep heatmap {self.suffix}",
			"chart_type": "Count",
			"type": "Heatmap",
			"document_type": doctype,
			"based_on": "creation",
			"filters_json": json.dumps(filters or []),
		}
		return client.call(self.METHOD, chart=chart, no_cache=1)

	def test_a_heatmap_counts_only_readable_records(self):
		filters = [["Pipeline Opportunity", "team", "=", self.team_b]]
		refused = self.heatmap(self.as_alice, filters=filters)
		self.assertLess(refused.status_code, 500, refused.text[:300])
		if refused.status_code == 200:
			self.assertEqual(sum(message(refused)["dataPoints"].values()), 0)
		own = message(self.heatmap(self.as_bob, filters=filters))
		self.assertEqual(sum(own["dataPoints"].values()), 1)

	def test_a_heatmap_of_an_unreadable_doctype_is_refused(self):
		response = self.heatmap(self.as_alice, doctype="Error Log")
		self.assertEqual(response.status_code, 403, response.text[:300])

	def test_a_saved_chart_never_answers_from_another_users_cache(self):
		# Frappe's cache_source keeps one answer per chart name and serves it without `refresh`
		chart = "Pipeline Won per Month"
		frappe.db.set_value(
			"Pipeline Opportunity", self.opp_b, {"status": "Won", "closed_on": frappe.utils.nowdate()}
		)
		frappe.db.commit()
		try:
			won = lambda client, **refresh: sum(  # noqa: E731
				sum(dataset["values"])
				for dataset in message(client.call(self.METHOD, chart_name=chart, **refresh))["datasets"]
			)
			self.assertGreaterEqual(won(self.as_bob, refresh=1), 1)  # B's win, kept in Frappe's cache
			self.assertEqual(won(self.as_alice), 0)  # her team won nothing
			self.assertEqual(won(self.as_alice, refresh=1), 0)
		finally:
			frappe.db.set_value("Pipeline Opportunity", self.opp_b, {"status": "Open", "closed_on": None})
			frappe.db.commit()

	def test_the_apps_saved_charts_still_render(self):
		for chart in frappe.get_all("Dashboard Chart", {"module": "Pipeline App"}, pluck="name"):
			if frappe.db.get_value("Dashboard Chart", chart, "chart_type") == "Custom":
				continue  # their own source methods (test_reports.py, test_insight_reports.py)
			for client in (self.as_alice, self.as_admin):
				response = client.call(self.METHOD, chart_name=chart, refresh=1)
				self.assertEqual(response.status_code, 200, f"{chart}: {response.text[:300]}")
				self.assertIn("datasets", message(response))


class TestLinkTitle(EndpointIsolationCase):
	"""Frappe (search.py:326-333) answers any record's title (show_title_field_in_link) unchecked."""

	METHOD = "frappe.desk.search.get_link_title"

	def title(self, client, name):
		return client.call(self.METHOD, "GET", doctype="Pipeline Opportunity", docname=name)

	def test_another_teams_title_answers_like_a_missing_one(self):
		foreign = normalized(self.title(self.as_alice, self.opp_b), self.opp_b)
		self.assertEqual(foreign, normalized(self.title(self.as_alice, MISSING), MISSING))
		self.assertNotIn("secret", foreign[1])
		self.assertEqual(message(self.title(self.as_bob, self.opp_b)), f"Ep secret {self.suffix}")


class TestTaggedDocs(EndpointIsolationCase):
	"""Frappe (tag.py:59-62) checks doctype read, then LIKE on _user_tags over every team's rows."""

	METHOD = "frappe.desk.doctype.tag.tag.get_tagged_docs"

	def tagged(self, client, tag):
		return {
			row[0]
			for row in message(client.call(self.METHOD, "GET", doctype="Pipeline Opportunity", tag=tag))
		}

	def test_only_readable_tagged_records_are_listed(self):
		for tag in ("%", f"%{self.tag}%"):
			alices = self.tagged(self.as_alice, tag)
			self.assertNotIn(self.opp_b, alices)
			self.assertIn(self.opp_a_old, alices)
			bobs = self.tagged(self.as_bob, tag)
			self.assertIn(self.opp_b, bobs)
			self.assertNotIn(self.opp_a_old, bobs)


class TestGetNext(EndpointIsolationCase):
	"""Frappe (form/utils.py ~89) reads the starting record's sort field with frappe.get_value, no
	permission: A's previous/next record around B's answers B's sort values (a filter oracle)."""

	METHOD = "frappe.desk.form.utils.get_next"

	def next_of(self, client, name, prev, sort_field="creation"):
		return client.call(
			self.METHOD,
			"GET",
			doctype="Pipeline Opportunity",
			value=name,
			prev=prev,
			sort_field=sort_field,
			sort_order="desc",
		)

	def test_another_teams_record_starts_like_a_missing_one(self):
		before = self.opportunity_b()
		for prev in (0, 1):
			foreign = normalized(self.next_of(self.as_alice, self.opp_b, prev), self.opp_b)
			absent = normalized(self.next_of(self.as_alice, MISSING, prev), MISSING)
			self.assertEqual(foreign, absent, f"prev={prev}")
		self.assertEqual(self.opportunity_b(), before)

	def test_a_readable_record_still_has_its_neighbours(self):
		self.assertEqual(message(self.next_of(self.as_alice, self.opp_a_new, 0)), self.opp_a_old)
		self.assertEqual(message(self.next_of(self.as_alice, self.opp_a_old, 1)), self.opp_a_new)

	def test_an_unknown_sort_field_is_refused(self):
		response = self.next_of(self.as_alice, self.opp_a_new, 0, sort_field="creation desc, (select 1)")
		self.assertEqual(response.status_code, 417, response.text[:300])


class TestKanbanBoard(EndpointIsolationCase):
	"""Frappe's Kanban writes whole column orders and its update_order reads each card's column with
	frappe.get_value before writing: another team's card whose column matches is saved, a missing one
	fails (an oracle of B's status). The app has its own Pipeline Board."""

	def test_a_seller_cannot_make_a_kanban_of_opportunities(self):
		name = f"Ep seller board {self.suffix}"
		response = self.as_alice.call(
			"frappe.desk.doctype.kanban_board.kanban_board.quick_kanban_board",
			doctype="Pipeline Opportunity",
			board_name=name,
			field_name="status",
		)
		self.assertEqual(response.status_code, 417, response.text[:300])
		self.assertIn("Pipeline Board", response.text)
		frappe.db.rollback()
		self.assertFalse(frappe.db.exists("Kanban Board", name))
		todo_board = f"Ep todo board {self.suffix}"
		response = self.as_alice.call(
			"frappe.desk.doctype.kanban_board.kanban_board.quick_kanban_board",
			doctype="ToDo",
			board_name=todo_board,
			field_name="status",
		)
		self.assertEqual(response.status_code, 200, response.text[:300])

	def test_update_order_refuses_another_teams_card_like_a_missing_one(self):
		status_b = self.opportunity_b().status
		before, orders = self.opportunity_b(), self.board_orders()

		def update(client, card):
			return client.call(
				"frappe.desk.doctype.kanban_board.kanban_board.update_order",
				board_name=self.board,
				order={status_b: [card]},
			)

		foreign = normalized(update(self.as_alice, self.opp_b), self.opp_b)
		self.assertEqual(foreign, normalized(update(self.as_alice, MISSING), MISSING))
		self.assertGreaterEqual(foreign[0], 400)
		single = [
			normalized(
				self.as_alice.call(
					"frappe.desk.doctype.kanban_board.kanban_board.update_order_for_single_card",
					board_name=self.board,
					docname=card,
					from_colname=status_b,
					to_colname="Lost",
					old_index=0,
					new_index=0,
				),
				card,
			)
			for card in (self.opp_b, MISSING)
		]
		self.assertEqual(single[0], single[1])
		self.assertEqual(self.opportunity_b(), before)
		self.assertEqual(self.board_orders(), orders)
		# B's seller: the view's save of its own cards answers the board as stored (as Frappe answers a
		# user who may not write), a move is refused with the way to the Pipeline Board; an
		# Administrator keeps the benchmark's board working
		own = update(self.as_bob, self.opp_b)
		self.assertEqual(own.status_code, 200, own.text[:300])
		self.assertEqual(message(own)[1], [])
		moved = self.as_bob.call(
			"frappe.desk.doctype.kanban_board.kanban_board.update_order_for_single_card",
			board_name=self.board,
			docname=self.opp_b,
			from_colname=status_b,
			to_colname="Lost",
			old_index=0,
			new_index=0,
		)
		self.assertEqual(moved.status_code, 417, moved.text[:300])
		self.assertIn("Pipeline Board", moved.text)
		self.assertEqual(self.opportunity_b(), before)
		self.assertEqual(self.board_orders(), orders)
		self.assertEqual(update(self.as_admin, self.opp_b).status_code, 200)


class TestGroupByCount(EndpointIsolationCase):
	"""Frappe's sidebar Assigned To count (listview.py:36-60) selects the doctype's names with no
	permission and matches to-dos of any doctype by name: a Tag named like B's opportunity gives its
	assignees."""

	METHOD = "frappe.desk.listview.get_group_by_count"

	def assignees(self, client, doctype, filters):
		response = client.call(
			self.METHOD, "GET", doctype=doctype, current_filters=json.dumps(filters), field="assigned_to"
		)
		return {row["name"]: row["count"] for row in message(response)}

	def test_a_tag_named_like_another_teams_record_has_no_assignees(self):
		frappe.get_doc({"doctype": "Tag", "__newname": self.opp_b}).insert(ignore_permissions=True)
		frappe.db.commit()
		self.assertEqual(self.assignees(self.as_alice, "Tag", {"name": self.opp_b}), {})
		self.assertEqual(self.assignees(self.as_bob, "Tag", {"name": self.opp_b}), {})
		# B's seller still counts the to-dos of B's opportunity (theirs and the owner's own assignment)
		bobs = self.assignees(self.as_bob, "Pipeline Opportunity", {"name": self.opp_b})
		self.assertEqual(bobs, {self.bob: self.open_todos(self.bob, self.opp_b)})
		self.assertGreaterEqual(bobs[self.bob], 1)
		alices = self.assignees(self.as_alice, "Pipeline Opportunity", {})
		self.assertEqual(alices, {self.alice: self.open_todos(self.alice, self.opp_a_old)})

	def open_todos(self, user, name) -> int:
		frappe.db.rollback()
		return frappe.db.count(
			"ToDo",
			{
				"allocated_to": user,
				"reference_type": "Pipeline Opportunity",
				"reference_name": name,
				"status": ("!=", "Cancelled"),
			},
		)
