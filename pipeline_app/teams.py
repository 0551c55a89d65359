"""Who belongs to which team: the one place that answers it, cached per user in Redis."""

import frappe

MANAGER_ROLES = frozenset(("Pipeline Manager", "System Manager"))
USER_TEAMS_CACHE_KEY = "pipeline_app:user_teams"


def is_pipeline_manager(user: str | None = None) -> bool:
	"""Managers (and System Managers, and Administrator) see and configure every team."""
	user = user or frappe.session.user
	if user == "Administrator":
		return True
	return bool(MANAGER_ROLES.intersection(frappe.get_roles(user)))


def get_user_teams(user: str | None = None) -> list[str]:
	"""Names of the teams the user is a member of, sorted. Trusted server code: no permission check."""
	user = user or frappe.session.user
	teams = frappe.cache.hget(USER_TEAMS_CACHE_KEY, user)
	if teams is None:
		member = frappe.qb.DocType("Pipeline Team Member")
		teams = sorted(
			set(
				frappe.qb.from_(member)
				.select(member.parent)
				.where((member.user == user) & (member.parenttype == "Pipeline Team"))
				.run(pluck=True)
			)
		)
		frappe.cache.hset(USER_TEAMS_CACHE_KEY, user, teams)
	return teams


def get_readable_teams(user: str | None = None) -> list[str] | None:
	"""Teams whose records the user may see; None means every team (managers)."""
	user = user or frappe.session.user
	if is_pipeline_manager(user):
		return None
	return get_user_teams(user)


def can_access_team(team: str | None, user: str | None = None) -> bool:
	teams = get_readable_teams(user)
	return teams is None or (bool(team) and team in teams)


def is_team_member(team: str, user: str) -> bool:
	return bool(
		frappe.db.exists(
			"Pipeline Team Member", {"parenttype": "Pipeline Team", "parent": team, "user": user}
		)
	)


def get_team_leads(team: str) -> list[str]:
	return frappe.get_all(
		"Pipeline Team Member",
		filters={"parenttype": "Pipeline Team", "parent": team, "is_lead": 1},
		pluck="user",
		order_by="idx asc",
	)


def clear_user_teams_cache(*args, **kwargs) -> None:
	frappe.cache.delete_value(USER_TEAMS_CACHE_KEY)
