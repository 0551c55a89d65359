"""Whitelisted methods: thin, permission-checked, POST for writes."""

import frappe
from frappe import _


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
