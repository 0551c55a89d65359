"""A card: what the board and its realtime events show of an opportunity."""

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
