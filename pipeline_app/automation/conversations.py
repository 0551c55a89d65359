"""Conversations: inbound and outbound messages are Communication records linked to the contact and
the opportunity. Whatever creates the Communication (an Email Account, `pipeline_app.api.log_message`,
the webhook), `on_communication` keeps the opportunity's conversation fields current and moves a
first-stage opportunity to the team's "contact replied" stage on an inbound reply."""

import html

import frappe
from frappe import _
from frappe.query_builder.functions import Coalesce
from frappe.utils import cstr, get_datetime, now_datetime, strip_html

from pipeline_app.automation.moves import move_opportunity_by_automation
from pipeline_app.funnel import first_stage
from pipeline_app.locks import serialized
from pipeline_app.permissions import system_access
from pipeline_app.realtime import publish_opportunity_names

CHANNELS = {  # channel: (Communication medium, opportunity source)
	"Email": ("Email", "Email"),
	"Chat": ("Chat", "Chat"),
	"WhatsApp": ("Chat", "Chat"),
	"SMS": ("SMS", "Phone"),
	"Phone": ("Phone", "Phone"),
}
DIRECTIONS = {"Inbound": "Received", "Outbound": "Sent"}
OPEN_STATUSES = ("Open", "On Hold")
PREVIEW_LENGTH = 140
INTAKE_LOCK_SECONDS = 20


def exclusive_intake(team: str | None):
	"""For the endpoints: messages of one team are taken in one at a time, each in a transaction that
	starts after the previous one committed (`pipeline_app.locks.serialized`)."""
	return serialized("intake", str(team), INTAKE_LOCK_SECONDS, _("Too many messages at once; try again"))


def record_message(
	contact_key: str,
	direction: str,
	text: str,
	*,
	channel: str = "Chat",
	team: str | None = None,
	opportunity: str | None = None,
	subject: str | None = None,
	sender_name: str | None = None,
) -> dict:
	"""Records one message; trusted core of the API and the webhook, which check permission first.
	Endpoints run it inside `exclusive_intake`: it keeps two first messages of a new sender from
	making two contacts or two opportunities."""
	validate_message(direction, text, channel)
	contacts = find_contacts(contact_key)
	created = False
	if opportunity:
		target = frappe.get_doc("Pipeline Opportunity", opportunity)
		if contacts and target.contact and target.contact not in contacts:
			frappe.throw(_("The opportunity belongs to another contact"), title=_("Wrong Contact"))
		contact = target.contact or (contacts[0] if contacts else None)
	else:
		inbound = direction == "Inbound"
		may_create = inbound and frappe.get_cached_value(
			"Pipeline Team", team, "create_opportunity_from_inbound"
		)
		if not contacts:
			if not may_create:
				frappe.throw(
					_("No contact has the email address or phone number {0}").format(
						frappe.bold(contact_key)
					),
					frappe.DoesNotExistError,
					title=_("Unknown Contact"),
				)
			contacts = [create_contact(contact_key, sender_name)]
		contact = contact_for_team(contacts, team)
		target = latest_open_opportunity(contact, team)
		if not target:
			if not may_create:
				frappe.throw(
					_("Contact {0} has no open opportunity in team {1}").format(
						frappe.bold(contact), frappe.bold(team)
					),
					frappe.DoesNotExistError,
					title=_("No Open Opportunity"),
				)
			target = create_opportunity_from_message(contact, team, channel)
			created = True
	communication = make_communication(
		target, contact, contact_key, direction, text, channel, subject, created
	)
	return {
		"communication": communication.name,
		"opportunity": target.name,
		"contact": contact,
		"created": created,
	}


def validate_message(direction: str, text: str, channel: str) -> None:
	if direction not in DIRECTIONS:
		frappe.throw(_("Direction must be Inbound or Outbound"), title=_("Invalid Message"))
	if channel not in CHANNELS:
		frappe.throw(_("Channel must be one of {0}").format(", ".join(CHANNELS)), title=_("Invalid Message"))
	if not cstr(text).strip():
		frappe.throw(_("A message needs text"), title=_("Invalid Message"))


def find_contacts(key: str) -> list[str]:
	"""The contacts with this email address or phone number (digits compared, formatting ignored),
	oldest first: duplicates happen, and the same key must always find the same one."""
	key = cstr(key).strip()
	if not key:
		frappe.throw(_("Give the contact's email address or phone number"), title=_("Unknown Contact"))
	if "@" in key:
		found = frappe.db.sql(
			"""select parent from `tabContact Email` where parenttype = 'Contact' and email_id = %(key)s
			union select name from `tabContact` where email_id = %(key)s""",
			{"key": key},
		)
	else:
		digits = "".join(ch for ch in key if ch.isdigit())
		if len(digits) < 5:
			frappe.throw(_("{0} is not a phone number").format(frappe.bold(key)), title=_("Unknown Contact"))
		found = frappe.db.sql(
			"""select parent from `tabContact Phone`
			where parenttype = 'Contact' and regexp_replace(phone, '[^0-9]', '') = %(digits)s
			union select name from `tabContact`
			where regexp_replace(coalesce(mobile_no, ''), '[^0-9]', '') = %(digits)s
				or regexp_replace(coalesce(phone, ''), '[^0-9]', '') = %(digits)s""",
			{"digits": digits},
		)
	names = {row[0] for row in found}
	if not names:
		return []
	return frappe.get_all(
		"Contact", filters={"name": ("in", list(names))}, order_by="creation asc, name asc", pluck="name"
	)


def contact_for_team(contacts: list[str], team: str) -> str:
	"""Of several contacts with the same key, the one the team is already talking to (an open
	opportunity), else the oldest."""
	if len(contacts) > 1:
		talking = set(
			frappe.get_all(
				"Pipeline Opportunity",
				filters={"contact": ("in", contacts), "team": team, "status": ("in", OPEN_STATUSES)},
				pluck="contact",
			)
		)
		for contact in contacts:
			if contact in talking:
				return contact
	return contacts[0]


def create_contact(key: str, sender_name: str | None) -> str:
	contact = frappe.get_doc({"doctype": "Contact", "first_name": cstr(sender_name).strip() or key})
	if "@" in key:
		contact.append("email_ids", {"email_id": key, "is_primary": 1})
	else:
		contact.append("phone_nos", {"phone": key, "is_primary_mobile_no": 1})
	contact.insert(ignore_permissions=True)
	return contact.name


def latest_open_opportunity(contact: str, team: str):
	name = frappe.db.get_value(
		"Pipeline Opportunity",
		{"contact": contact, "team": team, "status": ("in", OPEN_STATUSES)},
		"name",
		order_by="modified desc",
	)
	return frappe.get_doc("Pipeline Opportunity", name) if name else None


def create_opportunity_from_message(contact: str, team: str, channel: str):
	contact_name = frappe.db.get_value("Contact", contact, "full_name") or contact
	doc = frappe.get_doc(
		{
			"doctype": "Pipeline Opportunity",
			"title": _("{0} via {1}").format(contact_name, _(channel)),
			"team": team,
			"contact": contact,
			"source": CHANNELS[channel][1],
		}
	)
	doc.flags.automation = "conversation"
	doc.insert(ignore_permissions=True)
	doc.add_comment("Info", _("Created from an inbound {0} message").format(_(channel)))
	return doc


def make_communication(
	opportunity,
	contact: str,
	contact_key: str,
	direction: str,
	text: str,
	channel: str,
	subject,
	created=False,
):
	medium = CHANNELS[channel][0]
	sent = DIRECTIONS[direction] == "Sent"
	values = {
		"doctype": "Communication",
		"communication_type": "Communication",
		"communication_medium": medium,
		"sent_or_received": DIRECTIONS[direction],
		"subject": subject or _("{0} message").format(_(channel)),
		"content": frappe.utils.escape_html(text) if medium != "Email" else text,
		"reference_doctype": opportunity.doctype,
		"reference_name": opportunity.name,
		"status": "Linked",
		"timeline_links": [{"link_doctype": "Contact", "link_name": contact}],
	}
	if "@" in contact_key:
		values["recipients" if sent else "sender"] = contact_key
	else:
		values["phone_no"] = contact_key
	communication = frappe.get_doc(values)
	# the first message of an opportunity it created is no reply: no stage move
	communication.flags.opened_opportunity = created
	# trusted intake: the endpoints checked the caller (permission, or the webhook's secret)
	communication.flags.pipeline_intake = True
	return communication.insert(ignore_permissions=True)


def on_communication(communication, method=None):
	"""doc_events: Communication after_insert. Updates each opportunity the message belongs to: the
	one it references, or the open opportunities of its contact (emails pulled by an Email Account)."""
	if communication.communication_type != "Communication" or communication.sent_or_received not in (
		"Sent",
		"Received",
	):
		return
	names = opportunities_of(communication)
	if not communication.flags.pipeline_intake:
		# anyone may write a Communication (frappe.core.doctype.communication.email.make needs no
		# reference document): only its author's own opportunities follow it
		names = [name for name in names if author_may_write(name)]
	if not names:
		return
	inbound = communication.sent_or_received == "Received"
	when = get_datetime(communication.communication_date or now_datetime())
	# plain text without markup: entities decoded, then any tag they spelled dropped too (Frappe's own
	# list and form views print this field as it is; the board escapes it anyway)
	preview = strip_html(
		html.unescape(strip_html(cstr(communication.content or communication.subject)))
	).strip()
	preview = preview[:PREVIEW_LENGTH]
	opportunity = frappe.qb.DocType("Pipeline Opportunity")
	update = (
		frappe.qb.update(opportunity)
		.set(opportunity.last_activity_on, when)
		.set(opportunity.last_message_preview, preview)
		.where(opportunity.name.isin(names))
	)
	if inbound:
		update = (
			update.set(opportunity.last_inbound_on, when)
			.set(opportunity.abandons_on, None)  # the contact answered: out of the warning window
			.set(opportunity.unread_count, Coalesce(opportunity.unread_count, 0) + 1)
			.set(opportunity.unanswered, 1)
		)
	else:
		update = (
			update.set(opportunity.last_outbound_on, when)
			.set(opportunity.unread_count, 0)
			.set(opportunity.unanswered, 0)
		)
	update.run()
	publish_opportunity_names(names)
	if inbound and not communication.flags.opened_opportunity:
		for name in names:
			move_on_reply(name, communication)


def opportunities_of(communication) -> list[str]:
	names = set()
	if communication.reference_doctype == "Pipeline Opportunity" and communication.reference_name:
		names.add(communication.reference_name)
	contacts = []
	for link in communication.get("timeline_links") or []:
		if link.link_doctype == "Pipeline Opportunity":
			names.add(link.link_name)
		elif link.link_doctype == "Contact":
			contacts.append(link.link_name)
	if not names and contacts:
		names.update(
			frappe.get_all(
				"Pipeline Opportunity",
				filters={"contact": ("in", contacts), "status": ("in", OPEN_STATUSES)},
				pluck="name",
			)
		)
	return sorted(names)


def author_may_write(opportunity: str) -> bool:
	"""Whether the session user (the message's author; Administrator for an Email Account's mail)
	may write to the opportunity."""
	with system_access():
		doc = frappe.get_doc("Pipeline Opportunity", opportunity)
	return frappe.has_permission("Pipeline Opportunity", "write", doc=doc)


def move_on_reply(name: str, communication) -> None:
	doc = frappe.get_doc("Pipeline Opportunity", name)
	replied_stage = frappe.get_cached_value("Pipeline Team", doc.team, "replied_stage")
	first = first_stage(doc.team)
	if doc.status != "Open" or not replied_stage or not first or doc.stage != first.name:
		return
	move_opportunity_by_automation(
		doc,
		replied_stage,
		_("Moved because the contact replied ({0})").format(_(communication.communication_medium or "")),
		"conversation",
	)
