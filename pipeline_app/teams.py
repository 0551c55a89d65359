"""Who belongs to which team: the one place that answers it, cached per user in Redis."""

import frappe

MANAGER_ROLES = frozenset(("Pipeline Manager", "System Manager"))
USER_TEAMS_CACHE_KEY = "pipeline_app:user_teams"
TEAM_MEMBERS_CACHE_KEY = "pipeline_app:team_members"  # enabled members per team (get_enabled_members)
# per team and roles, who of its audience holds them (pipeline_app.realtime.team_role_holders)
TEAM_READERS_CACHE_KEY = "pipeline_app:team_readers"
# the whole cache goes at most this long after it was started, whatever happens: a bound on how long a
# membership read by a request racing a team save can outlive the change (see clear_user_teams_cache)
USER_TEAMS_CACHE_SECONDS = 300


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
		expire_cache_hash(USER_TEAMS_CACHE_KEY)
	return teams


def expire_cache_hash(name: str) -> None:
	"""Gives one of the membership caches (a Redis hash) its lifetime when it has none yet (TTL -1: a
	hash just started)."""
	key = frappe.cache.make_key(name)
	if frappe.cache.ttl(key) == -1:
		frappe.cache.expire(key, USER_TEAMS_CACHE_SECONDS)


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
	# a constant statement: asked on every save (pipeline_app/lookups.py says why)
	return bool(
		frappe.db.sql(
			"""select 1 from `tabPipeline Team Member`
			where parenttype = 'Pipeline Team' and parent = %s and user = %s limit 1""",
			(team, user),
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
	"""Now, for the rest of this transaction, and again once it commits: a concurrent request that
	reads the membership before the commit caches the old one, which would otherwise stay."""
	delete_user_teams_cache()
	frappe.db.after_commit.add(delete_user_teams_cache)


def delete_user_teams_cache() -> None:
	frappe.cache.delete_value((USER_TEAMS_CACHE_KEY, TEAM_MEMBERS_CACHE_KEY, TEAM_READERS_CACHE_KEY))


def get_enabled_members(team: str) -> list[str]:
	"""The team's members whose user is enabled, sorted: kept in Redis beside the users' teams and
	cleared with them (every save of a team), for at most USER_TEAMS_CACHE_SECONDS. Trusted server code."""
	members = frappe.cache.hget(TEAM_MEMBERS_CACHE_KEY, team)
	if members is None:
		member = frappe.qb.DocType("Pipeline Team Member")
		user = frappe.qb.DocType("User")
		members = sorted(
			set(
				frappe.qb.from_(member)
				.join(user)
				.on(user.name == member.user)
				.select(member.user)
				.where((member.parenttype == "Pipeline Team") & (member.parent == team) & (user.enabled == 1))
				.run(pluck=True)
			)
		)
		frappe.cache.hset(TEAM_MEMBERS_CACHE_KEY, team, members)
		expire_cache_hash(TEAM_MEMBERS_CACHE_KEY)
	return members
