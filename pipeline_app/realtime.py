"""Who receives which realtime event: the one place that decides it.

Frappe v15 sends each saved document's `list_update` to the doctype's room, which every user with
read permission on the doctype may join, and `publish_realtime(doctype=X)` without a docname reaches
every desk user: both would leak names across teams. Pipeline documents therefore replace
`notify_update` (see their controllers): `list_update` and the board's `pipeline_app:board` events go to
the personal room of each user allowed to read the document, and to no one else. `doc_update` keeps
going to the document's own room, which Frappe lets only readers of that document join.

Events are sent after the transaction commits, so a rolled back change never reaches a board.
"""

from contextlib import suppress
from functools import partial

import frappe
import redis
from frappe.permissions import AUTOMATIC_ROLES, get_doctype_roles
from frappe.realtime import emit_via_redis, get_user_room
from frappe.utils.background_jobs import get_redis_connection_without_auth

from pipeline_app.board import bump_board_versions, shared_filter_fields
from pipeline_app.cards import attach_link_titles, card_from_doc, private_card_fields, shared_card_fields
from pipeline_app.erpnext.linked import documents_by_reader
from pipeline_app.permissions import TEAM_FIELD, reference_fields, team_of
from pipeline_app.teams import (
	MANAGER_ROLES,
	TEAM_READERS_CACHE_KEY,
	expire_cache_hash,
	get_enabled_members,
)

BOARD_EVENT = "pipeline_app:board"  # the app's realtime events are named pipeline_app:<what>


def team_audience(team: str) -> list[str]:
	"""Enabled users who may see a team's records: its members and the pipeline managers."""
	has_role = frappe.qb.DocType("Has Role")
	user = frappe.qb.DocType("User")
	# the members from the membership cache (cleared by every save of a team); the managers asked
	# each time: a role taken away stops the events at once
	members = get_enabled_members(team)
	managers = (
		frappe.qb.from_(has_role)
		.join(user)
		.on(user.name == has_role.parent)
		.select(has_role.parent)
		.where(
			(has_role.parenttype == "User")
			& has_role.role.isin(list(MANAGER_ROLES))
			& (user.enabled == 1)
			& (user.user_type == "System User")
		)
		.run(pluck=True)
	)
	return sorted({*members, *managers, "Administrator"})


def readers_of(doc, team: str | None = None) -> list[str]:
	"""Users of the document's team who may read this very document (role permissions, user
	permissions and the team rule, as Frappe's has_permission decides). `team` for documents that only
	point at a team's record (a File, a ToDo). The same cost in a team of 500 as in a team of 2: who of
	the team holds which roles is kept per team (team_role_holders)."""
	team = team or (doc.name if doc.doctype == "Pipeline Team" else doc.get("team"))
	if not team:
		return ["Administrator"]
	hooks = other_permission_hooks(doc.doctype)
	if hooks - BULK_HOOKS.keys():
		return asked_one_by_one(doc, team_audience(team))
	audience, plain, restricted = team_role_holders(team, roles_reading(doc.doctype))
	for hook in hooks:  # Frappe's own hooks answered for all of them at once: they can only refuse
		plain = BULK_HOOKS[hook](doc, team, plain)
	return readers_from(doc, audience, plain, restricted)


def todo_readers(doc, team: str, users) -> set[str]:
	"""Frappe's ToDo has_permission for many users: those holding a role that reads ToDo (besides the
	automatic ones), its assignee and who assigned it."""
	roles = frozenset(get_doctype_roles("ToDo", "read")) - frozenset(AUTOMATIC_ROLES)
	_audience, holders, restricted_holders = team_role_holders(team, roles)
	allowed = {*holders, *restricted_holders, doc.get("allocated_to"), doc.get("assigned_by")}
	return {user for user in users if user in allowed}


# Frappe's has_permission hooks that readers_of answers for the whole audience in constant queries
BULK_HOOKS = {"frappe.desk.doctype.todo.todo.has_permission": todo_readers}


# has_permission hooks whose answer for a user of the document's team is known: the team rules
TEAM_RULE_HOOKS = frozenset(
	(
		"pipeline_app.permissions.opportunity_permission",
		"pipeline_app.permissions.appointment_permission",
		"pipeline_app.permissions.team_permission",
		"pipeline_app.permissions.funnel_stage_permission",
		"pipeline_app.permissions.stage_change_permission",
		"pipeline_app.permissions.reference_permission",
	)
)
EVERYONE_ROLES = frozenset(("All", "Desk User"))


def readers_among(doc, users) -> list[str]:
	"""Which of `users` (the audience of the document's team) may read `doc`, in a constant number of
	queries however many they are. A user whose roles grant read on the doctype outright and who has no
	User Permission is a reader: for the team's audience the team rules allow it, and nothing else
	could refuse. A user without such a role reads it only as its owner (a role granting read to the
	owner) or through a share. Only those left in doubt (restricted by User Permissions, the owner,
	shared with) are asked of Frappe's has_permission one by one; everyone is when another app hooks
	the doctype's permissions."""
	users = set(users)
	if not users:
		return []
	if other_permission_hooks(doc.doctype):
		return asked_one_by_one(doc, users)
	plain, restricted = users_holding(roles_reading(doc.doctype), users)
	return readers_from(doc, users, plain, restricted)


def other_permission_hooks(doctype: str) -> set[str]:
	"""The doctype's has_permission hooks besides the team rules (another app's, Frappe's own)."""
	hooks = frappe.get_hooks("has_permission")
	return {*hooks.get(doctype, []), *hooks.get("*", [])} - TEAM_RULE_HOOKS


def asked_one_by_one(doc, users) -> list[str]:
	return sorted(user for user in users if frappe.has_permission(doc.doctype, "read", doc=doc, user=user))


def readers_from(doc, users, plain, restricted) -> list[str]:
	"""The readers among `users`, of whom `plain` read the doctype by role with no User Permission and
	`restricted` by role with some: the restricted, those the document is shared with and its owner
	(where a role reads as owner) are asked of Frappe's has_permission."""
	others = set(users) - set(plain)
	owner = {doc.get("owner")} if owner_may_read(doc.doctype) else set()
	doubtful = set(restricted) | (shared_with(doc, others) | owner) & others
	return sorted(
		{*plain}
		| {user for user in doubtful if frappe.has_permission(doc.doctype, "read", doc=doc, user=user)}
	)


def team_role_holders(team: str, roles: frozenset[str]) -> tuple[tuple, tuple, tuple]:
	"""(the team's audience, those of it holding one of `roles` without User Permissions, those with
	some), kept in Redis per team and roles. Cleared, as the membership cache is, by every save of a
	team, of a User (roles, enabled), of a User Permission and of a Role
	(pipeline_app.teams.clear_user_teams_cache); a change of a doctype's permissions changes the roles
	asked for, so the key."""
	key = "\n".join((team, *sorted(roles)))
	kept = frappe.cache.hget(TEAM_READERS_CACHE_KEY, key)
	if kept is None:
		audience = team_audience(team)
		plain, restricted = users_holding(roles, set(audience))
		kept = (tuple(audience), tuple(sorted(plain)), tuple(sorted(restricted)))
		frappe.cache.hset(TEAM_READERS_CACHE_KEY, key, kept)
		expire_cache_hash(TEAM_READERS_CACHE_KEY)
	return kept


def users_holding(roles: frozenset[str], users: set[str]) -> tuple[set[str], set[str]]:
	"""Of `users`, those holding one of `roles` (a doctype's reading roles: roles_reading), split into
	those without any User Permission and those with some: two queries."""
	granted = {"Administrator"} & users
	if roles & EVERYONE_ROLES:
		granted |= users
	elif roles:
		# (written out with the users as one parameter: building a query of hundreds of values through
		# the query builder or get_all costs more than running it)
		granted |= set(
			frappe.db.sql_list(
				"""select distinct parent from `tabHas Role`
				where parenttype = 'User' and parent in %(users)s and role in %(roles)s""",
				{"users": tuple(users), "roles": tuple(roles)},
			)
		)
	if not granted:
		return granted, set()
	restricted = set(
		frappe.db.sql_list(
			"select distinct user from `tabUser Permission` where user in %(users)s",
			{"users": tuple(granted)},
		)
	)
	return granted - restricted, granted & restricted


def shared_with(doc, users: set[str]) -> set[str]:
	"""Of `users`, those the document is shared with for reading (all of them when shared with
	everyone): one query."""
	if not users or not doc.get("name"):
		return set()
	share = frappe.qb.DocType("DocShare")
	shares = (
		frappe.qb.from_(share)
		.select(share.user, share.everyone)
		.where((share.share_doctype == doc.doctype) & (share.share_name == doc.name) & (share.read == 1))
		.run()
	)
	if any(everyone for _user, everyone in shares):
		return set(users)
	return {user for user, _everyone in shares} & users


def roles_reading(doctype: str) -> frozenset[str]:
	cache = getattr(frappe.local, "pipeline_reading_roles", None)
	if cache is None:
		cache = frappe.local.pipeline_reading_roles = {}
	if doctype not in cache:
		cache[doctype] = frozenset(
			perm.role
			for perm in permission_rows(doctype)
			if perm.read and not perm.permlevel and not perm.if_owner
		)
	return cache[doctype]


def owner_may_read(doctype: str) -> bool:
	"""Whether a role reads `doctype` as owner only (level 0): only then may a user without a reading
	role read a document of it as its owner."""
	return any(perm.read and perm.if_owner and not perm.permlevel for perm in permission_rows(doctype))


def permission_rows(doctype: str) -> list:
	"""The doctype's role permissions in force: its meta holds its Custom DocPerm rows in place of the
	DocPerm ones when Role Permissions Manager changed them (and is cleared when they change), so no
	query is needed."""
	return frappe.get_meta(doctype).permissions


def emit_after_commit(event: str, message: dict, users) -> None:
	"""`event` to each of `users`' own rooms once the transaction commits (nothing on a rollback), in
	one message naming all their rooms: a team of 500 costs about what a team of 2 does
	(frappe.publish_realtime encodes and publishes once per user, and checks each new event against
	every one already queued). Queued in frappe.local.pipeline_realtime_log."""
	rooms = sorted({get_user_room(user) for user in users})
	if not rooms:
		return  # never publish an empty list of rooms: socket.io would send it to everyone
	log = getattr(frappe.local, "pipeline_realtime_log", None)
	if log is None:
		log = frappe.local.pipeline_realtime_log = []
		frappe.db.after_commit.add(flush_realtime_log)
		frappe.db.after_rollback.add(clear_realtime_log)
	log.append((event, message, rooms))


def flush_realtime_log() -> None:
	"""Publishes the queued events as frappe.realtime.emit_via_redis does, each with the list of its
	rooms: Frappe's socket.io server passes `room` to socket.io's `to()`, which takes a list and sends
	the event once to every socket in any of those rooms."""
	log = getattr(frappe.local, "pipeline_realtime_log", None) or []
	clear_realtime_log()
	if not log:
		return
	with suppress(redis.exceptions.ConnectionError):
		pipe = get_redis_connection_without_auth().pipeline(transaction=False)
		for event, message, rooms in log:
			pipe.publish(
				"events",
				frappe.as_json(
					{"event": event, "message": message, "room": rooms, "namespace": frappe.local.site},
					indent=None,
				),
			)
		pipe.execute()


def clear_realtime_log() -> None:
	if hasattr(frappe.local, "pipeline_realtime_log"):
		del frappe.local.pipeline_realtime_log


def publish_doc_update(doc) -> None:
	"""doc_update to the document's own room, which Frappe lets only its readers join."""
	frappe.publish_realtime(
		"doc_update",
		{"modified": doc.modified, "doctype": doc.doctype, "name": doc.name},
		doctype=doc.doctype,
		docname=doc.name,
		after_commit=True,
	)


def publish_own_record(doc) -> None:
	"""A user's own record (their digest, their digest subscription, named by their email): Frappe
	would send its list_update to the doctype's room, which every Pipeline User may join; it goes to
	its user's room instead (and doc_update to the record's own room). The controller turns Frappe's
	off (`flags.notify_update`) and calls this from on_change."""
	publish_doc_update(doc)
	data = {"doctype": doc.doctype, "name": doc.name, "user": frappe.session.user}
	# (frappe.publish_realtime sends every list_update to the doctype's room, whatever `user` says)
	frappe.db.after_commit.add(partial(emit_via_redis, "list_update", data, get_user_room(doc.user)))


def notify_readers(doc) -> None:
	"""Replacement for Document.notify_update: doc_update to the document's room (readers only) and
	list_update to each reader's own room instead of the doctype's room."""
	if frappe.flags.in_patch or frappe.flags.in_install:
		return
	publish_doc_update(doc)
	data = {"doctype": doc.doctype, "name": doc.name, "user": frappe.session.user}
	# (publish_realtime always sends list_update to the doctype's room: emitted to the rooms directly)
	emit_after_commit("list_update", data, doc.flags.pop("pipeline_readers", None) or readers_of(doc))


def referenced_team(doc) -> str | None:
	"""The team of the team-scoped record a generic document (File, ToDo, Comment, Communication,
	Version, ...) is attached to, if any."""
	pairs, _links = reference_fields(doc.doctype)
	for doctype_field, name_field, _dynamic in pairs:
		if doc.get(doctype_field) in TEAM_FIELD:
			return team_of(doc.get(doctype_field), doc.get(name_field)) or ""
	return None


def doctype_room_open_to_sellers(doctype: str) -> bool:
	"""Whether Frappe sends the doctype's `list_update` to its room (Document.notify_update) and a
	role below the managers' may read the doctype, so may join that room. Cached per request."""
	cache = getattr(frappe.local, "pipeline_open_rooms", None)
	if cache is None:
		cache = frappe.local.pipeline_open_rooms = {}
	if doctype not in cache:
		meta = frappe.get_meta(doctype)
		roles = set()
		if not (meta.read_only or meta.issingle or meta.istable):
			roles = {perm.role for perm in permission_rows(doctype) if perm.read}
		cache[doctype] = bool(roles - MANAGER_ROLES - {"Administrator"})
	return cache[doctype]


def hold_list_update(doc, method=None) -> None:
	"""doc_events "*" validate: Frappe would send the `list_update` of a document attached to a
	team's record to its doctype's room, which any user who may read the doctype joins (File, ToDo,
	Communication: every user). Documents whose room only managers may join (Version) are left to
	Frappe: nothing to hide, no work on each save."""
	if frappe.flags.in_patch or not reference_fields(doc.doctype)[0]:
		return
	if doctype_room_open_to_sellers(doc.doctype) and referenced_team(doc) is not None:
		doc.flags.notify_update = False
		doc.flags.pipeline_list_update = True


def send_held_list_update(doc, method=None) -> None:
	"""doc_events "*" on_change: the held update goes to the readers of that record only."""
	if not doc.flags.pop("pipeline_list_update", None):
		return
	publish_doc_update(doc)
	team = referenced_team(doc)
	data = {"doctype": doc.doctype, "name": doc.name, "user": frappe.session.user}
	emit_after_commit("list_update", data, readers_of(doc, team) if team else ["Administrator"])


def realtime_card(doc) -> dict:
	"""The card as an event carries it: the fields of its team's card that every reader may read
	(permission level 0: those of a higher level are added per reader, private_card_values), with the
	values of the doctype filters every reader may read, so that a board filtered by one of them
	matches the card as the server would."""
	team_doc = frappe.get_cached_doc("Pipeline Team", doc.team) if doc.get("team") else None
	card = card_from_doc(doc, documents=False, fields=shared_card_fields(team_doc))
	for fieldname in shared_filter_fields():
		card.setdefault(fieldname, doc.get(fieldname))
	return card


def publish_opportunity(doc, action: str = "update") -> None:
	"""A card was created, changed or deleted: tell the boards of whoever may read it. When the
	opportunity left a team, that team's readers only learn that the card left."""
	before = doc.get_doc_before_save() if action == "update" else None
	bump_board_versions(doc.team, [doc.stage])
	if before is not None and (before.team, before.stage) != (doc.team, doc.stage):
		bump_board_versions(before.team, [before.stage])
	if frappe.flags.in_patch or frappe.flags.in_install:
		return
	previous = realtime_card(before) if before is not None else None
	card = None if action == "delete" else realtime_card(doc)
	readers = readers_of(doc)
	# the save's list_update, sent right after (notify_readers), goes to the same readers
	doc.flags.pipeline_readers = readers
	message = {"action": action, "name": doc.name, "team": doc.team, "card": card, "previous": previous}
	emit_card(message, readers, doc)
	if before is not None and before.team != doc.team:
		left = [user for user in readers_of(before) if user not in readers]
		gone = {"action": "delete", "name": doc.name, "team": before.team, "card": None, "previous": previous}
		emit_after_commit(BOARD_EVENT, gone, left)


def publish_opportunity_names(names) -> None:
	"""Cards changed by a bulk statement (messages) or by a document made for them (a Quotation):
	send their current state."""
	for name in names:
		doc = frappe.get_doc("Pipeline Opportunity", name)
		bump_board_versions(doc.team, [doc.stage])
		message = {
			"action": "update",
			"name": doc.name,
			"team": doc.team,
			"card": realtime_card(doc),
			"previous": None,
		}
		emit_card(message, readers_of(doc), doc)


def emit_card(message: dict, readers, doc=None) -> None:
	"""A card event to its readers; with ERPNext, each reader's card carries the badges of the
	documents that reader may read, and the fields of its team's card layout of a permission level
	above 0 go to the readers of that level (readers who see the same share one message)."""
	documents = documents_by_reader(message["name"], readers) if message["card"] else None
	private = private_card_values(doc, readers) if message["card"] and doc is not None else {}
	if documents is None and not private:
		emit_after_commit(BOARD_EVENT, message, readers)
		return
	groups: dict[str, tuple[list | None, dict, list[str]]] = {}
	for user in readers:
		visible = documents[user] if documents is not None else None
		extra = private.get(user) or {}
		key = ",".join(f"{item['doctype']}:{item['name']}" for item in visible or []) + "|" + ",".join(extra)
		groups.setdefault(key, (visible, extra, []))[2].append(user)
	for visible, extra, users in groups.values():
		card = {**message["card"], **extra}
		if extra.get("link_titles"):
			card["link_titles"] = {**(message["card"].get("link_titles") or {}), **extra["link_titles"]}
		if visible is not None:
			card["documents"] = visible
		emit_after_commit(BOARD_EVENT, {**message, "card": card}, users)


def private_card_values(doc, readers) -> dict[str, dict]:
	"""Per reader, the values (and link titles) of the shown fields of the card's team's card layout
	of a permission level above 0 that the reader may read: none when the layout has no such field,
	one title query per group of readers of the same levels otherwise."""
	team_doc = frappe.get_cached_doc("Pipeline Team", doc.team) if doc.get("team") else None
	fields = private_card_fields(team_doc)
	if not fields:
		return {}
	meta = frappe.get_meta(doc.doctype)
	by_levels: dict[frozenset, dict] = {}
	values = {}
	for user in readers:
		levels = frozenset(meta.get_permlevel_access(permission_type="read", user=user))
		if levels not in by_levels:
			extra = frappe._dict(
				{df.fieldname: doc.get(df.fieldname) for df in fields if df.permlevel in levels}
			)
			attach_link_titles([extra], list(extra))
			by_levels[levels] = extra
		values[user] = by_levels[levels]
	return values


def publish_team_refresh(team: str, stage: str | None = None) -> None:
	"""Many cards of a team changed at once (abandonment job, column renumbered): its boards reload."""
	bump_board_versions(team, [stage] if stage else None)
	emit_after_commit(BOARD_EVENT, {"action": "refresh", "team": team, "stage": stage}, team_audience(team))
