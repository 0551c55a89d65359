"""The public booking page (`/book/<route>`): a team publishes its free appointment slots, a visitor
books one without logging in, and the confirmation's signed link lets them cancel or pick another.

- Slots: the team's weekly hours (site time zone), cut into slots of the team's length, from the
  minimum notice to the days ahead, each free when at least one host (member marked Takes Bookings)
  has no scheduled appointment overlapping it, the buffer included. Hosts' appointments in every team
  count: a host is one person.
- Booking: the visitor's contact is matched as message intake matches one (email, then phone; else a
  new contact), except that a phone number typed on a public form never picks a contact that has an
  email address on file (whoever books that way gets a contact of their own: the stored contact's
  reminders and links go to its own address), and nothing of a stored contact is ever shown or
  mailed to the visitor (answers and emails carry only what they typed, the team's and the host's
  first name); their latest open opportunity in the team is used or one is created in the team's
  booking stage, and a Scheduled appointment is made with the free host who has the fewest upcoming
  appointments in the team. The appointment's own sync then moves the stage. Bookings run one at a
  time (a named lock in a fresh transaction), the slot checked again inside: of two visitors racing
  for the last host of a slot, one gets it and the other a clear message (409).
- Guests reach only these endpoints: free slots (no host, contact or opportunity), the booking, and
  cancel / reschedule with a token that is an HMAC of the site's key over the purpose, the
  appointment and its current start: it works for that appointment only, until it starts, and a
  reschedule (new start) retires it. Rate limited per peer address and per team; a honeypot field.
"""

import hashlib
import hmac
import re
from bisect import bisect_left
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import frappe
from frappe import _
from frappe.email.doctype.email_account.email_account import EmailAccount
from frappe.query_builder.functions import Count, Max
from frappe.utils import (
	add_to_date,
	cint,
	cstr,
	escape_html,
	format_datetime,
	get_datetime,
	get_system_timezone,
	get_url,
	getdate,
	now_datetime,
	strip_html,
	validate_email_address,
)
from frappe.utils.password import get_encryption_key

from pipeline_app.automation.conversations import (
	contact_for_team,
	find_contacts,
	latest_open_opportunity,
)
from pipeline_app.automation.notifications import notify
from pipeline_app.funnel import first_stage
from pipeline_app.locks import serialized
from pipeline_app.permissions import system_access

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ROUTE_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_DAYS_PER_CALL = 31
MANAGE_PURPOSE = "pipeline-booking-manage"
# (requests, seconds); site_config keys pipeline_booking_peer_rate_limit / pipeline_booking_team_rate_limit
PEER_LIMIT = (20, 3600)  # bookings, cancels and reschedules per peer address
TEAM_LIMIT = (200, 3600)  # bookings per team
SLOTS_PEER_LIMIT = (600, 600)  # slot lookups per peer address
MAX_NAME_LENGTH = 80
MAX_EMAIL_LENGTH = 140
MAX_PHONE_LENGTH = 30


class SlotTakenError(frappe.ValidationError):
	http_status_code = 409


class BookingRateLimitError(frappe.RateLimitExceededError):
	http_status_code = 429


# Pages and settings
# ------------------


def booking_team(route: str | None) -> frappe._dict:
	"""The published team behind a booking route, with its booking settings; a route that is not
	published (unknown, switched off, disabled team) is refused as a missing page, whichever it is."""
	route = cstr(route).strip().lower()
	name = (
		frappe.db.get_value(
			"Pipeline Team", {"booking_route": route, "booking_enabled": 1, "disabled": 0}, "name"
		)
		if ROUTE_PATTERN.match(route)
		else None
	)
	if not name:
		frappe.throw(_("This booking page does not exist"), frappe.DoesNotExistError, title=_("Not Found"))
	with system_access():
		team = frappe.get_cached_doc("Pipeline Team", name)
	return frappe._dict(
		name=team.name,
		route=team.booking_route,
		heading=team.booking_heading or team.team_name,
		intro=team.booking_intro,
		stage=team.booking_stage,
		slot=timedelta(minutes=max(cint(team.booking_slot_minutes), 5)),
		buffer=timedelta(minutes=cint(team.booking_buffer_minutes)),
		days_ahead=cint(team.booking_days_ahead),
		notice=timedelta(hours=cint(team.booking_notice_hours)),
		hours=[(row.weekday, to_time(row.from_time), to_time(row.to_time)) for row in team.booking_hours],
		hosts=booking_hosts(team),
	)


def booking_hosts(team) -> list[str]:
	"""The team's members marked Takes Bookings whose user is enabled."""
	marked = [member.user for member in team.members if member.booking_host]
	if not marked:
		return []
	return sorted(frappe.get_all("User", filters={"name": ("in", marked), "enabled": 1}, pluck="name"))


def to_time(value) -> time:
	if isinstance(value, timedelta):
		return (datetime.min + value).time()
	if isinstance(value, time):
		return value
	return datetime.strptime(cstr(value).split(".")[0], "%H:%M:%S").time()


def validate_booking_settings(team) -> None:
	"""From Pipeline Team's validate: a published page needs a route nobody else has, working hours
	that make sense and at least one host."""
	if team.booking_route:
		team.booking_route = cstr(team.booking_route).strip().lower()
	else:
		team.booking_route = None
	if not team.booking_enabled:
		return
	if not team.booking_route or not ROUTE_PATTERN.match(team.booking_route) or len(team.booking_route) > 60:
		frappe.throw(
			_("Page Route must be lowercase letters, digits and single dashes (at most 60), like {0}").format(
				frappe.bold("sales-team")
			),
			title=_("Invalid Booking Page"),
		)
	if not 5 <= cint(team.booking_slot_minutes) <= 480:
		frappe.throw(_("Slot Length must be between 5 and 480 minutes"), title=_("Invalid Booking Page"))
	if not 1 <= cint(team.booking_days_ahead) <= 365:
		frappe.throw(_("Bookable Days Ahead must be between 1 and 365"), title=_("Invalid Booking Page"))
	if cint(team.booking_buffer_minutes) > 240:
		frappe.throw(_("The buffer can be at most 240 minutes"), title=_("Invalid Booking Page"))
	for row in team.booking_hours:
		if to_time(row.from_time) >= to_time(row.to_time):
			frappe.throw(
				_("Row {0} of the weekly hours: From must be before To").format(row.idx),
				title=_("Invalid Booking Page"),
			)
	if not team.booking_hours:
		frappe.throw(_("Give the weekly hours contacts may book"), title=_("Invalid Booking Page"))
	if not any(member.booking_host for member in team.members):
		frappe.throw(
			_("Mark at least one member as Takes Bookings: they host the booked appointments"),
			title=_("Invalid Booking Page"),
		)
	if team.booking_stage and frappe.db.get_value("Funnel Stage", team.booking_stage, "team") != team.name:
		frappe.throw(
			_("{0}: stage {1} is not a stage of this team").format(
				_("New Opportunities Start In"), frappe.bold(team.booking_stage)
			),
			title=_("Invalid Stage"),
		)


# Slots
# -----


def bookable_range(team: frappe._dict, now: datetime | None = None) -> tuple[datetime, datetime]:
	"""From the minimum notice to the end of the last bookable day."""
	now = get_datetime(now or now_datetime())
	last_day = getdate(now) + timedelta(days=team.days_ahead)
	return now + team.notice, datetime.combine(last_day, time.max)


def candidate_slots(team: frappe._dict, start: datetime, end: datetime):
	"""Slot starts of the weekly hours between `start` and `end`, in order."""
	by_weekday = {}
	for weekday, opens, closes in team.hours:
		by_weekday.setdefault(WEEKDAYS.index(weekday), []).append((opens, closes))
	day = start.date()
	while day <= end.date():
		starts = set()
		for opens, closes in by_weekday.get(day.weekday(), ()):
			slot_start = datetime.combine(day, opens)
			closing = datetime.combine(day, closes)
			while slot_start + team.slot <= closing:
				starts.add(slot_start)
				slot_start += team.slot
		yield from (s for s in sorted(starts) if start <= s <= end)
		day += timedelta(days=1)


def busy_intervals(team: frappe._dict, start: datetime, end: datetime, exclude: str | None = None) -> dict:
	"""Per host, the sorted (start, end) of their scheduled appointments around the range, widened by
	the buffer; an appointment without an end lasts one slot."""
	intervals = {host: [] for host in team.hosts}
	if not team.hosts:
		return intervals
	margin = team.slot + team.buffer + timedelta(days=1)
	appointment = frappe.qb.DocType("Pipeline Appointment")
	query = (
		frappe.qb.from_(appointment)
		.select(appointment.host, appointment.starts_at, appointment.ends_at)
		.where(appointment.host.isin(team.hosts))
		.where(appointment.status == "Scheduled")
		.where(appointment.starts_at >= start - margin)
		.where(appointment.starts_at <= end + margin)
	)
	if exclude:
		query = query.where(appointment.name != exclude)
	for host, starts_at, ends_at in query.run():
		starts_at = get_datetime(starts_at)
		ends_at = get_datetime(ends_at) if ends_at else starts_at + team.slot
		intervals[host].append((starts_at - team.buffer, ends_at + team.buffer))
	for busy in intervals.values():
		busy.sort()
	return intervals


def free_slots(team: frappe._dict, start: datetime, end: datetime, exclude: str | None = None) -> dict:
	"""{slot start: [free hosts]} for the bookable slots between `start` and `end`."""
	low, high = bookable_range(team)
	start, end = max(start, low), min(end, high)
	if start > end or not team.hosts:
		return {}
	busy = busy_intervals(team, start, end, exclude)
	starts = {host: [s for s, _e in intervals] for host, intervals in busy.items()}
	# the latest end up to each interval, so that one long appointment is never missed
	reach = {}
	for host, intervals in busy.items():
		latest, ends = datetime.min, []
		for _s, busy_end in intervals:
			latest = max(latest, busy_end)
			ends.append(latest)
		reach[host] = ends
	slots = {}
	for slot_start in candidate_slots(team, start, end):
		slot_end = slot_start + team.slot
		hosts = []
		for host in team.hosts:
			index = bisect_left(starts[host], slot_end)
			if index == 0 or reach[host][index - 1] <= slot_start:
				hosts.append(host)
		if hosts:
			slots[slot_start] = hosts
	return slots


def choose_host(team: frappe._dict, hosts: list[str]) -> str:
	"""Fair among the free hosts: the one with the fewest upcoming scheduled appointments in the team,
	then the one booked least recently, then by name."""
	appointment = frappe.qb.DocType("Pipeline Appointment")
	rows = (
		frappe.qb.from_(appointment)
		.select(appointment.host, Count("*"), Max(appointment.creation))
		.where(appointment.host.isin(hosts))
		.where(appointment.team == team.name)
		.where(appointment.status == "Scheduled")
		.where(appointment.starts_at >= now_datetime())
		.groupby(appointment.host)
		.run()
	)
	load = {host: (count, get_datetime(latest)) for host, count, latest in rows}
	return min(hosts, key=lambda host: (*load.get(host, (0, datetime.min)), host))


def utc_iso(local: datetime) -> str:
	"""A site-time datetime as UTC ISO 8601, for the visitor's own time zone."""
	return (
		local.replace(tzinfo=ZoneInfo(get_system_timezone())).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
	)


def slots_answer(team: frappe._dict, start: date, days: int, exclude: str | None = None) -> dict:
	days = min(max(cint(days) or 7, 1), MAX_DAYS_PER_CALL)
	first = datetime.combine(start, time.min)
	slots = free_slots(team, first, datetime.combine(start + timedelta(days=days - 1), time.max), exclude)
	by_day = {}
	for slot_start in slots:  # in order
		by_day.setdefault(slot_start.date().isoformat(), []).append(
			{"start": slot_start.strftime("%Y-%m-%d %H:%M:%S"), "utc": utc_iso(slot_start)}
		)
	low, high = bookable_range(team)
	return {
		"timezone": get_system_timezone(),
		"slot_minutes": int(team.slot.total_seconds() // 60),
		"first_day": low.date().isoformat(),
		"last_day": high.date().isoformat(),
		"days": [{"date": day, "slots": day_slots} for day, day_slots in by_day.items()],
	}


@frappe.whitelist(allow_guest=True, methods=["GET"])
def get_slots(route: str, start: str | None = None, days: int | None = None) -> dict:
	"""The free slots of a published booking page, `days` days (at most 31) from `start` (a date;
	default: today). Times in the site's time zone, and in UTC for the visitor's own."""
	limit_booking_rate("slots", None, *SLOTS_PEER_LIMIT)
	team = booking_team(route)
	return slots_answer(team, parse_date(start), days)


def parse_date(value: str | None) -> date:
	if not value:
		return getdate()
	try:
		return datetime.strptime(cstr(value)[:10], "%Y-%m-%d").date()
	except ValueError:
		frappe.throw(_("{0} is not a date (YYYY-MM-DD)").format(frappe.bold(escape_html(cstr(value)[:20]))))


def parse_slot(value: str | None) -> datetime:
	try:
		return datetime.strptime(cstr(value).strip()[:19], "%Y-%m-%d %H:%M:%S")
	except ValueError:
		frappe.throw(_("Pick a time from the list"), title=_("Invalid Time"))


# Booking
# -------


@frappe.whitelist(allow_guest=True, methods=["POST"])
def book(
	route: str,
	slot: str,
	first_name: str,
	email: str,
	phone: str | None = None,
	last_name: str | None = None,
	website: str | None = None,
) -> dict:
	"""Books `slot` (a start from get_slots) for the visitor. `website` is a honeypot: people never
	see it, a form-filling robot does, and its booking is refused."""
	limit_booking_rate("peer", None, *configured_limit("pipeline_booking_peer_rate_limit", PEER_LIMIT))
	team = booking_team(route)
	limit_booking_rate("team", team.name, *configured_limit("pipeline_booking_team_rate_limit", TEAM_LIMIT))
	if cstr(website).strip():
		frappe.throw(_("Your booking could not be taken"), title=_("Not Booked"))
	visitor = validate_visitor(first_name, last_name, email, phone)
	starts_at = parse_slot(slot)
	user = frappe.session.user
	frappe.set_user("Administrator")  # the visitor creates records no guest may write
	try:
		with serialized("booking", busy_message=_("Many people are booking right now; try again")):
			hosts = free_slots(team, starts_at, starts_at).get(starts_at)
			if not hosts:
				throw_slot_taken()
			appointment = create_booking(team, visitor, starts_at, choose_host(team, hosts))
	finally:
		frappe.set_user(user)
	send_confirmation(appointment, visitor.email, _("Your appointment is booked"))
	return booking_answer(appointment)


def throw_slot_taken():
	frappe.throw(
		_("Sorry, this time has just been taken. Please pick another one."),
		SlotTakenError,
		title=_("Slot Taken"),
	)


def configured_limit(key: str, default: tuple[int, int]) -> tuple[int, int]:
	return cint(frappe.conf.get(key)) or default[0], default[1]


def limit_booking_rate(kind: str, identity: str | None, limit: int, seconds: int) -> None:
	"""Counts the request against its peer address (the connection's: Frappe's rate_limit takes the
	first address of X-Forwarded-For, which any client can set) or against `identity`."""
	identity = identity if identity is not None else (frappe.request.remote_addr or "")
	key = booking_rate_key(kind, identity)
	count = frappe.cache.incrby(key, 1)
	if count == 1 or frappe.cache.ttl(key) < 0:
		frappe.cache.expire(key, seconds)
	if count > limit:
		frappe.throw(
			_("Too many requests; please try again later"), BookingRateLimitError, title=_("Rate Limit")
		)


def booking_rate_key(kind: str, identity: str) -> str:
	return frappe.cache.make_key(f"pipeline_app:booking_rate:{kind}:{identity}")


def validate_visitor(first_name, last_name, email, phone) -> frappe._dict:
	def text(value, label, limit, required=False):
		value = strip_html(cstr(value)).strip()
		if required and not value:
			frappe.throw(_("{0} is required").format(label), title=_("Missing Value"))
		if len(value) > limit:
			frappe.throw(
				_("{0} is too long: at most {1} characters").format(label, limit), title=_("Too Long")
			)
		return value

	visitor = frappe._dict(
		first_name=text(first_name, _("First name"), MAX_NAME_LENGTH, required=True),
		last_name=text(last_name, _("Last name"), MAX_NAME_LENGTH),
		email=text(email, _("Email"), MAX_EMAIL_LENGTH, required=True).lower(),
		phone=text(phone, _("Phone"), MAX_PHONE_LENGTH),
	)
	if not validate_email_address(visitor.email):
		frappe.throw(
			_("{0} is not an email address").format(escape_html(visitor.email)), title=_("Invalid Email")
		)
	if visitor.phone and (
		not re.fullmatch(r"[0-9+()./\- ]+", visitor.phone) or sum(c.isdigit() for c in visitor.phone) < 5
	):
		frappe.throw(
			_("{0} is not a phone number").format(escape_html(visitor.phone)), title=_("Invalid Phone")
		)
	return visitor


def create_booking(team: frappe._dict, visitor: frappe._dict, starts_at: datetime, host: str):
	"""Inside the booking lock, as Administrator: contact, opportunity and appointment."""
	with system_access():
		contact = booking_contact(team, visitor)
		opportunity = latest_open_opportunity(contact, team.name) or new_opportunity(team, contact, visitor)
		appointment = frappe.get_doc(
			{
				"doctype": "Pipeline Appointment",
				"opportunity": opportunity.name,
				"starts_at": starts_at,
				"ends_at": starts_at + team.slot,
				"host": host,
				"booked_online": 1,
				"notes": _("Booked online by {0} ({1}{2})").format(
					" ".join(filter(None, (visitor.first_name, visitor.last_name))),
					visitor.email,
					f", {visitor.phone}" if visitor.phone else "",
				),
			}
		)
		appointment.insert(ignore_permissions=True)
	notify(
		[host],
		_("{0} booked an appointment for {1}").format(
			frappe.bold(escape_html(visitor.first_name)), format_datetime(starts_at)
		),
		appointment,
	)
	return appointment


def booking_contact(team: frappe._dict, visitor: frappe._dict) -> str:
	"""Message intake's rules: the contact with this email, else with this phone number, else a new
	one; by phone only a contact known by phone alone (no email address on file), as a number typed
	by anyone proves nothing and would send the contact's own reminders and manage links elsewhere.
	An existing contact is never changed by a public form."""
	contacts = find_contacts(visitor.email) or (phone_only_contacts(visitor.phone) if visitor.phone else [])
	if contacts:
		return contact_for_team(contacts, team.name)
	contact = frappe.get_doc(
		{"doctype": "Contact", "first_name": visitor.first_name, "last_name": visitor.last_name or None}
	)
	contact.append("email_ids", {"email_id": visitor.email, "is_primary": 1})
	if visitor.phone:
		contact.append("phone_nos", {"phone": visitor.phone, "is_primary_mobile_no": 1})
	contact.insert(ignore_permissions=True)
	return contact.name


def phone_only_contacts(phone: str) -> list[str]:
	"""The contacts with this phone number and no email address (trusted: never shown to the visitor)."""
	contacts = find_contacts(phone)
	if not contacts:
		return []
	with_email = set(
		frappe.get_all(
			"Contact Email", filters={"parenttype": "Contact", "parent": ("in", contacts)}, pluck="parent"
		)
	) | set(
		frappe.get_all("Contact", filters={"name": ("in", contacts), "email_id": ("is", "set")}, pluck="name")
	)
	return [contact for contact in contacts if contact not in with_email]


def new_opportunity(team: frappe._dict, contact: str, visitor: frappe._dict):
	stage = team.stage or (first_stage(team.name) or {}).get("name")
	doc = frappe.get_doc(
		{
			"doctype": "Pipeline Opportunity",
			"title": _("{0} booked online").format(
				" ".join(filter(None, (visitor.first_name, visitor.last_name)))
			),
			"team": team.name,
			"stage": stage,
			"contact": contact,
			"source": "Website",
		}
	)
	doc.flags.automation = "booking"
	doc.insert(ignore_permissions=True)
	doc.add_comment("Info", _("Created by a booking on the team's booking page"))
	return doc


def booking_answer(appointment) -> dict:
	return {
		"appointment": appointment.name,
		"starts_at": cstr(appointment.starts_at),
		"ends_at": cstr(appointment.ends_at),
		"utc": utc_iso(get_datetime(appointment.starts_at)),
		"status": appointment.status,
		"host": host_first_name(appointment.host),
		"manage_url": manage_url(appointment),
	}


def host_first_name(user: str | None) -> str | None:
	return frappe.db.get_value("User", user, "first_name") if user else None


# Cancel and reschedule links
# ---------------------------


def manage_token(name: str, starts_at) -> str:
	message = f"{MANAGE_PURPOSE}:{frappe.local.site}:{name}:{get_datetime(starts_at).isoformat()}"
	key = hashlib.sha256(f"{MANAGE_PURPOSE}:{get_encryption_key()}".encode()).digest()
	return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def manage_url(appointment) -> str:
	route = frappe.db.get_value("Pipeline Team", appointment.team, "booking_route")
	return get_url(
		f"/book/{route}?appointment={appointment.name}&token={manage_token(appointment.name, appointment.starts_at)}"
	)


def managed_appointment(appointment: str, token: str):
	"""The appointment a manage link names, when its token is right and it has not started; anything
	else is refused the same way."""
	name = cstr(appointment)[:40]
	row = (
		frappe.db.get_value(
			"Pipeline Appointment", name, ["name", "starts_at", "status", "booked_online"], as_dict=True
		)
		if name
		else None
	)
	if (
		not row
		or not cstr(token)
		or not hmac.compare_digest(cstr(token).encode(), manage_token(row.name, row.starts_at).encode())
	):
		frappe.throw(
			_("This link is not valid any more. Use the link of your latest confirmation."),
			frappe.PermissionError,
			title=_("Invalid Link"),
		)
	if get_datetime(row.starts_at) <= now_datetime():
		frappe.throw(_("This appointment has already started"), frappe.PermissionError, title=_("Too Late"))
	with system_access():
		return frappe.get_doc("Pipeline Appointment", row.name)


def managed_answer(appointment) -> dict:
	"""What the manage link shows: the booking's own answer, nothing of the stored contact (the link
	reaches whoever typed the email or phone, who may not be that contact)."""
	return booking_answer(appointment)


@frappe.whitelist(allow_guest=True, methods=["POST"])
def cancel_booking(appointment: str, token: str) -> dict:
	"""The contact cancels through their link: the appointment is Cancelled and the stage follows."""
	limit_booking_rate("peer", None, *configured_limit("pipeline_booking_peer_rate_limit", PEER_LIMIT))
	user = frappe.session.user
	frappe.set_user("Administrator")
	try:
		doc = managed_appointment(appointment, token)
		if doc.status != "Scheduled":
			frappe.throw(_("This appointment is {0}").format(_(doc.status)), title=_("Not Scheduled"))
		doc.status = "Cancelled"
		doc.add_comment("Info", _("Cancelled by the contact through the booking page"))
		doc.save(ignore_permissions=True)
		if doc.host:
			notify([doc.host], _("Appointment {0} was cancelled by the contact").format(doc.name), doc)
		frappe.db.commit()
	finally:
		frappe.set_user(user)
	email = contact_email(doc.contact)
	if email:
		send_confirmation(doc, email, _("Your appointment is cancelled"), cancelled=True)
	return booking_answer(doc)


@frappe.whitelist(allow_guest=True, methods=["POST"])
def reschedule_booking(appointment: str, token: str, slot: str) -> dict:
	"""The contact picks another free slot through their link; the host stays when free. The old link
	stops working (it named the old time); the answer and a new confirmation carry the new one."""
	limit_booking_rate("peer", None, *configured_limit("pipeline_booking_peer_rate_limit", PEER_LIMIT))
	starts_at = parse_slot(slot)
	user = frappe.session.user
	frappe.set_user("Administrator")
	try:
		with serialized("booking", busy_message=_("Many people are booking right now; try again")):
			doc = managed_appointment(appointment, token)
			if doc.status != "Scheduled":
				frappe.throw(_("This appointment is {0}").format(_(doc.status)), title=_("Not Scheduled"))
			team = booking_team(frappe.db.get_value("Pipeline Team", doc.team, "booking_route"))
			hosts = free_slots(team, starts_at, starts_at, exclude=doc.name).get(starts_at)
			if not hosts:
				throw_slot_taken()
			previous = doc.starts_at
			doc.host = doc.host if doc.host in hosts else choose_host(team, hosts)
			doc.starts_at, doc.ends_at = starts_at, starts_at + team.slot
			doc.add_comment(
				"Info",
				_("Moved by the contact from {0} to {1} through the booking page").format(
					format_datetime(previous), format_datetime(starts_at)
				),
			)
			doc.save(ignore_permissions=True)  # a new time: its reminders are sent again
			if doc.host:
				notify(
					[doc.host],
					_("Appointment {0} was moved by the contact to {1}").format(
						doc.name, format_datetime(starts_at)
					),
					doc,
				)
	finally:
		frappe.set_user(user)
	email = contact_email(doc.contact)
	if email:
		send_confirmation(doc, email, _("Your appointment is moved"))
	return booking_answer(doc)


@frappe.whitelist(allow_guest=True, methods=["GET"])
def get_booking(appointment: str, token: str) -> dict:
	"""What the manage link shows: the appointment's time, status and host's first name."""
	limit_booking_rate("slots", None, *SLOTS_PEER_LIMIT)
	user = frappe.session.user
	frappe.set_user("Administrator")
	try:
		doc = managed_appointment(appointment, token)
		return managed_answer(doc)
	finally:
		frappe.set_user(user)


# Emails and calendar files
# -------------------------


def contact_email(contact: str | None) -> str | None:
	return frappe.db.get_value("Contact", contact, "email_id") if contact else None


def outgoing_mail_set_up() -> bool:
	return bool(EmailAccount.find_outgoing())


def send_confirmation(appointment, email: str, subject: str, cancelled: bool = False) -> None:
	"""The confirmation (or reminder) with the appointment as an .ics invitation and the manage link,
	through the Email Queue, where outgoing mail is set up."""
	if not outgoing_mail_set_up():
		return
	heading = frappe.db.get_value("Pipeline Team", appointment.team, ["booking_heading", "team_name"])
	heading = heading[0] or heading[1]
	when = format_datetime(appointment.starts_at)
	host = host_first_name(appointment.host)
	lines = [
		f"<p>{escape_html(subject)}: <strong>{escape_html(when)}</strong> ({escape_html(get_system_timezone())})"
		+ (f", {escape_html(_('with {0}').format(host))}" if host else "")
		+ f" &middot; {escape_html(heading)}</p>"
	]
	if not cancelled:
		link = manage_url(appointment)
		lines.append(
			f'<p><a href="{escape_html(link)}">{escape_html(_("Cancel or pick another time"))}</a></p>'
		)
	frappe.sendmail(
		recipients=[email],
		subject=f"{subject}: {when}",
		message="".join(lines),
		attachments=[{"fname": "appointment.ics", "fcontent": ics(appointment, heading, cancelled)}],
		reference_doctype="Pipeline Appointment",
		reference_name=appointment.name,
		now=False,
	)


def ics(appointment, heading: str, cancelled: bool = False) -> str:
	"""An iCalendar (RFC 5545) invitation for the appointment; a cancellation has the same UID."""

	def stamp(value) -> str:
		return utc_iso(get_datetime(value)).replace("-", "").replace(":", "")

	def escape(text: str) -> str:
		return cstr(text).replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")

	ends_at = appointment.ends_at or add_to_date(appointment.starts_at, minutes=30)
	lines = [
		"BEGIN:VCALENDAR",
		"VERSION:2.0",
		"PRODID:-//Pipeline App//Booking//EN",
		f"METHOD:{'CANCEL' if cancelled else 'PUBLISH'}",
		"BEGIN:VEVENT",
		f"UID:{appointment.name}@{frappe.local.site}",
		f"SEQUENCE:{int(get_datetime(appointment.modified).timestamp())}",
		f"DTSTAMP:{stamp(now_datetime())}",
		f"DTSTART:{stamp(appointment.starts_at)}",
		f"DTEND:{stamp(ends_at)}",
		f"SUMMARY:{escape(heading)}",
		f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
	]
	if not cancelled:
		lines.append(
			f"DESCRIPTION:{escape(_('Cancel or pick another time: {0}').format(manage_url(appointment)))}"
		)
	lines += ["END:VEVENT", "END:VCALENDAR"]
	return "\r\n".join(lines) + "\r\n"
