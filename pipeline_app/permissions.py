"""Team-scoped row permissions for every pipeline doctype, wired in hooks.py.

`permission_query_conditions` covers every list path (REST lists, frappe.client.get_list/get_value,
reportview and its counts, link search, exports); `has_permission` covers every single-document path
(REST get/put/delete, frappe.client.get/set_value/delete, the form). Role permissions (DocPerm) still
apply on top: these hooks only ever narrow them.
"""

import frappe

from pipeline_app.teams import get_readable_teams

NO_ROWS = "1=0"
READ_ONLY_PTYPES = frozenset(("read", "select", "print", "email", "report", "export"))


def _team_condition(column: str, user: str | None) -> str:
	teams = get_readable_teams(user)
	if teams is None:
		return ""
	if not teams:
		return NO_ROWS
	return "{} in ({})".format(column, ", ".join(frappe.db.escape(team) for team in teams))


def opportunity_query(user: str | None = None) -> str:
	return _team_condition("`tabPipeline Opportunity`.`team`", user)


def appointment_query(user: str | None = None) -> str:
	return _team_condition("`tabPipeline Appointment`.`team`", user)


def team_query(user: str | None = None) -> str:
	return _team_condition("`tabPipeline Team`.`name`", user)


def funnel_stage_query(user: str | None = None) -> str:
	return _team_condition("`tabFunnel Stage`.`team`", user)


def team_member_query(user: str | None = None) -> str:
	return _team_condition("`tabPipeline Team Member`.`parent`", user)


def stage_change_query(user: str | None = None) -> str:
	return _team_condition("`tabPipeline Stage Change`.`team`", user)


def _allowed(teams_needed, user: str | None) -> bool | None:
	"""None lets role permissions decide; False denies."""
	teams = get_readable_teams(user)
	if teams is None:
		return None
	for team in teams_needed:
		if not team or team not in teams:
			return False
	return None


def _stored(doc, ptype: str | None, fieldname: str):
	"""The value stored in the database, for writes: a PUT applies the new values before the
	permission check, so the check must also look at where the record is now."""
	if ptype in READ_ONLY_PTYPES or doc.is_new():
		return ()
	return (frappe.db.get_value(doc.doctype, doc.name, fieldname),)


def opportunity_permission(doc, ptype: str | None = None, user: str | None = None) -> bool | None:
	return _allowed((doc.get("team"), *_stored(doc, ptype, "team")), user)


def appointment_permission(doc, ptype: str | None = None, user: str | None = None) -> bool | None:
	opportunities = {doc.get("opportunity"), *_stored(doc, ptype, "opportunity")}
	teams = [
		frappe.db.get_value("Pipeline Opportunity", name, "team") if name else None for name in opportunities
	]
	return _allowed(teams, user)


def team_permission(doc, ptype: str | None = None, user: str | None = None) -> bool | None:
	if doc.is_new():
		return None
	return _allowed((doc.name,), user)


def funnel_stage_permission(doc, ptype: str | None = None, user: str | None = None) -> bool | None:
	return _allowed((doc.get("team"), *_stored(doc, ptype, "team")), user)


def stage_change_permission(doc, ptype: str | None = None, user: str | None = None) -> bool | None:
	return _allowed((doc.get("team"),), user)
