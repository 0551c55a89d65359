"""Whitelisted methods: thin, permission-checked, POST for writes."""

import frappe
from frappe import _
from frappe.rate_limiter import rate_limit


@frappe.whitelist()
@frappe.validate_and_sanitize_search_inputs
def search_team_members(doctype: str, txt: str, searchfield: str, start: int, page_len: int, filters: dict):
	"""Link search for a team's members (opportunity owner, appointment host). Only members of a team
	the caller may read are returned."""
	team = (filters or {}).get("team")
	if not team:
		return []
	frappe.get_doc("Pipeline Team", team).check_permission("read")
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
		.limit(page_len)
		.offset(start)
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
	from pipeline_app.automation.conversations import log_message as record

	if opportunity:
		doc = frappe.get_doc("Pipeline Opportunity", opportunity)
		doc.check_permission("write")
		team = doc.team
	elif team:
		frappe.get_doc("Pipeline Team", team).check_permission("read")
		frappe.has_permission("Pipeline Opportunity", "create", throw=True)
	else:
		frappe.throw(_("Give the opportunity or the team the message belongs to"), title=_("Missing Team"))
	return record(contact, direction, text, channel, team, opportunity, subject, sender_name)


@frappe.whitelist(allow_guest=True, methods=["POST"])
@rate_limit(limit=600, seconds=60)
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
	the same way and changes nothing."""
	import hmac

	from frappe.utils.password import get_decrypted_password

	from pipeline_app.automation.conversations import log_message as record

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
		return record(contact, direction, text, channel, team, None, subject, sender_name)
	finally:
		frappe.set_user(user)
