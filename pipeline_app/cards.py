"""A card: what the board and its realtime events show of an opportunity, and what the board may
change of it."""

import re

import frappe
from frappe import _
from frappe.model import no_value_fields, table_fields
from frappe.utils import cstr, strip_html

from pipeline_app.erpnext.linked import attach_documents

# what the board may change of a card (its quick controls, Add New, the stage gate dialog)
BOARD_EDITABLE_FIELDS = frozenset(
	(
		"title",
		"contact",
		"opportunity_owner",
		"team",
		"stage",
		"status",
		"follow_up_on",
		"amount",
		"lost_reason",
		"lost_detail",
		"on_hold_until",
		"description",
		"source",
		"interest",
		"expected_close_date",
	)
)


# set by the board itself or the rules, never asked in a dialog
NOT_ASKED = frozenset(("team", "stage", "status", "contact", "title", "board_rank", "naming_series"))


def required_fields() -> list:
	"""The fields of Pipeline Opportunity an administrator made mandatory (Mandatory, or Mandatory
	Depends On; custom fields included) that the session user may write: Add New and the board's
	quick edits ask for them instead of failing on the server."""
	meta = frappe.get_meta("Pipeline Opportunity")
	writable = set(meta.get_permitted_fieldnames(permission_type="write"))
	return [
		df
		for df in meta.fields
		if (df.reqd or df.mandatory_depends_on)
		and not df.read_only
		and not df.hidden
		and df.fieldtype not in no_value_fields
		and df.fieldtype not in table_fields
		and df.fieldname not in NOT_ASKED
		and df.fieldname in writable
	]


def board_editable_fields(team_doc=None) -> frozenset:
	"""What the board may set: its own quick controls' fields (on a team with a card layout: the
	fields of its own paths and those the layout makes editable) and the mandatory ones it asks for."""
	rows = team_doc.get("card_fields") if team_doc else None
	if rows:
		editable = OWN_PATH_FIELDS | {row.fieldname for row in rows if row.editable_in_panel}
	else:
		editable = BOARD_EDITABLE_FIELDS
	return editable | {df.fieldname for df in required_fields()}


def check_board_values(doc, values: dict) -> None:
	"""Before the board changes `doc` by `values`: a field the board may not change on the card's
	team (board_editable_fields), or one the session user may not write (its permission level), is
	refused and nothing changes."""
	team_doc = frappe.get_cached_doc("Pipeline Team", doc.team) if doc.team else None
	refused = sorted(set(values) - board_editable_fields(team_doc))
	if refused:
		frappe.throw(
			_("These fields cannot be changed from the board: {0}").format(", ".join(refused)),
			title=_("Not Editable Here"),
		)
	writable = set(frappe.get_meta(DOCTYPE).get_permitted_fieldnames(permission_type="write"))
	refused = sorted(set(values) - writable)
	if refused:
		frappe.throw(
			_("You may not change these fields: {0}").format(", ".join(refused)),
			frappe.PermissionError,
			title=_("Not Permitted"),
		)


def field_info(df) -> dict:
	"""What a board dialog needs to ask for a field."""
	return {
		"fieldname": df.fieldname,
		"label": _(df.label or df.fieldname),
		"fieldtype": df.fieldtype,
		"options": df.options,
		"default": df.default,
		"reqd": df.reqd,
		"depends_on": df.depends_on,
		"mandatory_depends_on": df.mandatory_depends_on,
	}


class MissingFieldsError(frappe.ValidationError):
	"""A save the board asked for leaves mandatory fields empty: the answer names them
	(`missing_fields`) so that the board asks for them and tries again."""


def check_required_fields(doc) -> None:
	"""Before the board saves `doc`: the mandatory fields it leaves empty are refused with their
	descriptions in the answer, and nothing is changed. Mandatory: *Mandatory* (empty as Frappe's save
	finds it), or *Mandatory Depends On* holding for `doc` as it would be saved (depends_on_holds)."""
	empty = {fieldname for fieldname, _message in doc._get_missing_mandatory_fields()}
	missing = [
		df
		for df in required_fields()
		if (
			df.fieldname in empty
			if df.reqd
			else has_no_value(doc, df) and depends_on_holds(df.mandatory_depends_on, doc)
		)
	]
	if not missing:
		return
	frappe.response["missing_fields"] = [field_info(df) for df in missing]
	frappe.throw(
		_("Fill in {0} first").format(", ".join(frappe.bold(_(df.label)) for df in missing)),
		MissingFieldsError,
		title=_("Missing Values"),
	)


# JavaScript's words in a depends-on expression, as Python reads them
JS_OPERATORS = {"===": "==", "!==": "!=", "&&": " and ", "||": " or ", "!": " not "}
JS_CONSTANTS = {"true": "True", "false": "False", "null": "None", "undefined": "None"}
JS_TOKEN = re.compile(
	r"""('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")"""  # a string literal, kept as it is
	r"|(===|!==|&&|\|\||!(?!=))"  # an operator Python spells otherwise
	r"|\b(true|false|null|undefined)\b"
)


def depends_on_holds(expression: str | None, doc) -> bool:
	"""Whether a depends-on expression (Mandatory Depends On, Depends On) holds for `doc`, as the desk
	form decides it (frappe.ui.form.Layout.evaluate_depends_on_value; Frappe's save does not look at
	Mandatory Depends On): `eval:<expression>` on `doc` (frappe.safe_eval, with JavaScript's ===, !==,
	&&, ||, ! and true / false / null / undefined read as Python's), or a fieldname, which holds when
	that field has a value. An expression Python cannot evaluate (a form script's `fn:`, other
	JavaScript, a comparison of an empty value) does not hold: the board does not ask for what the
	server cannot tell is needed, as Frappe's own save would not."""
	expression = (expression or "").strip()
	if not expression:
		return False
	values = frappe._dict(doc.as_dict(convert_dates_to_str=True))
	if not expression.startswith("eval:"):
		return bool(values.get(expression))
	code = JS_TOKEN.sub(
		lambda match: match.group(1) or JS_OPERATORS.get(match.group(2)) or JS_CONSTANTS[match.group(3)],
		expression[5:],
	)
	try:
		return bool(frappe.safe_eval(code.strip(), None, {"doc": values, "parent": values}))
	except Exception:
		return False


def has_no_value(doc, df) -> bool:
	"""Empty as Frappe's mandatory check finds a field (BaseDocument._get_missing_mandatory_fields)."""
	value = doc.get(df.fieldname)
	return value in (None, []) or not strip_html(cstr(value)).strip()


CARD_FIELDS = (
	"name",
	"title",
	"contact",
	"contact_name",
	"contact_email",
	"contact_phone",
	"team",
	"stage",
	"status",
	"opportunity_owner",
	"amount",
	"weighted_amount",
	"probability",
	"currency",
	"follow_up_on",
	"last_activity_on",
	"last_message_preview",
	"unread_count",
	"unanswered",
	"source",
	"interest",
	"on_hold_until",
	"abandons_on",
	"board_rank",
	"modified",
)


def card_from_doc(doc, documents: bool = True, fields=None) -> dict:
	"""The card of an opportunity with the fields its team's card needs (card_fields, for the session
	user; `fields` to choose others); with ERPNext, `documents` adds the badges of its latest
	Quotation and Sales Order that the session user may read."""
	if fields is None:
		fields = card_fields(frappe.get_cached_doc("Pipeline Team", doc.team) if doc.team else None)
	card = frappe._dict({field: doc.get(field) for field in fields})
	attach_link_titles([card], fields)
	if documents:
		attach_documents([card])
	return card


# Card layout per team
# --------------------
# A team's Card Fields (Pipeline Card Field rows) choose what its cards show, in order, and what the
# card panel lets people edit. No rows: the standard card (CARD_FIELDS) and panel.

DOCTYPE = "Pipeline Opportunity"
# what a card of a team with a card layout carries whatever it shows: what the board itself works
# with (column and place, totals, the filters and the search it matches, conflicts, the panel's head)
BASE_FIELDS = (
	"name",
	"title",
	"team",
	"stage",
	"status",
	"opportunity_owner",
	"amount",
	"weighted_amount",
	"currency",
	"follow_up_on",
	"source",
	"interest",
	"contact_name",
	"contact_email",
	"contact_phone",
	"board_rank",
	"modified",
)
# the fields of the board's own paths (Move to..., the Team select, the outcome actions and their
# dialogs), which a card layout does not take away
OWN_PATH_FIELDS = frozenset(("team", "stage", "status", "lost_reason", "lost_detail", "on_hold_until"))
# never a panel field: they change through those paths, or never by hand
NEVER_EDITABLE = frozenset(("name", "team", "stage", "status", "board_rank", "naming_series"))
SHOWABLE_TYPES = frozenset(
	(
		"Data",
		"Select",
		"Autocomplete",
		"Link",
		"Check",
		"Int",
		"Long Int",
		"Float",
		"Currency",
		"Percent",
		"Rating",
		"Date",
		"Datetime",
		"Time",
		"Duration",
		"Phone",
		"Small Text",
		"Text",
		"Long Text",
	)
)
# the opportunity's ID, which a card may show as well
NAME_FIELD = frappe._dict(fieldname="name", label="ID", fieldtype="Data", permlevel=0)
SELLER_ROLE = "Pipeline User"


def layout_field(fieldname: str):
	"""The docfield a card layout row names (or the ID), None for a field the doctype lacks."""
	if fieldname == "name":
		return NAME_FIELD
	return frappe.get_meta(DOCTYPE).get_field(fieldname)


def validate_card_layout(team_doc) -> None:
	"""A team's Card Fields, checked when the team is saved: fields of the doctype, each once, of a
	type a card can show and not hidden; a panel field writable by the team's members at its
	permission level, not read only, and not one of the board's own paths."""
	seen = set()
	for row in team_doc.get("card_fields") or []:
		row.fieldname = (row.fieldname or "").strip()
		where = _("Card Fields, row {0}").format(row.idx)
		df = layout_field(row.fieldname)
		if not df:
			frappe.throw(
				_("{0}: Pipeline Opportunity has no field {1}").format(where, frappe.bold(row.fieldname)),
				title=_("Invalid Card Field"),
			)
		label = _(df.label or df.fieldname)
		if row.fieldname in seen:
			frappe.throw(
				_("{0}: {1} is listed twice").format(where, frappe.bold(label)), title=_("Invalid Card Field")
			)
		seen.add(row.fieldname)
		if df.fieldtype not in SHOWABLE_TYPES or df.hidden:
			frappe.throw(
				_("{0}: {1} is a field of type {2}, which a card cannot show").format(
					where, frappe.bold(label), _(df.fieldtype)
				)
				if not df.hidden
				else _("{0}: {1} is hidden in the form, so a card does not show it").format(
					where, frappe.bold(label)
				),
				title=_("Invalid Card Field"),
			)
		row.label = df.label
		if not row.editable_in_panel:
			continue
		if row.fieldname in NEVER_EDITABLE:
			frappe.throw(
				_("{0}: {1} changes through its own control on the board, not as a panel field").format(
					where, frappe.bold(label)
				),
				title=_("Invalid Card Field"),
			)
		if df.read_only:
			frappe.throw(
				_("{0}: {1} is read only").format(where, frappe.bold(label)), title=_("Invalid Card Field")
			)
		if df.permlevel and not sellers_may_write(df.permlevel):
			frappe.throw(
				_(
					"{0}: {1} is of permission level {2}, which the team's members ({3}) cannot edit: "
					"the desk hides it from them"
				).format(where, frappe.bold(label), df.permlevel, _(SELLER_ROLE)),
				title=_("Invalid Card Field"),
			)


def sellers_may_write(permlevel: int) -> bool:
	"""Whether the sellers' role may write Pipeline Opportunity fields of `permlevel`."""
	# the doctype's meta holds its Custom DocPerm rows when Role Permissions Manager changed them
	return any(
		perm.role == SELLER_ROLE and perm.permlevel == permlevel and perm.write
		for perm in frappe.get_meta(DOCTYPE).permissions
	)


def layout_rows(team_doc) -> list:
	"""The team's Card Fields that still name a field (a custom field removed since is skipped)."""
	return [
		row
		for row in (team_doc.get("card_fields") if team_doc else None) or []
		if layout_field(row.fieldname)
	]


def card_fields(team_doc=None, user: str | None = None) -> tuple[str, ...]:
	"""The fields the board reads for a card of the team, for `user` (default the session user):
	the standard card's without a card layout; with one, the base fields and the shown fields the
	user may read (their permission level), in the layout's order. No `*`: a wide doctype costs the
	board nothing."""
	rows = layout_rows(team_doc)
	if not rows:
		return CARD_FIELDS
	readable = set(frappe.get_meta(DOCTYPE).get_permitted_fieldnames(user=user, permission_type="read"))
	shown = (row.fieldname for row in rows if row.show_on_card and row.fieldname in readable)
	return tuple(dict.fromkeys((*BASE_FIELDS, *shown)))


def shared_card_fields(team_doc) -> tuple[str, ...]:
	"""The fields of the team's cards every reader may read (permission level 0): a realtime card
	carries them; fields of a higher level go only to readers of that level (private_card_fields)."""
	rows = layout_rows(team_doc)
	if not rows:
		return CARD_FIELDS
	shown = (row.fieldname for row in rows if row.show_on_card and not layout_field(row.fieldname).permlevel)
	return tuple(dict.fromkeys((*BASE_FIELDS, *shown)))


def private_card_fields(team_doc) -> list:
	"""The shown fields of the team's card layout of a permission level above 0."""
	return [
		layout_field(row.fieldname)
		for row in layout_rows(team_doc)
		if row.show_on_card and layout_field(row.fieldname).permlevel
	]


def card_layout_info(team_doc) -> list[dict] | None:
	"""What the page draws of the team's card layout for the session user (None: the standard card):
	each row's field as a dialog or a formatter needs it, whether the card shows it (the user may
	read it) and whether the panel edits it (the user may write it)."""
	rows = layout_rows(team_doc)
	if not rows:
		return None
	meta = frappe.get_meta(DOCTYPE)
	readable = {*meta.get_permitted_fieldnames(permission_type="read"), "name"}
	writable = set(meta.get_permitted_fieldnames(permission_type="write"))
	info = []
	for row in rows:
		if row.fieldname not in readable:
			continue
		df = layout_field(row.fieldname)
		info.append(
			{
				**field_info(df),
				"precision": df.get("precision"),
				"show": 1 if row.show_on_card else 0,
				"edit": 1 if row.editable_in_panel and row.fieldname in writable else 0,
			}
		)
	return info


def attach_link_titles(cards: list, fields) -> None:
	"""Each card's `link_titles` ({"Doctype::name": title}, as the desk's frappe._link_titles holds
	them) for its Link fields among `fields` to doctypes the desk shows by title (Show Title in Link
	Fields): one query per such doctype, whatever the number of cards. The desk shows those titles
	to whoever sees the link, so they are read as the desk reads them."""
	meta = frappe.get_meta(DOCTYPE)
	links = {}
	for fieldname in fields:
		if fieldname in CARD_FIELDS_WITHOUT_TITLES:
			continue
		df = meta.get_field(fieldname)
		if df and df.fieldtype == "Link" and df.options:
			target = frappe.get_meta(df.options)
			if target.show_title_field_in_link and target.title_field and target.title_field != "name":
				links.setdefault(df.options, []).append(fieldname)
	for doctype, fieldnames in links.items():
		names = {card.get(f) for card in cards for f in fieldnames} - {None, ""}
		if not names:
			continue
		title_field = frappe.get_meta(doctype).title_field
		titles = dict(
			frappe.get_all(
				doctype, filters={"name": ("in", list(names))}, fields=["name", title_field], as_list=True
			)
		)
		for card in cards:
			for fieldname in fieldnames:
				value = card.get(fieldname)
				if value in titles:
					card.setdefault("link_titles", {})[f"{doctype}::{value}"] = titles[value]


# the standard card's links, which it shows its own way (the owner by the board's user names)
CARD_FIELDS_WITHOUT_TITLES = frozenset(("team", "stage", "opportunity_owner", "contact", "currency"))
