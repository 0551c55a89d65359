"""A card: what the board and its realtime events show of an opportunity, and what the board may
change of it."""

import frappe
from frappe import _
from frappe.model import no_value_fields, table_fields

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


def board_editable_fields() -> frozenset:
	"""What the board may set: its own quick controls' fields and the mandatory ones it asks for."""
	return BOARD_EDITABLE_FIELDS | {df.fieldname for df in required_fields()}


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
	descriptions in the answer, and nothing is changed."""
	empty = {fieldname for fieldname, _message in doc._get_missing_mandatory_fields()}
	missing = [df for df in required_fields() if df.reqd and df.fieldname in empty]
	if not missing:
		return
	frappe.response["missing_fields"] = [field_info(df) for df in missing]
	frappe.throw(
		_("Fill in {0} first").format(", ".join(frappe.bold(_(df.label)) for df in missing)),
		MissingFieldsError,
		title=_("Missing Values"),
	)


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


def card_from_doc(doc, documents: bool = True) -> dict:
	"""The card of an opportunity; with ERPNext, `documents` adds the badges of its latest Quotation
	and Sales Order that the session user may read."""
	card = {field: doc.get(field) for field in CARD_FIELDS}
	if documents:
		attach_documents([card])
	return card
