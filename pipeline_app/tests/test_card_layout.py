"""Card layout per team (issue 14): a team's Card Fields choose what its board cards show, in order,
and what the card panel edits. Checked when the team is saved; the board's queries read exactly the
base fields and the chosen ones the user may read (no `*`), in the same number of queries; link
titles come in one query per titled doctype; realtime cards carry the same fields (a field of a
higher permission level only to its readers); the panel's endpoint refuses fields the card's team
did not make editable, and fields the user may not write. In process and over HTTP."""

from pathlib import Path
from unittest.mock import patch

import frappe
from frappe.custom.doctype.property_setter.property_setter import make_property_setter
from frappe.permissions import add_permission, update_permission_property
from frappe.tests.utils import FrappeTestCase
from frappe.utils import random_string

from pipeline_app import api
from pipeline_app.boot import extend_bootinfo
from pipeline_app.cards import BASE_FIELDS, CARD_FIELDS, SHOWABLE_TYPES, card_fields, card_from_doc
from pipeline_app.realtime import private_card_values, realtime_card
from pipeline_app.tests.counters import count_queries
from pipeline_app.tests.factories import make_opportunity, make_team, make_user, purge_team, stage_named
from pipeline_app.tests.http_client import Client
from pipeline_app.tests.test_doctype_filters import add_custom_field, remove_custom_field

DOCTYPE = "Pipeline Opportunity"


def set_layout(team: str, rows: list[tuple], validate: bool = True) -> None:
	"""Rows of (fieldname, show_on_card, editable_in_panel); committed."""
	doc = frappe.get_doc("Pipeline Team", team)
	doc.set("card_fields", [])
	for fieldname, show, edit in rows:
		doc.append("card_fields", {"fieldname": fieldname, "show_on_card": show, "editable_in_panel": edit})
	if validate:
		doc.save(ignore_permissions=True)
	else:  # a layout saved before a rule changed (an edited permission level): skip its checks
		doc.flags.ignore_validate = True
		doc.save(ignore_permissions=True)
	frappe.db.commit()


def board_query(queries: list[str]) -> str:
	"""The cards' query of a board load (the UNION of the columns' range scans)."""
	return next(q for q in queries if "board_rank" in q and "order by" in q.lower() and "count(" not in q)


class TestCardLayout(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		suffix = random_string(5).lower()
		cls.suffix = suffix
		cls.region = f"region_{suffix}"
		cls.note = f"note_{suffix}"
		cls.margin = f"margin_{suffix}"  # permission level 1: the managers' only
		cls.reviewer = f"reviewer_{suffix}"  # a Link to User, shown by title
		add_custom_field(cls.region, fieldtype="Select", options="\nNorth\nSouth", in_standard_filter=0)
		add_custom_field(cls.note, fieldtype="Data", in_standard_filter=0)
		add_custom_field(cls.margin, fieldtype="Percent", permlevel=1, in_standard_filter=0)
		add_custom_field(cls.reviewer, fieldtype="Link", options="User", in_standard_filter=0)
		add_permission(DOCTYPE, "Pipeline Manager", 1)
		update_permission_property(DOCTYPE, "Pipeline Manager", 1, "write", 1)
		make_property_setter("User", None, "show_title_field_in_link", "1", "Check", for_doctype=True)
		frappe.db.commit()
		frappe.clear_cache(doctype=DOCTYPE)
		frappe.clear_cache(doctype="User")
		cls.seller = make_user()
		cls.manager = make_user(roles=("Pipeline User", "Pipeline Manager"))
		cls.team = make_team(f"Layout {suffix}", members=[cls.seller], deal_amount_enabled=1).name
		cls.other = make_team(f"Layout other {suffix}", members=[cls.seller]).name
		cls.plain = make_team(f"Layout plain {suffix}", members=[cls.seller]).name
		cls.card = make_opportunity(
			cls.team,
			title="Layout card",
			amount=1250,
			**{cls.region: "North", cls.note: "first", cls.margin: 12.5, cls.reviewer: cls.manager},
		).name
		cls.other_card = make_opportunity(cls.other, title="Other team card").name
		make_opportunity(cls.plain, title="Plain card")
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		frappe.set_user("Administrator")
		purge_team(cls.team, cls.other, cls.plain)
		frappe.db.delete("Property Setter", {"doc_type": "User", "property": "show_title_field_in_link"})
		frappe.db.delete("Custom DocPerm", {"parent": DOCTYPE})
		frappe.db.commit()
		for field in (cls.region, cls.note, cls.margin, cls.reviewer):
			remove_custom_field(field)
		frappe.clear_cache(doctype="User")
		super().tearDownClass()

	def setUp(self):
		# tests over HTTP commit their changes: every test starts from the same card
		frappe.db.set_value(
			DOCTYPE,
			self.card,
			{
				self.region: "North",
				self.note: "first",
				self.margin: 12.5,
				"amount": 1250,
				"stage": stage_named(self.team, "New"),
			},
		)
		frappe.db.set_value(DOCTYPE, self.other_card, self.note, None)
		set_layout(
			self.team,
			[
				(self.region, 1, 0),
				("amount", 1, 1),
				(self.note, 1, 1),
				(self.margin, 1, 0),
				(self.reviewer, 1, 0),
				("description", 0, 1),
			],
		)

	def tearDown(self):
		frappe.set_user("Administrator")
		frappe.db.rollback()

	# Validation
	# ----------

	def refused(self, rows, message):
		doc = frappe.get_doc("Pipeline Team", self.other)
		for fieldname, show, edit in rows:
			doc.append(
				"card_fields", {"fieldname": fieldname, "show_on_card": show, "editable_in_panel": edit}
			)
		with self.assertRaises(frappe.ValidationError) as refusal:
			doc.save(ignore_permissions=True)
		self.assertIn(message, str(refusal.exception))
		frappe.db.rollback()
		self.assertEqual(frappe.get_doc("Pipeline Team", self.other).card_fields, [])  # nothing changed

	def test_a_layout_names_fields_a_card_can_show_and_the_panel_may_edit(self):
		self.refused([("no_such_field", 1, 0)], "has no field")
		self.refused([("items", 1, 0)], "which a card cannot show")  # a Table
		self.refused([("section_deal", 1, 0)], "which a card cannot show")  # a Section Break
		self.refused([("board_rank", 1, 0)], "hidden in the form")
		self.refused([(self.region, 1, 0), (self.region, 0, 1)], "listed twice")
		for own_path in ("name", "team", "stage", "status"):
			self.refused([(own_path, 1, 1)], "its own control")
		self.refused([("weighted_amount", 1, 1)], "read only")
		self.refused([(self.margin, 1, 1)], "permission level 1")  # sellers cannot write it
		# shown (not edited) all of these are fine, and the rows take the fields' labels
		set_layout(self.other, [("name", 1, 0), ("weighted_amount", 1, 0), (self.margin, 1, 0)])
		labels = [row.label for row in frappe.get_doc("Pipeline Team", self.other).card_fields]
		self.assertEqual(labels, ["ID", "Weighted Amount", frappe.get_meta(DOCTYPE).get_label(self.margin)])
		set_layout(self.other, [])

	def test_the_team_form_offers_the_types_the_server_accepts(self):
		# the Card tab's field options go by the server's list, sent in the desk's boot (issue 13)
		boot = frappe._dict()
		extend_bootinfo(boot)
		self.assertEqual(set(boot.pipeline_card_field_types), SHOWABLE_TYPES)
		form_script = Path(
			frappe.get_app_path(
				"pipeline_app", "pipeline_app", "doctype", "pipeline_team", "pipeline_team.js"
			)
		).read_text()
		self.assertIn("frappe.boot.pipeline_card_field_types", form_script)
		self.assertNotIn('"Long Int"', form_script)  # no copy of the list

	def test_the_messages_are_translated(self):
		frappe.local.lang = "de"
		try:
			self.refused([("items", 1, 0)], "Kartenfelder")
		finally:
			frappe.local.lang = "en"

	# What the board reads
	# --------------------

	def test_without_a_layout_the_card_is_today_s_card(self):
		frappe.set_user(self.seller)
		board = api.get_board(self.plain)
		self.assertIsNone(board["team"]["card_fields"])
		cards = [card for column in board["columns"] for card in column["cards"]]
		self.assertTrue(cards)
		self.assertEqual(set(cards[0]), set(CARD_FIELDS))
		self.assertEqual(card_fields(frappe.get_doc("Pipeline Team", self.plain)), CARD_FIELDS)

	def test_the_query_reads_the_base_fields_and_the_chosen_ones_the_user_may_read(self):
		frappe.set_user(self.seller)
		with count_queries() as queries:
			board = api.get_board(self.team)
		query = board_query(queries)
		self.assertNotIn("*", query)
		for field in (*BASE_FIELDS, self.region, "amount", self.note, self.reviewer):
			self.assertIn(f"`{field}`", query)
		# not chosen, or not shown (the panel reads it on opening), or above the seller's level
		for field in ("last_message_preview", "probability", "description", self.margin):
			self.assertNotIn(f"`{field}`", query)
		card = next(c for column in board["columns"] for c in column["cards"] if c.name == self.card)
		self.assertEqual(set(card) - {"link_titles"}, {*BASE_FIELDS, self.region, self.note, self.reviewer})
		self.assertEqual(card[self.region], "North")
		layout = {f["fieldname"]: f for f in board["team"]["card_fields"]}
		self.assertEqual(list(layout), [self.region, "amount", self.note, self.reviewer, "description"])
		self.assertEqual((layout["amount"]["show"], layout["amount"]["edit"]), (1, 1))
		self.assertEqual((layout["description"]["show"], layout["description"]["edit"]), (0, 1))
		# the manager reads the level-1 field
		frappe.set_user(self.manager)
		board = api.get_board(self.team)
		card = next(c for column in board["columns"] for c in column["cards"] if c.name == self.card)
		self.assertEqual(card[self.margin], 12.5)
		self.assertIn(self.margin, {f["fieldname"] for f in board["team"]["card_fields"]})

	def test_a_link_comes_with_its_title_where_the_desk_shows_titles(self):
		frappe.set_user(self.seller)
		full_name = frappe.db.get_value("User", self.manager, "full_name")
		board = api.get_board(self.team)
		card = next(c for column in board["columns"] for c in column["cards"] if c.name == self.card)
		self.assertEqual(card["link_titles"], {f"User::{self.manager}": full_name})
		# the next page of a column and a changed card's answer too
		new = stage_named(self.team, "New")
		page = api.get_stage_cards(self.team, new, start=0)["cards"]
		self.assertEqual(next(c for c in page if c.name == self.card)["link_titles"], card["link_titles"])
		answer = api.update_opportunity(self.card, {self.note: "second"})["card"]
		self.assertEqual(answer["link_titles"], card["link_titles"])
		self.assertEqual(answer[self.note], "second")

	def test_a_layout_costs_the_board_no_query_beyond_one_per_titled_doctype(self):
		frappe.set_user(self.seller)
		api.get_board(self.plain)  # warm caches
		api.get_board(self.team)
		with count_queries() as plain:
			api.get_board(self.plain)
		with count_queries() as laid_out:
			api.get_board(self.team)
		self.assertEqual(len(laid_out), len(plain) + 1, laid_out)  # the reviewer's title
		set_layout(self.team, [(self.region, 1, 0), (self.note, 1, 1)])
		api.get_board(self.team)
		with count_queries() as untitled:
			api.get_board(self.team)
		self.assertEqual(len(untitled), len(plain))

	def test_a_custom_field_removed_since_is_left_out(self):
		field = f"gone_{self.suffix}"
		add_custom_field(field, fieldtype="Data", in_standard_filter=0)
		set_layout(self.other, [(field, 1, 1)])
		remove_custom_field(field)
		frappe.set_user(self.seller)
		board = api.get_board(self.other)
		self.assertEqual(board["team"]["card_fields"], None)  # no row left: the standard card
		frappe.set_user("Administrator")
		set_layout(self.other, [], validate=False)

	# Realtime
	# --------

	def test_realtime_cards_carry_the_layout_s_fields_and_level_one_only_to_its_readers(self):
		doc = frappe.get_doc(DOCTYPE, self.card)
		card = realtime_card(doc)
		self.assertEqual(card[self.note], "first")
		self.assertEqual(card[self.region], "North")
		self.assertNotIn(self.margin, card)
		self.assertIn(f"User::{self.manager}", card["link_titles"])
		private = private_card_values(doc, [self.seller, self.manager])
		self.assertEqual(private[self.seller], {})
		self.assertEqual(private[self.manager], {self.margin: 12.5})
		# a plain team's event card stays the standard card
		plain = frappe.get_doc(DOCTYPE, frappe.get_all(DOCTYPE, {"team": self.plain}, pluck="name")[0])
		self.assertEqual(set(realtime_card(plain)) - set(CARD_FIELDS), set())

	def test_a_change_sends_each_reader_the_fields_they_may_read(self):
		sent = []
		with patch(
			"pipeline_app.realtime.emit_after_commit",
			side_effect=lambda event, message, users: sent.append((message, list(users))),
		):
			frappe.set_user(self.seller)
			api.update_opportunity(self.card, {self.note: "live"})
		by_user = {user: message["card"] for message, users in sent if message.get("card") for user in users}
		self.assertEqual(by_user[self.seller][self.note], "live")
		self.assertNotIn(self.margin, by_user[self.seller])
		self.assertEqual(by_user[self.manager][self.margin], 12.5)

	# The panel's edits
	# -----------------

	def test_the_panel_edits_only_what_the_card_s_team_made_editable(self):
		frappe.set_user(self.seller)
		api.update_opportunity(self.card, {self.note: "edited", "amount": 99})
		self.assertEqual(frappe.db.get_value(DOCTYPE, self.card, [self.note, "amount"]), ("edited", 99))
		for refused in ({self.region: "South"}, {"follow_up_on": "2031-01-01 10:00:00"}):
			with self.assertRaises(frappe.ValidationError):
				api.update_opportunity(self.card, refused)
		self.assertEqual(frappe.db.get_value(DOCTYPE, self.card, self.region), "North")
		# the team's own paths stay (Move to... with a gate's values goes through here)
		qualification = stage_named(self.team, "Qualification")
		api.update_opportunity(self.card, {"stage": qualification})
		self.assertEqual(frappe.db.get_value(DOCTYPE, self.card, "stage"), qualification)
		# another team (standard panel) does not get this team's fields
		with self.assertRaises(frappe.ValidationError):
			api.update_opportunity(self.other_card, {self.note: "not here"})
		self.assertFalse(frappe.db.get_value(DOCTYPE, self.other_card, self.note))

	def test_a_field_above_the_user_s_level_is_refused_even_if_the_layout_lists_it(self):
		set_layout(self.team, [(self.margin, 1, 1)], validate=False)  # listed before a level changed
		frappe.set_user(self.seller)
		with self.assertRaises(frappe.PermissionError):
			api.update_opportunity(self.card, {self.margin: 50})
		frappe.set_user(self.manager)
		api.update_opportunity(self.card, {self.margin: 50})
		self.assertEqual(frappe.db.get_value(DOCTYPE, self.card, self.margin), 50)

	def test_over_http_the_board_reads_the_chosen_fields_and_the_panel_refuses_the_others(self):
		frappe.db.commit()
		client = Client.as_user(self.seller)
		response = client.call("pipeline_app.api.get_board", "GET", team=self.team)
		self.assertEqual(response.status_code, 200, response.text)
		cards = [c for column in response.json()["message"]["columns"] for c in column["cards"]]
		expected = {*BASE_FIELDS, self.region, self.note, self.reviewer}
		self.assertEqual(set(cards[0]) - {"link_titles"}, expected)
		response = client.call(
			"pipeline_app.api.get_stage_cards", "GET", team=self.team, stage=stage_named(self.team, "New")
		)
		self.assertEqual(response.status_code, 200, response.text)
		self.assertEqual(set(response.json()["message"]["cards"][0]) - {"link_titles"}, expected)
		response = client.call(
			"pipeline_app.api.update_opportunity", name=self.card, values={self.region: "South"}
		)
		self.assertEqual(response.status_code, 417, response.text)
		response = client.call(
			"pipeline_app.api.update_opportunity", name=self.other_card, values={self.note: "x"}
		)
		self.assertEqual(response.status_code, 417, response.text)
		response = client.call(
			"pipeline_app.api.update_opportunity", name=self.card, values={self.note: "ok"}
		)
		self.assertEqual(response.status_code, 200, response.text)
		self.assertEqual(response.json()["message"]["card"][self.note], "ok")
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value(DOCTYPE, self.card, [self.region, self.note]), ("North", "ok"))
		self.assertFalse(frappe.db.get_value(DOCTYPE, self.other_card, self.note))

	def test_card_from_doc_reads_the_team_s_fields_for_the_session_user(self):
		doc = frappe.get_doc(DOCTYPE, self.card)
		frappe.set_user(self.seller)
		self.assertNotIn(self.margin, card_from_doc(doc, documents=False))
		frappe.set_user(self.manager)
		self.assertEqual(card_from_doc(doc, documents=False)[self.margin], 12.5)
