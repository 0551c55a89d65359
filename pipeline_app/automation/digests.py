"""Digests of what users follow, daily or weekly, by email (Frappe's Email Queue) and in the desk.

A user follows the opportunities they own, those they follow one by one (Frappe's Document Follow
rows: the form's and the board's *Follow*) and whole team funnels (*Teams Followed* on their Pipeline
Digest Subscription). Each user chooses Daily, Weekly (on a weekday) or Off there; users without a
subscription get Pipeline Settings' default. The job (`send_digests`, daily) tells each user whose
period is due what they follow that moved stage or was won, lost or abandoned in the period,
follow-ups overdue, appointments coming in the next period and what the abandonment job will
abandon soon, as a Pipeline Digest in the desk (with a bell notification) and by email.

Once per period: a Pipeline Digest is unique per (user, period) in the database, so a second run,
or two at once, sends nothing twice. Reads are set-based (a constant number of queries for all
recipients), then one permission query per recipient: a digest lists only what its user may read
now, whatever they follow.
"""

from collections import defaultdict

import frappe
from frappe import _
from frappe.desk.doctype.notification_settings.notification_settings import (
	is_email_notifications_enabled,
)
from frappe.email.doctype.email_account.email_account import EmailAccount
from frappe.utils import add_days, escape_html, format_datetime, formatdate, get_datetime, get_url_to_form

from pipeline_app.automation.isolation import isolated_row
from pipeline_app.board import reads_whole_team
from pipeline_app.funnel import ABANDONED, LOST, WON
from pipeline_app.teams import MANAGER_ROLES

DOCTYPE = "Pipeline Opportunity"
DIGEST = "Pipeline Digest"
SUBSCRIPTION = "Pipeline Digest Subscription"
JOB = "digest"
PERIOD_DAYS = {"Daily": 1, "Weekly": 7}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SECTION_LIMIT = 25  # items listed per section (the counts are whole)
OUTCOMES = (WON, LOST, ABANDONED)
ACTIVE = ("Open", "On Hold")


def get_subscription(user: str | None = None):
	"""The user's Pipeline Digest Subscription, made with the defaults if they have none yet (not
	saved)."""
	user = user or frappe.session.user
	if frappe.db.exists(SUBSCRIPTION, user):
		return frappe.get_doc(SUBSCRIPTION, user)
	settings = frappe.get_cached_doc("Pipeline Settings")
	return frappe.get_doc(
		{
			"doctype": SUBSCRIPTION,
			"user": user,
			"frequency": settings.get("digest_default_frequency") or "Weekly",
			"weekday": settings.get("digest_default_weekday") or "Monday",
		}
	)


def follows_opportunity(name: str, user: str | None = None) -> bool:
	return bool(
		frappe.db.exists(
			"Document Follow",
			{"ref_doctype": DOCTYPE, "ref_docname": name, "user": user or frappe.session.user},
		)
	)


def set_following(doc, follow: bool) -> bool:
	"""The session user follows `doc` (checked by the caller) or stops following it."""
	user = frappe.session.user
	rows = frappe.get_all(
		"Document Follow", {"ref_doctype": DOCTYPE, "ref_docname": doc.name, "user": user}, pluck="name"
	)
	if follow and not rows:
		frappe.get_doc(
			{"doctype": "Document Follow", "ref_doctype": DOCTYPE, "ref_docname": doc.name, "user": user}
		).insert(ignore_permissions=True)
	elif not follow:
		for name in rows:
			frappe.delete_doc("Document Follow", name, ignore_permissions=True)
	return follow


def set_team_following(team: str, follow: bool) -> bool:
	"""The session user follows the team funnel `team` (checked by the caller) or stops."""
	subscription = get_subscription()
	followed = [row.team for row in subscription.teams]
	if follow and team not in followed:
		subscription.append("teams", {"team": team})
	elif not follow and team in followed:
		subscription.teams = [row for row in subscription.teams if row.team != team]
	else:
		return follow
	subscription.save()
	return follow


def send_digests(run_at=None) -> int:
	"""Scheduled daily (long queue). Returns how many digests were sent."""
	now = get_datetime(run_at) if run_at else frappe.utils.now_datetime()
	recipients = due_recipients(now)
	if not recipients:
		return 0
	follows = Follows.load(recipients)
	news = News.load(now, list(recipients), follows, max(PERIOD_DAYS[f] for f in recipients.values()))
	sent = 0
	for user, frequency in sorted(recipients.items()):
		with isolated_row(JOB, "User", user):
			if send_digest(user, frequency, now, follows, news):
				sent += 1
			frappe.db.commit()
	return sent


def period_key(frequency: str, now) -> str:
	if frequency == "Weekly":
		year, week, _weekday = now.isocalendar()
		return f"{year}-W{week:02d}"
	return str(now.date())


def due_recipients(now) -> dict[str, str]:
	"""Users whose digest is due at `now` and not sent yet for its period: {user: frequency}."""
	settings = frappe.get_cached_doc("Pipeline Settings")
	default = settings.get("digest_default_frequency") or "Off"
	default_weekday = settings.get("digest_default_weekday") or "Monday"
	chosen = {
		row.user: (row.frequency, row.weekday or "Monday")
		for row in frappe.get_all(SUBSCRIPTION, fields=["user", "frequency", "weekday"])
	}
	# who follows something without having chosen: owners of active opportunities and followers
	candidates = set(chosen)
	if default != "Off":
		candidates.update(
			frappe.get_all(
				DOCTYPE,
				filters={"status": ("in", ACTIVE), "opportunity_owner": ("is", "set")},
				pluck="opportunity_owner",
				distinct=True,
			)
		)
		candidates.update(
			frappe.get_all("Document Follow", filters={"ref_doctype": DOCTYPE}, pluck="user", distinct=True)
		)
	candidates.discard("Administrator")
	candidates.discard("Guest")
	if not candidates:
		return {}
	enabled = set(
		frappe.get_all("User", filters={"name": ("in", list(candidates)), "enabled": 1}, pluck="name")
	)
	due = {}
	for user in enabled:
		frequency, weekday = chosen.get(user, (default, default_weekday))
		if frequency not in PERIOD_DAYS or (frequency == "Weekly" and WEEKDAYS[now.weekday()] != weekday):
			continue
		due[user] = frequency
	if not due:
		return {}
	sent = {
		(row.user, row.period)
		for row in frappe.get_all(
			DIGEST,
			filters={
				"user": ("in", list(due)),
				"period": ("in", list({period_key(f, now) for f in due.values()})),
			},
			fields=["user", "period"],
		)
	}
	return {user: f for user, f in due.items() if (user, period_key(f, now)) not in sent}


class Follows:
	"""What each recipient follows: teams (their subscription's, among the teams they may read now)
	and single opportunities (Document Follow); owned opportunities are matched by owner."""

	def __init__(self, teams: dict[str, set[str]], names: dict[str, set[str]], readable: dict):
		self.teams, self.names, self.readable = teams, names, readable

	@classmethod
	def load(cls, users) -> "Follows":
		users = list(users)
		teams = grouped(
			"Pipeline Digest Team", {"parenttype": SUBSCRIPTION, "parent": ("in", users)}, "parent", "team"
		)
		names = grouped(
			"Document Follow", {"ref_doctype": DOCTYPE, "user": ("in", users)}, "user", "ref_docname"
		)
		readable = readable_teams(users)
		for user, followed in teams.items():
			teams[user] = followed if readable[user] is None else followed & readable[user]
		return cls(teams, names, readable)

	def all_teams(self) -> set[str]:
		return set().union(*self.teams.values()) if self.teams else set()

	def all_names(self) -> set[str]:
		return set().union(*self.names.values()) if self.names else set()

	def of(self, user: str, rows: "Indexed") -> list:
		"""The rows of `rows` that `user` follows, in their order (owned, in a followed team, followed)."""
		found = {id(row): row for row in rows.by_owner.get(user, ())}
		for team in self.teams.get(user, ()):
			found.update((id(row), row) for row in rows.by_team.get(team, ()))
		for name in self.names.get(user, ()):
			found.update((id(row), row) for row in rows.by_name.get(name, ()))
		return sorted(found.values(), key=lambda row: rows.position[id(row)])


def grouped(doctype: str, filters: dict, key: str, value: str) -> dict[str, set[str]]:
	"""{row[key]: {row[value], ...}} of the rows of `doctype` matching `filters`, in one query."""
	found = defaultdict(set)
	for row in frappe.get_all(doctype, filters=filters, fields=[key, value]):
		found[row[key]].add(row[value])
	return found


def readable_teams(users) -> dict[str, set[str] | None]:
	"""The teams each user may read (None: every team, for managers), in two queries for all: the
	memberships, and who is a manager (pipeline_app.teams answers the same for one user)."""
	users = list(users)
	managers = set(
		frappe.get_all(
			"Has Role",
			filters={"parenttype": "User", "parent": ("in", users), "role": ("in", list(MANAGER_ROLES))},
			pluck="parent",
		)
	)
	teams = {user: (None if user in managers else set()) for user in users}
	for row in frappe.get_all(
		"Pipeline Team Member",
		filters={"parenttype": "Pipeline Team", "user": ("in", users)},
		fields=["user", "parent"],
	):
		if teams[row.user] is not None:
			teams[row.user].add(row.parent)
	return teams


class Indexed(list):
	"""News rows, found by owner, team and opportunity name."""

	def __init__(self, rows):
		super().__init__(rows)
		self.by_owner, self.by_team, self.by_name = defaultdict(list), defaultdict(list), defaultdict(list)
		self.position = {}
		for index, row in enumerate(self):
			self.position[id(row)] = index
			self.by_owner[row.owner].append(row)
			self.by_team[row.team].append(row)
			self.by_name[row.name].append(row)


class News:
	"""Everything any recipient may hear of, read once for all of them (a constant number of
	queries): stage and outcome changes in the longest period, overdue follow-ups, appointments in
	the coming period, opportunities in their abandonment warning window."""

	def __init__(self, **sections):
		self.__dict__.update(sections)

	@classmethod
	def load(cls, now, users: list[str], follows: Follows, days: int) -> "News":
		opportunity = frappe.qb.DocType(DOCTYPE)
		# owned by a recipient, in a team one follows, or followed by one
		relevant = opportunity.opportunity_owner.isin(users)
		teams, names = follows.all_teams(), follows.all_names()
		if teams:
			relevant = relevant | opportunity.team.isin(list(teams))
		if names:
			relevant = relevant | opportunity.name.isin(list(names))
		fields = (
			opportunity.name,
			opportunity.title,
			opportunity.team,
			opportunity.stage,
			opportunity.status,
			opportunity.opportunity_owner.as_("owner"),
		)
		change = frappe.qb.DocType("Pipeline Stage Change")
		changes = (
			frappe.qb.from_(change)
			.join(opportunity)
			.on(opportunity.name == change.opportunity)
			.select(*fields, change.change_type, change.from_value, change.to_value, change.changed_on)
			.where(
				(change.changed_on >= add_days(now, -days))
				& (change.changed_on < now)
				& ((change.change_type == "Stage") | change.to_value.isin(OUTCOMES))
				& relevant
			)
			.orderby(change.changed_on)
			.run(as_dict=True)
		)
		overdue = (
			frappe.qb.from_(opportunity)
			.select(*fields, opportunity.follow_up_on)
			.where((opportunity.status == "Open") & (opportunity.follow_up_on < now) & relevant)
			.orderby(opportunity.follow_up_on)
			.run(as_dict=True)
		)
		appointment = frappe.qb.DocType("Pipeline Appointment")
		appointments = (
			frappe.qb.from_(appointment)
			.join(opportunity)
			.on(opportunity.name == appointment.opportunity)
			.select(*fields, appointment.name.as_("appointment"), appointment.starts_at)
			.where(
				(appointment.status == "Scheduled")
				& (appointment.starts_at >= now)
				& (appointment.starts_at < add_days(now, days))
				& relevant
			)
			.orderby(appointment.starts_at)
			.run(as_dict=True)
		)
		abandoning = (
			frappe.qb.from_(opportunity)
			.select(*fields, opportunity.abandons_on)
			.where((opportunity.status == "Open") & opportunity.abandons_on.isnotnull() & relevant)
			.orderby(opportunity.abandons_on)
			.run(as_dict=True)
		)
		stages = {change.to_value for change in changes} | {change.from_value for change in changes}
		stage_rows = frappe.get_all(
			"Funnel Stage",
			filters={"name": ("in", list(stages - {None}) or [""])},
			fields=["name", "stage_name", "stage_type"],
		)
		stage_names = {row.name: row.stage_name for row in stage_rows}
		stage_types = {row.name: row.stage_type for row in stage_rows}
		# entering a Won / Lost stage is told as the outcome, not as a move
		changes = [
			change
			for change in changes
			if change.change_type == "Status" or stage_types.get(change.to_value, "Open") == "Open"
		]
		return cls(
			changes=Indexed(changes),
			overdue=Indexed(overdue),
			appointments=Indexed(appointments),
			abandoning=Indexed(abandoning),
			stage_names=stage_names,
		)


def send_digest(user: str, frequency: str, now, follows: Follows, news: News) -> bool:
	"""The user's digest for the period ending at `now`, unless it holds nothing or was sent."""
	start = add_days(now, -PERIOD_DAYS[frequency])
	end_of_coming = add_days(now, PERIOD_DAYS[frequency])

	def mine(rows, when=None):
		return [row for row in follows.of(user, rows) if when is None or when(row)]

	changes = mine(news.changes, lambda row: get_datetime(row.changed_on) >= start)
	sections = {
		# (a new opportunity entering its first stage is no move)
		"moved": [row for row in changes if row.change_type == "Stage" and row.from_value],
		"won": [row for row in changes if row.change_type == "Status" and row.to_value == WON],
		"lost": [row for row in changes if row.change_type == "Status" and row.to_value in (LOST, ABANDONED)],
		"overdue": mine(news.overdue),
		"appointments": mine(news.appointments, lambda row: get_datetime(row.starts_at) < end_of_coming),
		"abandoning": mine(news.abandoning),
	}
	readable = readable_by(
		user, {(row.name, row.team) for rows in sections.values() for row in rows}, follows
	)
	sections = {key: [row for row in rows if row.name in readable] for key, rows in sections.items()}
	if not any(sections.values()):
		return False
	digest = frappe.get_doc(
		{
			"doctype": DIGEST,
			"user": user,
			"frequency": frequency,
			"period": period_key(frequency, now),
			"period_start": start,
			"period_end": now,
			"moved_count": len(sections["moved"]),
			"won_count": len(sections["won"]),
			"lost_count": len(sections["lost"]),
			"overdue_count": len(sections["overdue"]),
			"appointment_count": len(sections["appointments"]),
			"abandoning_count": len(sections["abandoning"]),
			"content": render(sections, news.stage_names, user),
		}
	)
	savepoint = "pipeline_digest_" + frappe.generate_hash(length=8)
	frappe.db.savepoint(savepoint)
	try:
		digest.insert(ignore_permissions=True)
	except (frappe.DuplicateEntryError, frappe.UniqueValidationError):
		# another run sent this period's digest meanwhile (unique user and period)
		frappe.db.rollback(save_point=savepoint)
		frappe.clear_last_message()
		return False
	deliver(digest)
	frappe.db.set_value(SUBSCRIPTION, user, "last_sent_on", now, update_modified=False)
	return True


def readable_by(user: str, candidates: set[tuple[str, str]], follows: Follows) -> set[str]:
	"""Of the (name, team) `candidates`, the opportunities `user` may read now, by their whole
	permission rules (teams, roles, User Permissions, other apps' hooks): those of a team the user
	reads whole by the team rule alone (board.reads_whole_team) without a query, the others checked
	by one `frappe.get_list` as the user."""
	teams = follows.readable.get(user, set())
	whole = {
		team
		for team in {team for _name, team in candidates}
		if (teams is None or team in teams) and reads_team(user, team)
	}
	readable = {name for name, team in candidates if team in whole}
	rest = [name for name, team in candidates if team not in whole]
	if rest:
		readable.update(
			frappe.get_list(
				DOCTYPE, filters={"name": ("in", rest)}, pluck="name", user=user, limit_page_length=0
			)
		)
	return readable


def reads_team(user: str, team: str) -> bool:
	def build(ignore_permissions: bool = False) -> str:
		return frappe.get_list(
			DOCTYPE,
			filters={"team": team},
			fields=["name"],
			user=user,
			ignore_permissions=ignore_permissions,
			run=False,
		)

	return reads_whole_team(team, build(), build, user=user)


def render(sections: dict, stage_names: dict, user: str) -> str:
	lang = frappe.db.get_value("User", user, "language") or frappe.local.lang

	def link(row) -> str:
		return f'<a href="{escape_html(get_url_to_form(DOCTYPE, row.name))}">{escape_html(row.title or row.name)}</a>'

	def stage(name) -> str:
		return escape_html(stage_names.get(name) or name or "")

	lines = {
		"moved": lambda row: _("{0}: {1} → {2}", lang=lang).format(
			link(row), stage(row.from_value), stage(row.to_value)
		),
		"won": lambda row: link(row),
		"lost": lambda row: f"{link(row)} ({escape_html(_(row.to_value, lang=lang))})",
		"overdue": lambda row: _("{0}: follow-up was due {1}", lang=lang).format(
			link(row), escape_html(format_datetime(row.follow_up_on))
		),
		"appointments": lambda row: _("{0}: {1}", lang=lang).format(
			link(row), escape_html(format_datetime(row.starts_at))
		),
		"abandoning": lambda row: _("{0}: abandoned on {1} unless the contact replies", lang=lang).format(
			link(row), escape_html(formatdate(row.abandons_on))
		),
	}
	titles = {
		"moved": _("Moved stage", lang=lang),
		"won": _("Won", lang=lang),
		"lost": _("Lost or abandoned", lang=lang),
		"overdue": _("Follow-ups overdue", lang=lang),
		"appointments": _("Appointments coming", lang=lang),
		"abandoning": _("Will be abandoned soon", lang=lang),
	}
	html = []
	for key, rows in sections.items():
		if not rows:
			continue
		items = "".join(f"<li>{lines[key](row)}</li>" for row in rows[:SECTION_LIMIT])
		more = (
			"<li>{}</li>".format(_("and {0} more", lang=lang).format(len(rows) - SECTION_LIMIT))
			if len(rows) > SECTION_LIMIT
			else ""
		)
		html.append(f"<h4>{escape_html(titles[key])} ({len(rows)})</h4><ul>{items}{more}</ul>")
	return "".join(html)


def deliver(digest) -> None:
	"""The desk (a bell notification opening the Pipeline Digest) and, where outgoing mail is set
	up and the user keeps email notifications on, the digest by email through the Email Queue."""
	lang = frappe.db.get_value("User", digest.user, "language") or frappe.local.lang
	subject = (
		_("Your daily pipeline digest: {0}", lang=lang)
		if digest.frequency == "Daily"
		else _("Your weekly pipeline digest: {0}", lang=lang)
	).format(summary(digest, lang))
	frappe.get_doc(
		{
			"doctype": "Notification Log",
			"subject": escape_html(subject),
			"for_user": digest.user,
			"type": "Alert",
			"document_type": DIGEST,
			"document_name": digest.name,
			"from_user": "Administrator",
		}
	).insert(ignore_permissions=True)
	email = frappe.db.get_value("User", digest.user, "email")
	if not email or not EmailAccount.find_outgoing() or not is_email_notifications_enabled(digest.user):
		return
	frappe.sendmail(
		recipients=email,
		subject=subject,
		message=digest.content
		+ '<p><a href="{}">{}</a></p>'.format(
			escape_html(get_url_to_form(SUBSCRIPTION, digest.user)),
			escape_html(_("Change how often the digest comes, or turn it off", lang=lang)),
		),
		reference_doctype=DIGEST,
		reference_name=digest.name,
		header=[_("Pipeline", lang=lang), "orange"],
	)


def summary(digest, lang) -> str:
	parts = [
		(digest.moved_count, _("{0} moved", lang=lang)),
		(digest.won_count, _("{0} won", lang=lang)),
		(digest.lost_count, _("{0} lost", lang=lang)),
		(digest.overdue_count, _("{0} overdue", lang=lang)),
		(digest.appointment_count, _("{0} appointments", lang=lang)),
		(digest.abandoning_count, _("{0} abandoned soon", lang=lang)),
	]
	return ", ".join(label.format(count) for count, label in parts if count)
