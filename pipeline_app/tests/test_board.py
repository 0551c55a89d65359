"""The Pipeline Board's server API, in process against the real site: columns and totals, card order,
filters, paging, moves and their conflicts, quick-control updates, Add New, permissions, query counts
and who receives the realtime events."""

from itertools import pairwise

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, add_to_date, now_datetime, random_string

from pipeline_app import api
from pipeline_app.automation.conversations import record_message
from pipeline_app.board import RANK_GAP
from pipeline_app.realtime import BOARD_EVENT
from pipeline_app.tests.counters import (
	count_cache_commands,
	count_queries,
	forget_queued_events,
	queued_events,
)
from pipeline_app.tests.factories import (
	make_contact,
	make_opportunity,
	make_team,
	make_user,
	purge_team,
	stage_named,
)


def new_request():
	"""Empties the per-request caches, as a new request starts."""
	frappe.local.cache, frappe.local.role_permissions, frappe.local.user_perms = {}, {}, None
	frappe.local.pipeline_reading_roles = None


def realtime_log():
	return queued_events()


def clear_realtime_log():
	forget_queued_events()


class BoardTestCase(FrappeTestCase):
	def setUp(self):
		self.seller = make_user()
		self.colleague = make_user()
		self.outsider = make_user()
		self.team = make_team(members=[self.seller, self.colleague], deal_amount_enabled=1).name
		self.other_team = make_team(members=[self.outsider], template="Deal funnel").name
		self.new = stage_named(self.team, "New")
		self.qualification = stage_named(self.team, "Qualification")
		self.lost = stage_named(self.team, "Lost")

	def column(self, board, stage):
		return next(c for c in board["columns"] if c["name"] == stage)

	def names(self, board, stage):
		return [card.name for card in self.column(board, stage)["cards"]]

	def stored(self, name):
		return frappe.db.get_value(
			"Pipeline Opportunity",
			name,
			["team", "stage", "status", "board_rank", "modified", "opportunity_owner", "amount", "title"],
			as_dict=True,
		)


class TestBoardRead(BoardTestCase):
	def test_columns_follow_stage_order_with_counts_and_totals(self):
		make_opportunity(self.team, amount=100, opportunity_owner=self.seller)
		make_opportunity(self.team, amount=50)
		make_opportunity(self.team, stage=self.qualification, amount=1000)
		board = api.get_board(self.team)
		stages = frappe.get_all("Funnel Stage", {"team": self.team}, pluck="name", order_by="sequence asc")
		self.assertEqual([c["name"] for c in board["columns"]], stages)
		new = self.column(board, self.new)
		self.assertEqual((new["count"], new["amount"]), (2, 150))
		probability = frappe.db.get_value("Funnel Stage", self.new, "probability")
		self.assertAlmostEqual(new["weighted_amount"], 150 * probability / 100)
		self.assertEqual(self.column(board, self.qualification)["count"], 1)
		self.assertEqual(board["team"]["deal_amount_enabled"], 1)
		self.assertEqual({m["user"] for m in board["team"]["members"]}, {self.seller, self.colleague})
		self.assertIn(self.seller, board["users"])

	def test_new_card_goes_on_top_of_its_column(self):
		first = make_opportunity(self.team)
		second = make_opportunity(self.team)
		self.assertEqual(self.names(api.get_board(self.team), self.new), [second.name, first.name])

	def test_entering_a_column_from_the_form_puts_the_card_on_top(self):
		moving = make_opportunity(self.team)
		waiting = make_opportunity(self.team, stage=self.qualification)
		moving.stage = self.qualification
		moving.save()
		self.assertEqual(
			self.names(api.get_board(self.team), self.qualification), [moving.name, waiting.name]
		)

	def test_rank_cannot_be_set_by_a_client(self):
		doc = make_opportunity(self.team)
		rank = doc.board_rank
		doc.board_rank = rank + 12345
		doc.save()
		self.assertEqual(self.stored(doc.name).board_rank, rank)

	def test_abandoned_cards_only_when_asked(self):
		doc = make_opportunity(self.team)
		frappe.db.set_value("Pipeline Opportunity", doc.name, "status", "Abandoned")
		self.assertEqual(self.names(api.get_board(self.team), self.new), [])
		board = api.get_board(self.team, {"status": "Abandoned"})
		self.assertEqual(self.names(board, self.new), [doc.name])

	def test_filters(self):
		frappe.set_user(self.seller)
		mine = make_opportunity(self.team, opportunity_owner=self.seller, source="Website", interest="Hot")
		theirs = make_opportunity(self.team, opportunity_owner=self.colleague, title="Acme Rocket")
		nobody = make_opportunity(self.team, follow_up_on=add_to_date(now_datetime(), hours=-1))
		later = make_opportunity(self.team, follow_up_on=add_to_date(now_datetime(), days=2))
		cases = {
			"me": ({"owner": "me"}, [mine.name]),
			"unassigned": ({"owner": "unassigned"}, [later.name, nobody.name]),
			"user": ({"owner": self.colleague}, [theirs.name]),
			"due": ({"follow_up": "due"}, [nobody.name]),
			"upcoming": ({"follow_up": "upcoming"}, [later.name]),
			"none": ({"follow_up": "none"}, [theirs.name, mine.name]),
			"source": ({"source": "Website"}, [mine.name]),
			"interest": ({"interest": "Hot"}, [mine.name]),
			"text": ({"q": "rocket"}, [theirs.name]),
			"json": ('{"q": "acme"}', [theirs.name]),
			"combined": ({"owner": "me", "source": "Ad"}, []),
		}
		for label, (filters, expected) in cases.items():
			board = api.get_board(self.team, filters)
			self.assertEqual(self.names(board, self.new), expected, label)
			self.assertEqual(self.column(board, self.new)["count"], len(expected), label)

	def test_search_text_with_wildcard_characters_finds_it(self):
		underscore = make_opportunity(self.team, title="alpha_beta", contact_email="jo_doe@example.test")
		percent = make_opportunity(self.team, title="alpha 100% sure")
		make_opportunity(self.team, title="Plain deal")
		for q, expected in (
			("alpha_beta", [underscore.name]),
			("jo_doe@", [underscore.name]),
			("100%", [percent.name]),
		):
			self.assertEqual(self.names(api.get_board(self.team, {"q": q}), self.new), expected, q)

	def test_search_for_the_column_placeholder_finds_the_card_and_nothing_else(self):
		"""Board loads build one column query with a placeholder for the stage: text that looks like
		it is a search like any other."""
		from pipeline_app.board import STAGE_PLACEHOLDER

		doc = make_opportunity(self.team, title=f"Deal {STAGE_PLACEHOLDER}")
		make_opportunity(self.team, title="Other deal")
		board = api.get_board(self.team, {"q": STAGE_PLACEHOLDER})
		self.assertEqual(self.names(board, self.new), [doc.name])
		self.assertEqual(sum(len(column["cards"]) for column in board["columns"]), 1)

	def test_invalid_filters_are_refused(self):
		for filters in (
			{"colour": "red"},
			{"status": "Sleeping"},
			{"owner": "nobody@nowhere.test"},
			{"follow_up": "yesterday"},
			{"source": "Carrier pigeon"},
		):
			with self.assertRaises(frappe.ValidationError, msg=str(filters)):
				api.get_board(self.team, filters)

	def test_stage_cards_page_by_offset_and_after_a_card(self):
		docs = [make_opportunity(self.team) for _ in range(7)]
		order = [doc.name for doc in reversed(docs)]
		board = api.get_board(self.team, limit_per_stage=3)
		self.assertEqual(self.names(board, self.new), order[:3])
		self.assertEqual(self.column(board, self.new)["count"], 7)
		by_offset = api.get_stage_cards(self.team, self.new, start=3, limit=3)["cards"]
		self.assertEqual([c.name for c in by_offset], order[3:6])
		# someone puts a card on top meanwhile: continuing after the last card shown skips nothing
		make_opportunity(self.team)
		after = api.get_stage_cards(self.team, self.new, limit=10, after=order[2])["cards"]
		self.assertEqual([c.name for c in after], order[3:])

	def test_stage_cards_of_a_stage_of_another_team_are_refused(self):
		with self.assertRaises(frappe.ValidationError):
			api.get_stage_cards(self.team, stage_named(self.other_team, "New Deal"))

	def test_amounts_stay_zero_where_the_team_has_none(self):
		make_opportunity(self.other_team, amount=500)
		board = api.get_board(self.other_team)
		self.assertEqual(sum(c["amount"] for c in board["columns"]), 0)
		self.assertEqual(board["team"]["deal_amount_enabled"], 0)

	def test_board_queries_do_not_grow_with_opportunities(self):
		frappe.set_user(self.seller)
		make_opportunity(self.team, opportunity_owner=self.seller)
		api.get_board(self.team, {"q": "Opportunity"})  # warm caches (meta, roles)
		with count_queries() as small:  # filtered: the totals are always counted (never cached)
			api.get_board(self.team, {"q": "Opportunity"})
		for index in range(40):
			make_opportunity(
				self.team,
				stage=self.qualification if index % 2 else self.new,
				opportunity_owner=self.colleague if index % 3 else self.seller,
			)
		with count_queries() as large:
			board = api.get_board(self.team, {"q": "Opportunity"})
		self.assertEqual(self.column(board, self.qualification)["count"], 20)
		self.assertEqual(len(large), len(small), "\n".join(large))
		self.assertLessEqual(len(large), 12, "\n".join(large))

	def test_default_team_is_the_users_first(self):
		frappe.set_user(self.outsider)
		self.assertEqual(api.get_board()["team"]["name"], self.other_team)

	def test_board_of_another_team_is_refused(self):
		make_opportunity(self.team, title="Secret")
		frappe.set_user(self.outsider)
		# another team's board answers as a team that does not exist
		with self.assertRaises(frappe.DoesNotExistError):
			api.get_board(self.team)
		with self.assertRaises(frappe.DoesNotExistError):
			api.get_stage_cards(self.team, self.new)

	def test_user_without_a_team_gets_a_clear_error(self):
		frappe.set_user(make_user())
		with self.assertRaises(frappe.PermissionError):
			api.get_board()

	def test_user_without_pipeline_role_is_refused(self):
		frappe.set_user(make_user(roles=()))
		with self.assertRaises(frappe.PermissionError):
			api.get_board(self.team)

	def test_first_column_is_where_a_new_opportunity_lands_when_sequences_tie(self):
		"""Stages of equal sequence: the board and the rules share one order (pipeline_app.funnel)."""
		team = make_team(members=[self.seller], template=None).name
		stages = [
			frappe.get_doc(
				{
					"doctype": "Funnel Stage",
					"team": team,
					"stage_name": name,
					"stage_type": "Open",
					"sequence": 1,
				}
			)
			.insert()
			.name
			for name in ("Zeta", "Alpha")  # created in this order; by name Alpha comes first
		]
		frappe.db.set_value(
			"Funnel Stage",
			stages[1],
			"creation",
			add_to_date(now_datetime(), seconds=5),
			update_modified=False,
		)
		frappe.set_user(self.seller)
		doc = make_opportunity(team)
		columns = api.get_board(team)["columns"]
		self.assertEqual(doc.stage, stages[0])
		self.assertEqual(columns[0]["name"], doc.stage)
		self.assertEqual([card.name for card in columns[0]["cards"]], [doc.name])


class TestCardsTheUserCannotRead(BoardTestCase):
	"""A move's neighbours (`after` / `before`) and a scroll's last card (`after`) name other cards: one
	the user may not read (here, past a User Permission) counts as missing, as a card of another column
	does, so neither the answer nor where the card lands tells that it is in the column."""

	def setUp(self):
		super().setUp()
		self.mine = make_opportunity(self.team, title="Mine", opportunity_owner=self.seller).name
		self.hidden = make_opportunity(self.team, title="Hidden", stage=self.qualification).name
		self.visible = make_opportunity(self.team, title="Visible", stage=self.qualification).name
		for name in (self.mine, self.visible):
			frappe.get_doc(
				{
					"doctype": "User Permission",
					"user": self.seller,
					"allow": "Pipeline Opportunity",
					"for_value": name,
				}
			).insert(ignore_permissions=True)
		frappe.set_user(self.seller)
		new_request()

	def rank(self, name):
		return frappe.db.get_value("Pipeline Opportunity", name, "board_rank")

	def test_scrolling_past_a_card_the_user_cannot_read_is_refused_as_a_card_not_in_the_column(self):
		self.assertEqual(api.get_stage_cards(self.team, self.qualification, after=self.visible)["cards"], [])
		for after in (self.hidden, "OPP-NOT-THERE"):
			with self.assertRaises(frappe.ValidationError) as refused:
				api.get_stage_cards(self.team, self.qualification, after=after)
			self.assertEqual(str(refused.exception), f"Card <strong>{after}</strong> is not in this column")

	def test_a_card_the_user_cannot_read_never_places_a_move(self):
		# the column's order: Visible (newest, on top), then Hidden
		self.assertLess(self.rank(self.visible), self.rank(self.hidden))
		api.move_opportunity(self.mine, self.qualification, after=self.hidden)
		# Hidden counts as missing: neither neighbour known, the card goes on top
		self.assertLess(self.rank(self.mine), self.rank(self.visible))
		api.move_opportunity(self.mine, self.new)
		api.move_opportunity(self.mine, self.qualification, before=self.hidden)
		self.assertLess(self.rank(self.mine), self.rank(self.visible))
		# a card the user reads places it as before
		api.move_opportunity(self.mine, self.new)
		api.move_opportunity(self.mine, self.qualification, after=self.visible)
		self.assertLess(self.rank(self.visible), self.rank(self.mine))
		self.assertLess(self.rank(self.mine), self.rank(self.hidden))


class TestMoves(BoardTestCase):
	def column_of_three(self):
		docs = [make_opportunity(self.team, stage=self.qualification) for _ in range(3)]
		return [doc.name for doc in reversed(docs)]  # board order: newest on top

	def test_move_between_two_cards_of_another_column(self):
		top, middle, bottom = self.column_of_three()
		doc = make_opportunity(self.team)
		result = api.move_opportunity(doc.name, self.qualification, after=top, before=middle)
		self.assertEqual(result["card"]["stage"], self.qualification)
		self.assertEqual(
			self.names(api.get_board(self.team), self.qualification), [top, doc.name, middle, bottom]
		)
		changes = frappe.get_all(
			"Pipeline Stage Change", {"opportunity": doc.name, "change_type": "Stage"}, pluck="to_value"
		)
		self.assertIn(self.qualification, changes)

	def test_move_with_one_neighbour_finds_the_other(self):
		top, middle, bottom = self.column_of_three()
		doc = make_opportunity(self.team)
		api.move_opportunity(doc.name, self.qualification, after=middle)
		self.assertEqual(
			self.names(api.get_board(self.team), self.qualification), [top, middle, doc.name, bottom]
		)
		other = make_opportunity(self.team)
		api.move_opportunity(other.name, self.qualification, before=top)
		self.assertEqual(self.names(api.get_board(self.team), self.qualification)[:2], [other.name, top])
		last = make_opportunity(self.team)
		api.move_opportunity(last.name, self.qualification, after=bottom)
		self.assertEqual(self.names(api.get_board(self.team), self.qualification)[-1], last.name)

	def test_move_writes_only_the_moved_row(self):
		names = self.column_of_three()
		doc = make_opportunity(self.team)
		others = {name: self.stored(name) for name in names}
		api.move_opportunity(doc.name, self.qualification, after=names[0], before=names[1])
		for name in names:
			self.assertEqual(self.stored(name), others[name])

	def test_reorder_within_a_column_writes_rank_and_modified_only(self):
		top, middle, bottom = self.column_of_three()
		before = self.stored(bottom)
		versions = frappe.db.count("Version", {"docname": bottom})
		api.move_opportunity(bottom, self.qualification, expected_modified=str(before.modified), before=top)
		after = self.stored(bottom)
		self.assertEqual(self.names(api.get_board(self.team), self.qualification), [bottom, top, middle])
		self.assertGreater(after.modified, before.modified)
		self.assertEqual(frappe.db.count("Version", {"docname": bottom}), versions)
		self.assertEqual((after.stage, after.status), (before.stage, before.status))

	def test_repeated_moves_to_one_spot_renumber_the_column_once_gap_is_used(self):
		top, middle, bottom = self.column_of_three()
		for _ in range(25):  # the gap of 2**20 halves each time
			doc = make_opportunity(self.team)
			api.move_opportunity(doc.name, self.qualification, after=top, before=middle)
			middle = doc.name
		names = self.names(api.get_board(self.team, limit_per_stage=100), self.qualification)
		self.assertEqual(names[0], top)
		self.assertEqual(names[-1], bottom)
		self.assertEqual(len(names), 28)
		ranks = frappe.get_all(
			"Pipeline Opportunity",
			{"stage": self.qualification},
			pluck="board_rank",
			order_by="board_rank asc",
		)
		self.assertEqual(len(set(ranks)), len(ranks))
		self.assertGreaterEqual(min(b - a for a, b in pairwise(ranks)), 2)
		# the boards showing the column are told to reload it
		refreshes = [
			message
			for event, message, _room in realtime_log()
			if event == BOARD_EVENT and message.get("action") == "refresh"
		]
		self.assertTrue(refreshes)
		self.assertEqual({(m["team"], m["stage"]) for m in refreshes}, {(self.team, self.qualification)})

	def test_stale_move_changes_nothing_and_answers_the_current_card(self):
		doc = make_opportunity(self.team)
		seen = str(doc.modified)
		frappe.set_user(self.colleague)
		api.update_opportunity(doc.name, {"opportunity_owner": self.colleague})
		current = self.stored(doc.name)
		frappe.set_user(self.seller)
		result = api.move_opportunity(doc.name, self.qualification, expected_modified=seen)
		self.assertEqual(frappe.local.response.pop("http_status_code"), 409)
		self.assertTrue(result["conflict"])
		self.assertEqual(result["card"]["opportunity_owner"], self.colleague)
		self.assertEqual(result["card"]["stage"], self.new)
		self.assertEqual(self.stored(doc.name), current)

	def test_move_with_current_timestamp_succeeds(self):
		doc = make_opportunity(self.team)
		result = api.move_opportunity(doc.name, self.qualification, expected_modified=str(doc.modified))
		self.assertEqual(result["card"]["stage"], self.qualification)

	def test_move_to_a_stage_of_another_team_is_refused(self):
		doc = make_opportunity(self.team)
		before = self.stored(doc.name)
		with self.assertRaises(frappe.ValidationError):
			api.move_opportunity(doc.name, stage_named(self.other_team, "New Deal"))
		self.assertEqual(self.stored(doc.name), before)

	def test_move_to_lost_needs_a_reason(self):
		doc = make_opportunity(self.team)
		before = self.stored(doc.name)
		with self.assertRaises(frappe.ValidationError):
			api.move_opportunity(doc.name, self.lost)
		self.assertEqual(self.stored(doc.name), before)

	def test_moving_another_teams_card_is_refused(self):
		doc = make_opportunity(self.team)
		before = self.stored(doc.name)
		frappe.set_user(self.outsider)
		with self.assertRaises(frappe.DoesNotExistError):
			api.move_opportunity(doc.name, self.qualification)
		frappe.set_user("Administrator")
		self.assertEqual(self.stored(doc.name), before)

	def test_moving_an_unknown_card_is_refused(self):
		with self.assertRaises(frappe.DoesNotExistError):
			api.move_opportunity("OPP-NOPE", self.qualification)


class TestUpdates(BoardTestCase):
	def test_quick_controls_apply_the_form_rules(self):
		doc = make_opportunity(self.team)
		card = api.update_opportunity(
			doc.name,
			{
				"opportunity_owner": self.seller,
				"amount": 300,
				"follow_up_on": str(add_days(now_datetime(), 1)),
			},
		)["card"]
		self.assertEqual((card["opportunity_owner"], card["amount"]), (self.seller, 300))
		reason = frappe.get_all("Pipeline Lost Reason", pluck="name", limit=1)[0]
		card = api.update_opportunity(doc.name, frappe.as_json({"status": "Lost", "lost_reason": reason}))[
			"card"
		]
		self.assertEqual((card["status"], card["stage"]), ("Lost", self.lost))
		card = api.update_opportunity(doc.name, {"status": "Open"})["card"]
		self.assertEqual(card["status"], "Open")
		card = api.update_opportunity(doc.name, {"team": self.other_team, "opportunity_owner": None})["card"]
		self.assertEqual(card["stage"], stage_named(self.other_team, "New Deal"))

	def test_bad_values_change_nothing(self):
		doc = make_opportunity(self.team)
		before = self.stored(doc.name)
		for values in (
			{"opportunity_owner": self.outsider},
			{"amount": -5},
			{"status": "Lost"},
			{"status": "On Hold"},
			{"stage": stage_named(self.other_team, "New Deal")},
		):
			with self.assertRaises(frappe.ValidationError, msg=str(values)):
				api.update_opportunity(doc.name, values)
			self.assertEqual(self.stored(doc.name), before, str(values))

	def test_server_managed_and_unknown_fields_are_refused(self):
		doc = make_opportunity(self.team)
		before = self.stored(doc.name)
		for values in ({"board_rank": 1}, {"unread_count": 9}, {"name": "X"}, {"owner": self.seller}, {}):
			with self.assertRaises(frappe.ValidationError, msg=str(values)):
				api.update_opportunity(doc.name, values)
		self.assertEqual(self.stored(doc.name), before)

	def test_stale_update_changes_nothing(self):
		doc = make_opportunity(self.team)
		seen = str(doc.modified)
		api.update_opportunity(doc.name, {"amount": 10})
		current = self.stored(doc.name)
		result = api.update_opportunity(doc.name, {"amount": 99}, expected_modified=seen)
		self.assertEqual(frappe.local.response.pop("http_status_code"), 409)
		self.assertEqual(result["card"]["amount"], 10)
		self.assertEqual(self.stored(doc.name), current)

	def test_updating_another_teams_card_is_refused(self):
		doc = make_opportunity(self.team)
		before = self.stored(doc.name)
		frappe.set_user(self.outsider)
		with self.assertRaises(frappe.DoesNotExistError):
			api.update_opportunity(doc.name, {"title": "Mine now"})
		frappe.set_user("Administrator")
		self.assertEqual(self.stored(doc.name), before)


class TestAddNew(BoardTestCase):
	def test_add_with_a_new_contact_lands_on_top_of_the_first_stage(self):
		existing = make_opportunity(self.team)
		frappe.set_user(self.seller)
		card = api.add_opportunity(
			self.team, first_name="Inline", last_name="Person", email="inline@example.test", phone="+3100000"
		)["card"]
		self.assertEqual(card["stage"], self.new)
		self.assertEqual(card["title"], "Inline Person")
		contact = frappe.get_doc("Contact", card["contact"])
		self.assertEqual((contact.email_id, contact.mobile_no), ("inline@example.test", "+3100000"))
		self.assertEqual(self.names(api.get_board(self.team), self.new), [card["name"], existing.name])

	def test_add_for_an_existing_contact(self):
		contact = make_contact("Known")
		frappe.set_user(self.seller)
		card = api.add_opportunity(self.team, title="Upsell", contact=contact, values={"amount": 40})["card"]
		self.assertEqual((card["contact"], card["title"], card["amount"]), (contact, "Upsell", 40))

	def test_add_without_contact_or_into_a_foreign_team_is_refused(self):
		count = frappe.db.count("Pipeline Opportunity")
		frappe.set_user(self.seller)
		with self.assertRaises(frappe.ValidationError):
			api.add_opportunity(self.team, title="Nobody")
		with self.assertRaises(frappe.DoesNotExistError):
			api.add_opportunity(self.other_team, first_name="Sneaky")
		with self.assertRaises(frappe.ValidationError):
			api.add_opportunity(self.team, first_name="X", values={"board_rank": 1})
		frappe.set_user("Administrator")
		self.assertEqual(frappe.db.count("Pipeline Opportunity"), count)


class TestKeptColumnsHttp(FrappeTestCase):
	"""Board loads over HTTP GET keep each column's rows under its query's text and version: a
	column is read again once a card in it changed through the app, and only that column; readers
	whose permissions differ never share rows. (Raw SQL, which bypasses the app, shows what is kept.)"""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		from pipeline_app.tests.http_client import Client

		suffix = random_string(6).lower()
		cls.seller = make_user(f"kept.seller.{suffix}@pipeline.test")
		cls.restricted = make_user(f"kept.restricted.{suffix}@pipeline.test")
		cls.team = make_team(
			f"Kept {suffix}", members=[cls.seller, cls.restricted], deal_amount_enabled=1
		).name
		cls.new = stage_named(cls.team, "New")
		cls.qualification = stage_named(cls.team, "Qualification")
		cls.proposal = stage_named(cls.team, "Proposal")
		cls.mine = make_opportunity(cls.team, title="Mine", amount=10, opportunity_owner=cls.seller).name
		cls.theirs = make_opportunity(
			cls.team, title="Theirs", amount=20, opportunity_owner=cls.restricted
		).name
		cls.waiting = make_opportunity(cls.team, title="Waiting", stage=cls.qualification, amount=5).name
		# `restricted` may read one opportunity of the team only
		frappe.get_doc(
			{
				"doctype": "User Permission",
				"user": cls.restricted,
				"allow": "Pipeline Opportunity",
				"for_value": cls.theirs,
			}
		).insert(ignore_permissions=True)
		frappe.db.commit()
		cls.as_seller = Client.as_user(cls.seller)
		cls.as_restricted = Client.as_user(cls.restricted)

	@classmethod
	def tearDownClass(cls):
		from pipeline_app.tests.factories import purge_team

		frappe.set_user("Administrator")
		frappe.db.delete("User Permission", {"user": cls.restricted})
		frappe.db.commit()  # purge_team starts with a rollback
		purge_team(cls.team)
		super().tearDownClass()

	def load(self, client, **filters):
		from pipeline_app.tests.http_client import message

		board = message(client.call("pipeline_app.api.get_board", "GET", team=self.team, filters=filters))
		return {
			column["name"]: (column["count"], column["amount"], [card["title"] for card in column["cards"]])
			for column in board["columns"]
		}

	def titles(self, board):
		"""Every card's title on the board, without what raw writes added."""
		return [
			title.removesuffix(" (raw)") for _count, _amount, titles in board.values() for title in titles
		]

	def raw_title(self, name, title):
		"""A write that bypasses the app (as an administrator's SQL would): no column version moves."""
		frappe.db.sql("update `tabPipeline Opportunity` set title = %s where name = %s", (title, name))
		frappe.db.commit()

	def test_a_column_is_read_again_once_a_card_in_it_changes_through_the_app(self):
		from pipeline_app.tests.http_client import message

		first = self.load(self.as_seller)
		self.assertEqual(first[self.new], (2, 30, ["Theirs", "Mine"]))
		self.raw_title(self.mine, "Mine (raw)")
		self.raw_title(self.waiting, "Waiting (raw)")
		self.assertEqual(self.load(self.as_seller), first)  # kept: the raw writes are not seen

		# a change through the app in New: New is read again (with the raw title), Qualification is kept
		frappe.db.rollback()
		modified = frappe.db.get_value("Pipeline Opportunity", self.theirs, "modified")
		message(
			self.as_seller.call(
				"pipeline_app.api.move_opportunity",
				name=self.theirs,
				stage=self.proposal,
				expected_modified=str(modified),
			)
		)
		board = self.load(self.as_seller)
		self.assertEqual(board[self.new], (1, 10, ["Mine (raw)"]))
		self.assertEqual(board[self.proposal], (1, 20, ["Theirs"]))
		self.assertEqual(board[self.qualification], (1, 5, ["Waiting"]))

		# an edit through REST and a delete are seen at the next load
		response = self.as_seller.put(f"/api/resource/Pipeline Opportunity/{self.waiting}", {"amount": 7})
		self.assertEqual(response.status_code, 200, response.text[:300])
		self.assertEqual(self.load(self.as_seller)[self.qualification], (1, 7, ["Waiting (raw)"]))
		frappe.db.rollback()
		extra = make_opportunity(self.team, title="Extra", stage=self.qualification).name
		frappe.db.commit()
		self.assertEqual(self.load(self.as_seller)[self.qualification][2], ["Extra", "Waiting (raw)"])
		frappe.delete_doc("Pipeline Opportunity", extra, force=True)
		frappe.db.commit()
		self.assertEqual(self.load(self.as_seller)[self.qualification][2], ["Waiting (raw)"])

	def test_readers_with_other_permissions_or_filters_never_share_rows(self):
		everything = self.load(self.as_seller)  # kept for the seller's query first
		self.assertEqual(sorted(self.titles(everything)), ["Mine", "Theirs", "Waiting"])
		board = self.load(self.as_restricted)
		self.assertEqual(self.titles(board), ["Theirs"])
		self.assertEqual(sum(count for count, _amount, _titles in board.values()), 1)
		# "my cards" is a different query for each of them
		self.assertEqual(self.titles(self.load(self.as_seller, owner="me")), ["Mine"])
		self.assertEqual(self.titles(self.load(self.as_restricted, owner="me")), ["Theirs"])
		self.assertEqual(self.load(self.as_seller), everything)


class TestRealtimeAudience(BoardTestCase):
	"""Events are queued per user room until commit: the queue shows who would receive what."""

	def setUp(self):
		super().setUp()
		self.manager = make_user(roles=("Pipeline Manager",))
		clear_realtime_log()

	def board_events(self):
		return [(room, message) for event, message, room in realtime_log() if event == BOARD_EVENT]

	def rooms(self, event_name=BOARD_EVENT, **match):
		return {
			room
			for event, message, room in realtime_log()
			if event == event_name and all(message.get(k) == v for k, v in match.items())
		}

	def test_changes_reach_the_team_and_managers_only(self):
		doc = make_opportunity(self.team)
		rooms = self.rooms(name=doc.name)
		self.assertIn(f"user:{self.seller}", rooms)
		self.assertIn(f"user:{self.colleague}", rooms)
		self.assertIn(f"user:{self.manager}", rooms)
		self.assertNotIn(f"user:{self.outsider}", rooms)
		self.assertTrue(all(room.startswith("user:") for room in rooms))

	def test_a_member_without_read_permission_gets_nothing(self):
		# still listed in the team, but the Pipeline User role was taken away
		former = make_user(roles=())
		team = frappe.get_doc("Pipeline Team", self.team)
		team.append("members", {"user": former})
		team.save()
		clear_realtime_log()
		doc = make_opportunity(self.team)
		self.assertIn(f"user:{self.seller}", self.rooms(name=doc.name))
		self.assertNotIn(f"user:{former}", self.rooms(name=doc.name))

	def test_an_event_reaches_its_readers_in_one_message_naming_their_rooms(self):
		"""What the socket.io server gets after commit: one message per event whose `room` lists the
		readers' rooms (it sends it once to each socket in any of them), never an empty list, which
		socket.io would send to everyone."""
		import json

		from frappe.utils.background_jobs import get_redis_connection_without_auth

		from pipeline_app.realtime import emit_after_commit, flush_realtime_log

		pubsub = get_redis_connection_without_auth().pubsub(ignore_subscribe_messages=True)
		pubsub.subscribe("events")
		pubsub.get_message(timeout=1)  # the subscription confirmed before anything is published
		try:
			emit_after_commit(BOARD_EVENT, {"name": "x"}, [])
			emit_after_commit(BOARD_EVENT, {"name": "y"}, [self.seller, self.colleague, self.seller])
			flush_realtime_log()  # as the commit does
			received = []
			while message := pubsub.get_message(timeout=1):
				data = json.loads(message["data"])
				if data["event"] == BOARD_EVENT and data["namespace"] == frappe.local.site:
					received.append(data)
		finally:
			pubsub.close()
		self.assertEqual(
			[(data["message"]["name"], data["room"]) for data in received],
			[("y", sorted([f"user:{self.seller}", f"user:{self.colleague}"]))],
		)

	def test_list_update_goes_to_readers_not_to_the_doctype_room(self):
		doc = make_opportunity(self.team)
		doc.title = "Renamed"
		doc.save()
		self.assertNotIn("doctype:Pipeline Opportunity", {room for _e, _m, room in realtime_log()})
		rooms = {
			room
			for event, message, room in realtime_log()
			if event == "list_update" and message["name"] == doc.name
		}
		self.assertIn(f"user:{self.seller}", rooms)
		self.assertNotIn(f"user:{self.outsider}", rooms)

	def test_readers_cost_the_same_queries_whatever_the_team_size(self):
		from pipeline_app.realtime import readers_of

		counts = []
		for size in (2, 40):
			members = [make_user() for _ in range(size)]
			doc = make_opportunity(make_team(members=members).name)
			new_request()
			readers_of(doc)  # Redis caches (roles, permissions, meta) filled once
			new_request()
			with count_queries() as queries, count_cache_commands() as commands:
				readers = readers_of(doc)
			self.assertLessEqual(set(members), set(readers))
			counts.append((len(queries), len(commands)))
		self.assertEqual(counts[0], counts[1], counts)

	def test_readers_are_those_has_permission_allows(self):
		"""The constant-query path gives Frappe's own answer for every kind of member."""
		from pipeline_app.realtime import readers_of, team_audience

		plain = make_user()
		no_role = make_user(roles=())
		shared = make_user(roles=())
		restricted = make_user()
		team = make_team(members=[plain, no_role, shared, restricted, self.seller]).name
		# a User Permission that hides this team's records from `restricted`
		frappe.get_doc(
			{
				"doctype": "User Permission",
				"user": restricted,
				"allow": "Pipeline Team",
				"for_value": self.team,
			}
		).insert(ignore_permissions=True)
		doc = make_opportunity(team)
		frappe.share.add_docshare(
			doc.doctype, doc.name, shared, read=1, flags={"ignore_share_permission": True}
		)
		expected = sorted(
			user
			for user in team_audience(team)
			if frappe.has_permission("Pipeline Opportunity", "read", doc=doc, user=user)
		)
		self.assertEqual(readers_of(doc), expected)
		self.assertIn(plain, expected)
		self.assertIn(shared, expected)
		self.assertNotIn(no_role, expected)
		self.assertNotIn(restricted, expected)

	def test_todo_readers_are_those_has_permission_allows_in_constant_queries(self):
		"""Frappe's ToDo hook (a ToDo role, its assignee, who assigned it) answered for the whole team
		at once: the owner's assignment of a card, as each member's has_permission decides."""
		from pipeline_app.realtime import readers_of, team_audience

		counts = []
		for size in (2, 40):
			members = [make_user() for _ in range(size)]
			shared, todo_role = make_user(), make_user(roles=("Pipeline User", "System Manager"))
			team = make_team(members=[*members, shared, todo_role]).name
			doc = make_opportunity(team, opportunity_owner=members[0])
			todo = frappe.get_doc(
				"ToDo", {"reference_type": doc.doctype, "reference_name": doc.name, "status": "Open"}
			)
			frappe.share.add_docshare(
				"ToDo", todo.name, shared, read=1, flags={"ignore_share_permission": True}
			)
			expected = sorted(
				user
				for user in team_audience(team)
				if frappe.has_permission("ToDo", "read", doc=todo, user=user)
			)
			self.assertTrue({members[0], shared, todo_role} <= set(expected), expected)
			self.assertNotIn(members[1], expected)
			new_request()
			readers_of(todo, team)  # Redis caches filled once
			new_request()
			with count_queries() as queries:
				self.assertEqual(readers_of(todo, team), expected)
			counts.append(len(queries))
		self.assertEqual(counts[0], counts[1], counts)

	def test_kept_readers_follow_roles_user_permissions_and_disabled_users(self):
		"""Who of a team reads by role is kept per team (realtime.team_role_holders): a role taken away, a
		User Permission given or a user disabled counts from the next event on."""
		from pipeline_app.realtime import readers_of

		losing_role, restricted, disabled, staying = (make_user() for _ in range(4))
		team = make_team(members=[losing_role, restricted, disabled, staying]).name
		doc = make_opportunity(team)

		def readers_after(change):
			new_request()
			self.assertLessEqual({losing_role, restricted, disabled, staying}, set(readers_of(doc)))
			change()
			new_request()
			readers = readers_of(doc)
			self.assertIn(staying, readers)
			return readers

		def disable():
			user = frappe.get_doc("User", disabled)
			user.enabled = 0
			user.save(ignore_permissions=True)

		self.assertNotIn(
			restricted,
			readers_after(
				lambda: frappe.get_doc(
					{
						"doctype": "User Permission",
						"user": restricted,
						"allow": "Pipeline Team",
						"for_value": self.team,
					}
				).insert(ignore_permissions=True)
			),
		)
		frappe.db.delete("User Permission", {"user": restricted})
		frappe.cache.hdel("user_permissions", restricted)
		self.assertNotIn(
			losing_role,
			readers_after(lambda: frappe.get_doc("User", losing_role).remove_roles("Pipeline User")),
		)
		frappe.get_doc("User", losing_role).add_roles("Pipeline User")
		self.assertNotIn(disabled, readers_after(disable))

	def test_team_change_tells_the_old_team_only_that_the_card_left(self):
		shared = make_user()
		team = frappe.get_doc("Pipeline Team", self.other_team)
		team.append("members", {"user": self.seller})
		team.save()
		doc = make_opportunity(self.team, title="Moving out")
		clear_realtime_log()
		doc.team = self.other_team
		doc.save()
		for room, message in self.board_events():
			if room == f"user:{self.colleague}":
				self.assertEqual(message["action"], "delete")
				self.assertIsNone(message["card"])
			if room == f"user:{self.outsider}":
				self.assertEqual(message["card"]["team"], self.other_team)
		self.assertIn(f"user:{self.colleague}", {room for room, _m in self.board_events()})
		self.assertIn(f"user:{self.outsider}", {room for room, _m in self.board_events()})
		self.assertNotIn(f"user:{shared}", {room for room, _m in self.board_events()})

	def test_deletion_reaches_readers(self):
		doc = make_opportunity(self.team)
		clear_realtime_log()
		frappe.delete_doc("Pipeline Opportunity", doc.name)
		deleted = [(room, m) for room, m in self.board_events() if m["action"] == "delete"]
		self.assertIn(f"user:{self.seller}", {room for room, _m in deleted})
		self.assertNotIn(f"user:{self.outsider}", {room for room, _m in deleted})

	def test_rolled_back_changes_send_nothing(self):
		make_opportunity(self.team)
		self.assertTrue(self.board_events())
		frappe.db.rollback()
		self.assertFalse(realtime_log())

	def test_messages_update_the_card_on_boards(self):
		contact = make_contact(email=f"{random_string(6)}@example.test")
		doc = make_opportunity(self.team, contact=contact)
		clear_realtime_log()
		# the endpoint's core, in this transaction (the endpoint itself commits)
		record_message(
			frappe.db.get_value("Contact", contact, "email_id"),
			"Inbound",
			"Hello <b>there</b>",
			opportunity=doc.name,
		)
		cards = [m["card"] for room, m in self.board_events() if room == f"user:{self.seller}" and m["card"]]
		self.assertTrue(cards)
		self.assertEqual(cards[-1]["unread_count"], 1)
		self.assertEqual(cards[-1]["last_message_preview"], "Hello there")


class TestBoardHttp(FrappeTestCase):
	"""The same API as integrators and the page reach it: over HTTP against the running bench."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		suffix = random_string(6).lower()
		cls.seller = make_user(f"board.seller.{suffix}@pipeline.test")
		cls.outsider = make_user(f"board.outsider.{suffix}@pipeline.test")
		cls.team = make_team(f"Board HTTP {suffix}", members=[cls.seller]).name
		cls.other_team = make_team(f"Board HTTP other {suffix}", members=[cls.outsider]).name
		cls.doc = make_opportunity(cls.team, title=f"HTTP card {suffix}")
		frappe.db.commit()
		from pipeline_app.tests.http_client import Client

		cls.as_seller = Client.as_user(cls.seller)
		cls.as_outsider = Client.as_user(cls.outsider)
		cls.as_guest = Client()

	@classmethod
	def tearDownClass(cls):
		frappe.set_user("Administrator")
		purge_team(cls.team, cls.other_team)
		frappe.db.commit()
		super().tearDownClass()

	def stored(self):
		frappe.db.rollback()  # a fresh snapshot: the web server commits in its own process
		return frappe.db.get_value("Pipeline Opportunity", self.doc.name, ["stage", "modified"], as_dict=True)

	def test_member_loads_the_board(self):
		from pipeline_app.tests.http_client import message

		board = message(self.as_seller.call("pipeline_app.api.get_board", "GET", team=self.team))
		cards = [card["name"] for column in board["columns"] for card in column["cards"]]
		self.assertEqual(cards, [self.doc.name])

	def test_guest_and_other_team_are_refused(self):
		# a guest may not read opportunities at all; to another team the team does not exist
		for client, status in ((self.as_guest, 403), (self.as_outsider, 404)):
			response = client.call("pipeline_app.api.get_board", "GET", team=self.team)
			self.assertEqual(response.status_code, status, response.text[:300])
			self.assertNotIn(self.doc.name, response.text)

	def test_writes_are_post_only(self):
		before = self.stored()
		opportunities = frappe.db.count("Pipeline Opportunity", {"team": self.team})
		stage = stage_named(self.team, "Qualification")
		for method, args in (
			("move_opportunity", {"name": self.doc.name, "stage": stage}),
			("update_opportunity", {"name": self.doc.name, "values": {"title": "via GET"}}),
			("add_opportunity", {"team": self.team, "title": "via GET"}),
			(
				"log_message",
				{"contact": "x@example.test", "direction": "Inbound", "text": "x", "team": self.team},
			),
		):
			response = self.as_seller.call(f"pipeline_app.api.{method}", "GET", **args)
			self.assertEqual(response.status_code, 403, f"{method}: {response.text[:300]}")
			self.assertEqual(
				frappe.allowed_http_methods_for_whitelisted_func[
					frappe.get_attr(f"pipeline_app.api.{method}")
				],
				["POST"],
			)
		frappe.db.rollback()
		self.assertEqual(self.stored(), before)
		self.assertEqual(frappe.db.count("Pipeline Opportunity", {"team": self.team}), opportunities)

	def test_stale_move_answers_409_with_the_current_card(self):
		before = self.stored()
		stale = str(add_to_date(before.modified, seconds=-5))
		stage = stage_named(self.team, "Qualification")
		response = self.as_seller.call(
			"pipeline_app.api.move_opportunity", name=self.doc.name, stage=stage, expected_modified=stale
		)
		self.assertEqual(response.status_code, 409, response.text[:300])
		body = response.json()["message"]
		self.assertTrue(body["conflict"])
		self.assertEqual(body["card"]["stage"], before.stage)
		self.assertEqual(self.stored(), before)

	def test_move_over_http(self):
		from pipeline_app.tests.http_client import message

		before = self.stored()
		stage = stage_named(self.team, "Proposal")
		card = message(
			self.as_seller.call(
				"pipeline_app.api.move_opportunity",
				name=self.doc.name,
				stage=stage,
				expected_modified=str(before.modified),
			)
		)["card"]
		self.assertEqual(card["stage"], stage)
		self.assertEqual(self.stored().stage, stage)


class TestLockedCopy(BoardTestCase):
	"""A board write compares against the copy of the row it locked (api._locked_opportunity) instead
	of loading the row again, but only while that copy is what Frappe would load."""

	def test_a_row_saved_meanwhile_in_the_same_request_is_caught_as_frappe_catches_it(self):
		doc = make_opportunity(self.team)
		locked = api._locked_opportunity(doc.name)
		other = frappe.get_doc("Pipeline Opportunity", doc.name)
		other.title = "Changed meanwhile"
		other.save()
		locked.title = "Stale write"
		with self.assertRaises(frappe.TimestampMismatchError):
			locked.save()

	def test_a_reloaded_row_saves_after_a_change_meanwhile(self):
		doc = make_opportunity(self.team)
		locked = api._locked_opportunity(doc.name)
		other = frappe.get_doc("Pipeline Opportunity", doc.name)
		other.title = "Changed meanwhile"
		other.save()
		locked.reload()
		locked.stage = self.qualification
		locked.save()
		stored = frappe.db.get_value("Pipeline Opportunity", doc.name, ["title", "stage"], as_dict=True)
		self.assertEqual((stored.title, stored.stage), ("Changed meanwhile", locked.stage))
