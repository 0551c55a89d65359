"""Whitelisted methods: thin, permission-checked, POST for writes."""

import hmac

import frappe
from frappe import _
from frappe.utils import cint, get_datetime
from frappe.utils.password import get_decrypted_password

from pipeline_app import board
from pipeline_app.automation import digests
from pipeline_app.automation.conversations import exclusive_intake, record_message
from pipeline_app.cards import (
	board_editable_fields,
	card_fields,
	card_from_doc,
	check_board_values,
	check_required_fields,
)
from pipeline_app.erpnext.linked import attach_documents
from pipeline_app.list_queries import permitted_query
from pipeline_app.lookups import value_of
from pipeline_app.permissions import raise_not_found
from pipeline_app.realtime import publish_opportunity, publish_team_refresh
from pipeline_app.teams import can_access_team
from pipeline_app.validation import RequestTooLargeError, check_length, check_values, parse_json_argument

# the webhook: requests per team, and per peer address, within the window (site config may change them)
WEBHOOK_RATE_LIMIT = 600
WEBHOOK_PEER_RATE_LIMIT = 3000
WEBHOOK_RATE_WINDOW = 60  # seconds
WEBHOOK_MAX_REQUEST_BYTES = 256 * 1024
MAX_MESSAGE_LENGTH = 50_000  # characters of a message's text
MAX_SUBJECT_LENGTH = 500
MAX_SENDER_NAME_LENGTH = 140
SEARCH_PAGE_LENGTH = 100


@frappe.whitelist()
@frappe.validate_and_sanitize_search_inputs
def search_team_members(
	doctype: str, txt: str, searchfield: str, start: int, page_len: int, filters: dict | str | None = None
) -> list:
	"""Link search for a team's members (opportunity owner, appointment host). Only members of a team
	the caller may read are returned. `filters` is `{"team": ...}` (a JSON string over HTTP)."""
	team = (parse_json_argument("filters", filters, dict) or {}).get("team")
	if not team or not isinstance(team, str):
		return []
	_readable_team(team)
	member = frappe.qb.DocType("Pipeline Team Member")
	user = frappe.qb.DocType("User")
	pattern = f"%{txt}%"
	return (
		frappe.qb.from_(member)
		.join(user)
		.on(user.name == member.user)
		.select(member.user, user.full_name)
		.where(
			(member.parenttype == "Pipeline Team")
			& (member.parent == team)
			& (user.enabled == 1)
			& ((member.user.like(pattern)) | (user.full_name.like(pattern)))
		)
		.orderby(member.idx)
		.limit(min(max(cint(page_len), 1), SEARCH_PAGE_LENGTH))
		.offset(max(cint(start), 0))
		.run()
	)


@frappe.whitelist(methods=["POST"])
def log_message(
	contact: str,
	direction: str,
	text: str,
	channel: str = "Chat",
	team: str | None = None,
	opportunity: str | None = None,
	subject: str | None = None,
	sender_name: str | None = None,
) -> dict:
	"""Records a message of a channel integration (WhatsApp, SMS, chat, phone, email) as a
	Communication on the contact and the opportunity. `contact` is an email address or a phone
	number. Give `opportunity`, or `team` to use the contact's open opportunity there (an inbound
	message creates one where the team allows it)."""

	_check_message_size(text, subject, sender_name)
	if opportunity:
		doc = frappe.get_doc("Pipeline Opportunity", opportunity)
		doc.check_permission("write")
		team = doc.team
	elif team:
		_readable_team(team)
		frappe.has_permission("Pipeline Opportunity", "create", throw=True)
	else:
		frappe.throw(_("Give the opportunity or the team the message belongs to"), title=_("Missing Team"))
	with exclusive_intake(team):
		result = record_message(
			contact,
			direction,
			text,
			channel=channel,
			team=team,
			opportunity=opportunity,
			subject=subject,
			sender_name=sender_name,
		)
	return result


@frappe.whitelist(allow_guest=True, methods=["POST"])
def receive_message(
	team: str,
	contact: str,
	text: str,
	direction: str = "Inbound",
	channel: str = "Chat",
	subject: str | None = None,
	sender_name: str | None = None,
) -> dict:
	"""Webhook for channel integrations that cannot log in: the request carries the team's webhook
	secret in the `X-Pipeline-Secret` header. A wrong or missing secret, or an unknown team, is refused
	the same way and changes nothing. Rate limited per team and per peer address (the connection's,
	not a header's); a request or message beyond the size limits answers 413."""
	limit_webhook_rate(team)
	if len(frappe.request.get_data(cache=True)) > WEBHOOK_MAX_REQUEST_BYTES:
		frappe.throw(
			_("The request is too large: at most {0} KB").format(WEBHOOK_MAX_REQUEST_BYTES // 1024),
			RequestTooLargeError,
			title=_("Too Large"),
		)
	_check_message_size(text, subject, sender_name)
	given = frappe.get_request_header("X-Pipeline-Secret") or ""
	expected = (
		get_decrypted_password("Pipeline Team", team, "webhook_secret", raise_exception=False)
		if isinstance(team, str) and frappe.db.exists("Pipeline Team", team)
		else None
	)
	if not expected or not given or not hmac.compare_digest(given.encode(), expected.encode()):
		frappe.throw(_("Invalid webhook secret"), frappe.AuthenticationError, title=_("Not Permitted"))
	user = frappe.session.user
	frappe.set_user("Administrator")
	try:
		with exclusive_intake(team):
			result = record_message(
				contact, direction, text, channel=channel, team=team, subject=subject, sender_name=sender_name
			)
	finally:
		frappe.set_user(user)
	return result


def webhook_rate_key(kind: str, identity: str) -> str:
	return frappe.cache.make_key(f"pipeline_app:webhook_rate:{kind}:{identity}")


def limit_webhook_rate(team) -> None:
	"""Counts the request against its team and its peer address (`frappe.request.remote_addr`: the
	connection's. Frappe's `rate_limit` takes the first address of `X-Forwarded-For`, which any client
	can set). Behind a reverse proxy every request comes from the proxy: the peer limit then caps all
	webhook traffic together."""
	limits = (
		("team", str(team)[:140], frappe.conf.get("pipeline_webhook_rate_limit") or WEBHOOK_RATE_LIMIT),
		(
			"peer",
			frappe.request.remote_addr or "",
			frappe.conf.get("pipeline_webhook_peer_rate_limit") or WEBHOOK_PEER_RATE_LIMIT,
		),
	)
	for kind, identity, limit in limits:
		key = webhook_rate_key(kind, identity)
		count = frappe.cache.incrby(key, 1)
		if count == 1 or frappe.cache.ttl(key) < 0:
			frappe.cache.expire(key, WEBHOOK_RATE_WINDOW)
		if count > cint(limit):
			frappe.throw(
				_("Too many messages; try again in a minute"),
				frappe.RateLimitExceededError,
				title=_("Rate Limit"),
			)


def _check_message_size(text, subject, sender_name) -> None:
	check_length("text", text, MAX_MESSAGE_LENGTH)
	check_length("subject", subject, MAX_SUBJECT_LENGTH)
	check_length("sender_name", sender_name, MAX_SENDER_NAME_LENGTH)


# The Pipeline Board
# ------------------


@frappe.whitelist()
def get_board(
	team: str | None = None, filters: dict | str | None = None, limit_per_stage: int | None = None
) -> dict:
	"""One team's board: its columns in stage order with counts, amount totals and their first cards,
	plus what the page needs around them (the user's teams, the team's members and their names). The
	number of queries does not depend on the number of opportunities."""

	frappe.has_permission("Pipeline Opportunity", "read", throw=True)
	filters = board.normalize_filters(filters)
	# frappe.get_list's query, its text kept per process (pipeline_app/list_queries.py)
	teams = frappe.db.sql(
		permitted_query("Pipeline Team", fields=["name"], order_by="`tabPipeline Team`.`name` asc"),
		pluck=True,
	)
	if not team:
		if not teams:
			frappe.throw(
				_("You are not a member of any pipeline team yet; ask a Pipeline Manager to add you"),
				frappe.PermissionError,
				title=_("No Team"),
			)
		team = teams[0]
	team_doc = _readable_team(team)
	versions = board.read_versions(team)  # before the rows are read: see board.read_versions
	return {
		**board.get_board_data(
			team_doc, filters, board.clamp_limit(limit_per_stage or board.FIRST_SCREEN), versions
		),
		"teams": teams,
	}


@frappe.whitelist()
def get_stage_cards(
	team: str,
	stage: str,
	start: int = 0,
	limit: int | None = None,
	filters: dict | str | None = None,
	after: str | None = None,
) -> dict:
	"""The next cards of one column, for scrolling: from position `start`, or (better while others
	move cards) right after card `after`, the last card the board shows. `limit` defaults to Pipeline
	Settings' Board Cards per Column."""

	frappe.has_permission("Pipeline Opportunity", "read", throw=True)
	fields = card_fields(_readable_team(team))  # the team's card layout
	if value_of("Funnel Stage", stage, "team") != team:
		frappe.throw(
			_("Stage {0} is not a stage of team {1}").format(frappe.bold(stage), frappe.bold(team)),
			title=_("Invalid Stage"),
		)
	filters = board.normalize_filters(filters)
	limit = board.clamp_limit(limit) if limit else board.page_size()
	if after:
		cards = board.get_cards_after(team, stage, after, filters, limit, fields)
	else:
		cards = board.get_cards(team, [stage], filters, max(cint(start), 0), limit, fields=fields)
	attach_documents(cards)
	return {"cards": cards, "users": board.get_user_details(c.opportunity_owner for c in cards)}


@frappe.whitelist(methods=["POST"])
def move_opportunity(
	name: str,
	stage: str,
	expected_modified: str | None = None,
	before: str | None = None,
	after: str | None = None,
) -> dict:
	"""Moves one card to `stage`, placed after card `after` and before card `before` (either or
	neither may be given; neither puts it on top). Only this opportunity's row is written, with every
	rule of the form applied. When `expected_modified` is not the card's current `modified`, someone
	changed it meanwhile: nothing is changed and the answer (HTTP 409) carries the current card."""

	doc = _locked_opportunity(name)
	if _is_stale(doc, expected_modified):
		return _conflict(doc)
	if not stage or not isinstance(stage, str):
		frappe.throw(_("Choose the stage to move the opportunity to"), title=_("Missing Stage"))
	if stage == doc.stage:
		# a reorder within the column changes nothing any rule looks at: write the rank alone
		doc.db_set("board_rank", board.rank_for_position(doc, above=after, below=before))
		publish_opportunity(doc)
	else:
		doc.stage = stage
		if value_of("Funnel Stage", stage, "team") == doc.team:
			doc.flags.board_rank = board.rank_for_position(doc, above=after, below=before)
		check_required_fields(doc)
		doc.save()
	if doc.flags.rebalanced_column:  # the column was renumbered to make room: its boards reload it
		publish_team_refresh(*doc.flags.rebalanced_column)
	return {"card": card_from_doc(doc)}


@frappe.whitelist(methods=["POST"])
def update_opportunity(name: str, values: dict | str, expected_modified: str | None = None) -> dict:
	"""Changes fields of one opportunity from the board's quick controls, with the same rules as the
	form and the same conflict answer as move_opportunity."""

	values = parse_json_argument("values", values, dict)
	if not values:
		frappe.throw(_("Give the fields to change"), title=_("Nothing to Change"))
	check_values("Pipeline Opportunity", values)
	doc = _locked_opportunity(name)
	# the fields of the board's controls, or of the card's team's card layout, that the user may write
	check_board_values(doc, values)
	if _is_stale(doc, expected_modified):
		return _conflict(doc)
	doc.update(values)
	check_required_fields(doc)
	doc.save()
	return {"card": card_from_doc(doc)}


@frappe.whitelist(methods=["POST"])
def add_opportunity(
	team: str,
	title: str | None = None,
	contact: str | None = None,
	first_name: str | None = None,
	last_name: str | None = None,
	email: str | None = None,
	phone: str | None = None,
	values: dict | str | None = None,
) -> dict:
	"""The board's "Add New": an opportunity for an existing contact, or for a contact created here
	from a name, email and phone. It lands on top of the team's first stage."""

	values = parse_json_argument("values", values, dict) or {}
	refused = sorted(set(values) - board_editable_fields())
	if refused:
		frappe.throw(
			_("These fields cannot be set from the board: {0}").format(", ".join(refused)),
			title=_("Not Editable Here"),
		)
	check_values("Pipeline Opportunity", values)
	_readable_team(team)
	frappe.has_permission("Pipeline Opportunity", "create", throw=True)
	if contact and first_name:
		frappe.throw(_("Pick a contact or create one, not both"), title=_("Invalid Contact"))
	if not contact:
		if not (first_name or "").strip():
			frappe.throw(_("Pick a contact or give the new contact's first name"), title=_("Missing Contact"))
		contact = _create_contact(first_name, last_name, email, phone)
	elif not frappe.has_permission("Contact", "read", doc=contact):
		frappe.throw(_("You cannot use contact {0}").format(frappe.bold(contact)), frappe.PermissionError)
	title = (title or "").strip() or frappe.db.get_value("Contact", contact, "full_name") or contact
	doc = frappe.get_doc(
		{**values, "doctype": "Pipeline Opportunity", "team": team, "contact": contact, "title": title}
	)
	check_required_fields(doc)
	doc.insert()
	return {"card": card_from_doc(doc)}


def _create_contact(first_name, last_name, email, phone) -> str:
	contact = frappe.get_doc(
		{"doctype": "Contact", "first_name": first_name.strip(), "last_name": (last_name or "").strip()}
	)
	if email:
		contact.add_email(email.strip(), is_primary=True)
	if phone:
		contact.add_phone(phone.strip(), is_primary_phone=True, is_primary_mobile_no=True)
	contact.insert()
	return contact.name


@frappe.whitelist(methods=["POST"])
def follow_opportunity(name: str, follow: int | str = 1) -> dict:
	"""Follows one opportunity for the session user's digest (a Document Follow row), or with
	`follow=0` stops. Another team's opportunity answers as a missing one."""
	doc = frappe.get_doc("Pipeline Opportunity", name)
	doc.check_permission("read")
	return {"following": digests.set_following(doc, bool(cint(follow)))}


@frappe.whitelist(methods=["POST"])
def follow_team(team: str, follow: int | str = 1) -> dict:
	"""Follows a whole team funnel for the session user's digest (their Pipeline Digest
	Subscription's Teams Followed), or with `follow=0` stops. Only a team the user may read."""
	_readable_team(team)
	return {"following": digests.set_team_following(team, bool(cint(follow)))}


@frappe.whitelist()
def get_following(name: str | None = None, team: str | None = None) -> dict:
	"""Whether the session user follows the opportunity `name` and the team funnel `team`, and how
	often their digest comes."""
	answer = {"frequency": digests.get_subscription().frequency}
	if name:
		doc = frappe.get_doc("Pipeline Opportunity", name)
		doc.check_permission("read")
		answer["opportunity"] = digests.follows_opportunity(doc.name)
		answer["owner"] = doc.opportunity_owner == frappe.session.user
	if team:
		_readable_team(team)
		answer["team"] = team in {row.team for row in digests.get_subscription().teams}
	return answer


def _readable_team(team: str):
	"""The team, from Frappe's document cache (cleared by every save of the team, its members
	included): a missing team and another team's answer alike (404), as when loading any record."""

	if not team or not isinstance(team, str):
		frappe.throw(_("Choose a team"), frappe.MandatoryError, title=_("Missing Team"))
	if not can_access_team(team):
		raise_not_found("Pipeline Team", team)
	doc = frappe.get_cached_doc("Pipeline Team", team)
	doc.check_permission("read")
	return doc


def _locked_opportunity(name: str):
	"""The opportunity, locked for the write: a missing one and another team's answer alike (404)."""
	if not name or not isinstance(name, str):
		frappe.throw(_("Choose an opportunity"), frappe.MandatoryError, title=_("Missing Opportunity"))
	doc = frappe.get_doc("Pipeline Opportunity", name, for_update=True)
	doc.check_permission("write")
	# the row is locked until the request ends: its save compares against this copy instead of
	# loading it once more (PipelineOpportunity.load_doc_before_save)
	doc.flags.stored_copy = frappe.get_doc(doc.as_dict())
	return doc


def _is_stale(doc, expected_modified: str | None) -> bool:
	if not expected_modified:
		return False
	try:
		expected = get_datetime(expected_modified)
	except Exception:
		frappe.throw(_("Invalid modified timestamp: {0}").format(expected_modified), title=_("Invalid Value"))
	return expected != get_datetime(doc.modified)


def _conflict(doc) -> dict:

	frappe.local.response.http_status_code = 409
	return {
		"conflict": True,
		"message": _("{0} was changed by {1} meanwhile; the board now shows its current state").format(
			doc.title or doc.name, frappe.utils.get_fullname(doc.modified_by)
		),
		"card": card_from_doc(doc),
		"users": board.get_user_details([doc.opportunity_owner]),
	}
