"""Demo data: teams from the three funnel templates, users, contacts, opportunities spread over stages
and outcomes, appointments. `bench --site SITE pipeline-demo --opportunities N` (see commands.py).

The first opportunities go through the document API (so they carry the timeline, history and rules of
real use); past that, rows are bulk-inserted with the same invariants, which builds 100,000 in minutes
for the benchmarks. Running it again tops the demo teams up to N opportunities; it never duplicates.
"""

import json
import random
import time
from collections import defaultdict
from datetime import timedelta

import frappe
from frappe import _
from frappe.desk.doctype.notification_log.notification_log import get_title_html
from frappe.utils import (
	add_days,
	add_to_date,
	escape_html,
	flt,
	get_datetime,
	get_fullname,
	getdate,
	now_datetime,
	today,
)
from frappe.utils.password import update_password

from pipeline_app.board import RANK_GAP, bump_board_versions
from pipeline_app.bulk import COMMENT_COLUMNS, bulk_names, insert_rows
from pipeline_app.column_counts import insert as insert_column_counts
from pipeline_app.funnel import (
	CLOSED_STATUSES,
	end_stays_at_closing,
	get_team_stages,
	insert_stage_changes,
)
from pipeline_app.journey import journey_values

DEMO_PASSWORD = "demo-pipeline"
DEMO_DOMAIN = "demo.pipeline.test"
DOCUMENT_API_LIMIT = 300
SELLERS = ("anna", "ben", "carla", "dave", "eve")
DEMO_TEAMS = (
	# team, template, members, leads, amounts, currency, abandon after days
	("Appointments", "Appointment funnel", ("anna", "ben"), ("anna",), 0, None, 14),
	("Deals", "Deal funnel", ("carla", "dave"), ("carla",), 1, "EUR", 0),
	("Sales", "Sales funnel", ("dave", "eve", "ben"), ("eve",), 1, "EUR", 30),
)
# the site's country, time zone and currency agree with the teams (Dutch names, euro amounts)
DEMO_LOCALE = {"country": "Netherlands", "time_zone": "Europe/Amsterdam", "currency": "EUR"}
# the Appointments team publishes its booking page: /book/appointments
DEMO_BOOKING = {
	"booking_enabled": 1,
	"booking_route": "appointments",
	"booking_heading": "Book an intake call",
	"booking_intro": "Pick a time that suits you: one of our advisers calls you for a free intake.",
	"booking_slot_minutes": 30,
	"booking_buffer_minutes": 10,
	"booking_days_ahead": 21,
	"booking_notice_hours": 4,
	"booking_hours": [
		{"weekday": day, "from_time": "09:00:00", "to_time": "17:00:00"}
		for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
	],
}
FIRST_NAMES = (
	"Liam",
	"Olivia",
	"Noah",
	"Emma",
	"Mila",
	"Lucas",
	"Sofia",
	"Finn",
	"Julia",
	"Sem",
	"Zoë",
	"Daan",
	"Saar",
	"Levi",
	"Tess",
	"Luuk",
	"Nora",
	"Milan",
	"Anna",
	"Jesse",
)
LAST_NAMES = (
	"de Jong",
	"Jansen",
	"de Vries",
	"van Dijk",
	"Bakker",
	"Visser",
	"Smit",
	"Meijer",
	"Mulder",
	"de Boer",
	"Bos",
	"Vos",
	"Peters",
	"Hendriks",
	"Dekker",
	"Brouwer",
)
SUBJECTS = (
	"Website redesign",
	"Yearly licence",
	"Consulting package",
	"Onboarding",
	"Support plan",
	"Hardware refresh",
	"Training day",
	"Pilot project",
	"Expansion",
	"Renewal",
)
SOURCES = ("Ad", "Website", "Chat", "Phone", "Email", "Referral", "Database Reactivation", "Event")
# the demo's history: what closed did so over the past year, what is open came in recently
HISTORY_DAYS = 365
OPEN_DAYS = 60  # how far back an open one may come from when its team abandons none


def user_email(name: str) -> str:
	return f"{name}@{DEMO_DOMAIN}"


def make_demo(opportunities: int = DOCUMENT_API_LIMIT, seed: int = 7) -> dict:
	started = time.monotonic()
	rng = random.Random(seed)
	frappe.flags.mute_emails = True
	set_site_locale()
	_make_users()
	teams = _make_teams()
	reasons = frappe.get_all("Pipeline Lost Reason", pluck="name") or ["Price"]
	existing = frappe.db.count("Pipeline Opportunity", {"team": ("in", [t["name"] for t in teams])})
	wanted = max(0, opportunities - existing)
	by_api = max(0, min(wanted, DOCUMENT_API_LIMIT - existing))
	contacts = _bulk_contacts(rng, max(wanted // 2, min(wanted, 50)))
	_opportunities_by_api(rng, teams, contacts, reasons, by_api)
	frappe.db.commit()
	_bulk_opportunities(rng, teams, contacts, reasons, wanted - by_api)
	for team in teams:  # bulk rows pass no document hook: boards read their columns again
		bump_board_versions(team["name"])
	frappe.db.commit()
	# last: once setup is complete Frappe makes the first new system user a System Manager
	skip_setup_wizard()
	total = frappe.db.count("Pipeline Opportunity")
	return {"created": wanted, "total": total, "seconds": round(time.monotonic() - started, 1)}


def set_site_locale() -> None:
	"""A bare-Frappe demo site in the teams' country, time zone and currency. On a site with ERPNext
	its setup wizard decides them (the company's country and currency)."""
	if "erpnext" in frappe.get_installed_apps():
		return
	settings = frappe.get_single("System Settings")
	settings.update(DEMO_LOCALE)
	settings.flags.ignore_mandatory = True
	settings.save(ignore_permissions=True)
	frappe.db.set_default("currency", DEMO_LOCALE["currency"])


def skip_setup_wizard() -> None:
	"""A demo (or test) site on bare Frappe opens the desk, not Frappe's setup wizard. On a site with
	ERPNext the wizard is left alone: ERPNext needs it to create its company."""
	if "erpnext" in frappe.get_installed_apps() or frappe.get_system_settings("setup_complete"):
		return
	frappe.db.set_single_value("System Settings", "setup_complete", 1)
	frappe.db.commit()


def _make_users():
	for name in (*SELLERS, "manager"):
		email = user_email(name)
		if not frappe.db.exists("User", email):
			user = frappe.get_doc(
				{
					"doctype": "User",
					"email": email,
					"first_name": name.title(),
					"send_welcome_email": 0,
					"user_type": "System User",
				}
			)
			user.flags.no_welcome_mail = True
			user.insert(ignore_permissions=True)
			user.add_roles("Pipeline Manager" if name == "manager" else "Pipeline User")
			update_password(email, DEMO_PASSWORD)


def _make_teams() -> list[dict]:
	teams = []
	for name, template, members, leads, amounts, currency, abandon_days in DEMO_TEAMS:
		if not frappe.db.exists("Pipeline Team", name):
			frappe.get_doc(
				{
					"doctype": "Pipeline Team",
					"team_name": name,
					"funnel_template": template,
					"deal_amount_enabled": amounts,
					"currency": currency,
					"abandon_after_days": abandon_days,
					"members": [
						{
							"user": user_email(member),
							"is_lead": int(member in leads),
							"booking_host": int(name == "Appointments"),
						}
						for member in members
					],
					**(DEMO_BOOKING if name == "Appointments" else {}),
				}
			).insert(ignore_permissions=True)
		teams.append(
			{
				"name": name,
				"stages": get_team_stages(name),
				"members": [user_email(m) for m in members],
				"amounts": amounts,
				"currency": currency,
				"abandon_days": frappe.db.get_value("Pipeline Team", name, "abandon_after_days") or 0,
			}
		)
	return teams


def _bulk_contacts(rng: random.Random, count: int) -> list[str]:
	now = now_datetime()
	start = frappe.db.count("Contact", {"email_id": ("like", f"%@customers.{DEMO_DOMAIN}")})
	contacts, emails = [], []
	for i in range(start, start + count):
		first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
		name = f"{first} {last} {i:06d}"
		email = f"{first.lower()}.{i}@customers.{DEMO_DOMAIN}".replace("ë", "e")
		phone = f"+3161{i:07d}"
		contacts.append(
			(
				name,
				first,
				f"{last} {i:06d}",
				f"{first} {last}",
				email,
				phone,
				"Passive",
				now,
				now,
				"Administrator",
				"Administrator",
			)
		)
		emails.append(
			(
				name,
				"Contact",
				"email_ids",
				1,
				email,
				1,
				now,
				now,
				"Administrator",
				"Administrator",
			)
		)
	insert_rows(
		"Contact",
		[
			"name",
			"first_name",
			"last_name",
			"full_name",
			"email_id",
			"mobile_no",
			"status",
			"creation",
			"modified",
			"owner",
			"modified_by",
		],
		contacts,
	)
	insert_rows(
		"Contact Email",
		[
			"name",
			"parent",
			"parenttype",
			"parentfield",
			"idx",
			"email_id",
			"is_primary",
			"creation",
			"modified",
			"owner",
			"modified_by",
		],
		[(name, *row) for name, row in zip(bulk_names(len(emails)), emails, strict=True)],
	)
	names = [row[0] for row in contacts]
	return names or frappe.get_all("Contact", pluck="name", limit=100)


def _pick_outcome(rng: random.Random, team: dict, reasons: list[str], now=None) -> dict:
	"""A consistent combination of stage, status and outcome fields."""
	stages = team["stages"]
	open_stages = [s for s in stages if s.stage_type == "Open"]
	roll = rng.random()
	outcome = {"lost_reason": None, "on_hold_until": None}
	if roll < 0.15 and any(s.stage_type == "Won" for s in stages):
		stage, status = next(s for s in stages if s.stage_type == "Won"), "Won"
	elif roll < 0.28 and any(s.stage_type == "Lost" for s in stages):
		stage, status = next(s for s in stages if s.stage_type == "Lost"), "Lost"
		outcome["lost_reason"] = rng.choice(reasons)
	elif roll < 0.33:
		stage, status = rng.choice(open_stages), "On Hold"
		outcome["on_hold_until"] = getdate(now) + timedelta(days=rng.randint(3, 60))
	elif roll < 0.38:
		stage, status = rng.choice(open_stages[:3]), "Abandoned"
	else:
		stage, status = rng.choice(open_stages), "Open"
	return {"stage": stage, "status": status, **outcome}


def _timeline(rng: random.Random, team: dict, status: str, now=None) -> tuple:
	"""When an opportunity of `status` came in and when it closed (None while it has not), so the
	demo's history reads as a year of work: closed ones came in over the past year and closed days
	or weeks later, never after now; open ones came in recently, on the hold ones a little earlier,
	and none has been silent longer than its team abandons after (the nightly job would close it)."""
	now, abandon_days = now or now_datetime(), team.get("abandon_days") or 0
	if status in ("Open", "On Hold"):
		days = (abandon_days or OPEN_DAYS) - 1 if status == "Open" else 120
		return now - timedelta(days=rng.randint(0, days), minutes=rng.randint(0, 600)), None
	created = now - timedelta(days=rng.randint(20, HISTORY_DAYS), minutes=rng.randint(0, 600))
	took = rng.randint(abandon_days + 1, abandon_days + 20) if status == "Abandoned" and abandon_days else 0
	closed = created + timedelta(days=took or rng.randint(1, 60), hours=rng.randint(0, 8))
	return created, min(closed, now - timedelta(hours=1))


def _base_values(rng: random.Random, team: dict, contact: str, now=None) -> dict:
	now = now or now_datetime()
	owner = rng.choice(team["members"]) if rng.random() > 0.2 else None
	return {
		"title": f"{rng.choice(SUBJECTS)} — {contact.rsplit(' ', 1)[0]}",
		"team": team["name"],
		"contact": contact,
		"opportunity_owner": owner,
		"amount": rng.randrange(500, 50_000, 50) if team["amounts"] else 0,
		"source": rng.choice(SOURCES),
		"interest": rng.choice(("Cold", "Warm", "Hot", None)),
		"follow_up_on": now + timedelta(days=rng.randint(-10, 14), hours=rng.randint(0, 8))
		if rng.random() < 0.6
		else None,
		"expected_close_date": getdate(now) + timedelta(days=rng.randint(5, 120)),
		"description": "Demo opportunity",
	}


def _opportunities_by_api(rng, teams, contacts, reasons, count: int):
	for i in range(count):
		team = teams[i % len(teams)]
		values = _base_values(rng, team, rng.choice(contacts))
		outcome = _pick_outcome(rng, team, reasons)
		created, closed = _timeline(rng, team, outcome["status"])
		if closed:
			values["expected_close_date"] = getdate(closed)
		began = now_datetime()
		doc = frappe.get_doc({"doctype": "Pipeline Opportunity", **values})
		first_open = next(s for s in team["stages"] if s.stage_type == "Open")
		doc.stage = first_open.name
		doc.insert(ignore_permissions=True)
		inserted = now_datetime()
		_make_its_history(rng, team, doc, outcome, first_open)
		worked_until = closed or add_to_date(created, seconds=rng.randint(0, _seconds_since(created)))
		if team["name"] == "Appointments":
			_appointment_for(rng, doc, (created, worked_until))
		_backdate(doc.name, (began, inserted, now_datetime()), (created, worked_until), closed)


def _make_its_history(rng, team, doc, outcome, first_open) -> None:
	"""Moves a new opportunity (in its team's first stage) to the stage and status of `outcome`."""
	if outcome["status"] == "Open" and outcome["stage"].name == first_open.name:
		return
	doc.stage = outcome["stage"].name
	doc.lost_reason = outcome["lost_reason"]
	if outcome["status"] in ("On Hold", "Abandoned"):
		doc.save(ignore_permissions=True)
		doc.status, doc.on_hold_until = outcome["status"], outcome["on_hold_until"]
	doc.save(ignore_permissions=True)


def _seconds_since(when) -> int:
	return max(0, int((now_datetime() - get_datetime(when)).total_seconds()))


# what else the document API wrote about an opportunity: (table, its link to the opportunity)
HISTORY_TABLES = (
	("Version", "ref_doctype = 'Pipeline Opportunity' and docname = %(name)s"),
	("Comment", "reference_doctype = 'Pipeline Opportunity' and reference_name = %(name)s"),
	("ToDo", "reference_type = 'Pipeline Opportunity' and reference_name = %(name)s"),
)


def _backdate(name: str, written: tuple, happened: tuple, closed) -> None:
	"""Moves what the document API wrote about opportunity `name` (inserted before `written[1]`,
	done by `written[2]`, from `written[0]`) into the demo's year: it came in at `happened[0]`, each
	later save of its history at even steps up to `happened[1]`, its closing at `closed`; stays end
	when the next begins; versions, comments and assignments keep their order within that span."""
	began, inserted, done = (get_datetime(t) for t in written)
	start, end = (get_datetime(t) for t in happened)
	rows = frappe.get_all(
		"Pipeline Stage Change",
		filters={"opportunity": name},
		fields=["name", "change_type", "to_value", "changed_on", "left_on"],
		order_by="changed_on asc, creation asc",
	)
	saves = sorted({row.changed_on for row in rows if row.changed_on > inserted})  # one time per save
	at = {
		when: add_to_date(start, seconds=(end - start).total_seconds() * i / len(saves))
		for i, when in enumerate(saves, 1)
	}
	status = frappe.db.get_value("Pipeline Opportunity", name, "status")
	closing = next((r for r in reversed(rows) if r.change_type == "Status" and r.to_value == status), None)
	stays = [row for row in rows if row.change_type == "Stage"]
	for row in rows:
		row.new = at.get(row.changed_on, start)
		if closed and (row is closing or row.new > closed):
			row.new = closed
	for row, following in zip(stays, [*stays[1:], None], strict=True):
		row.left = None if not row.left_on else (following.new if following else closed or end)
	for row in rows:
		frappe.db.set_value(
			"Pipeline Stage Change",
			row.name,
			{
				"changed_on": row.new,
				"left_on": getattr(row, "left", row.left_on),
				"creation": row.new,
				"modified": row.new,
			},
			update_modified=False,
		)
	frappe.db.sql(
		"""update `tabPipeline Opportunity` set creation = %(start)s, modified = %(end)s,
			closed_on = %(closed)s, last_activity_on = if(last_activity_on is null, null, %(end)s)
		where name = %(name)s""",
		{"name": name, "start": start, "end": end, "closed": closed},
	)
	span = max((done - began).total_seconds(), 1e-6)
	values = {
		"name": name,
		"t0": began,
		"start": start,
		"end": end,
		"k": (end - start).total_seconds() / span,
	}
	moved = ", ".join(
		f"`{column}` = least(%(end)s, timestampadd(microsecond,"
		f" round(timestampdiff(microsecond, %(t0)s, `{column}`) * %(k)s), %(start)s))"
		for column in ("creation", "modified")
	)
	for doctype, condition in HISTORY_TABLES:
		frappe.db.sql(f"update `tab{doctype}` set {moved} where {condition}", values)


def _appointment_for(rng, doc, worked: tuple):
	stage_name = frappe.db.get_value("Funnel Stage", doc.stage, "stage_name")
	status = {"No Show": "No Show", "Cancel": "Cancelled", "Won": "Completed"}.get(stage_name)
	if stage_name not in ("Call before intake", "Intake") and not status:
		return
	# one that happened (no show, cancelled, held) did so while its opportunity was worked on
	starts = (
		add_to_date(worked[0], seconds=rng.randint(0, int((worked[1] - worked[0]).total_seconds())))
		if status
		else add_to_date(now_datetime(), days=rng.randint(-5, 10), hours=rng.randint(1, 8))
	)
	appointment = frappe.get_doc(
		{
			"doctype": "Pipeline Appointment",
			"opportunity": doc.name,
			"starts_at": starts,
			"ends_at": add_to_date(starts, minutes=45),
			"status": status or "Scheduled",
			"host": doc.opportunity_owner,
		}
	)
	appointment.insert(ignore_permissions=True)


def _next_names(series: str, count: int) -> list[str]:
	current = frappe.db.get_value("Series", series, "current", order_by=None, for_update=True)
	if current is None:
		frappe.db.sql("insert into `tabSeries` (`name`, `current`) values (%s, 0)", series)
		current = 0
	frappe.db.sql("update `tabSeries` set `current` = %s where `name` = %s", (current + count, series))
	return [f"{series}{n:05d}" for n in range(current + 1, current + count + 1)]


OPPORTUNITY_COLUMNS = [
	"name",
	"title",
	"team",
	"contact",
	"contact_name",
	"contact_email",
	"stage",
	"status",
	"opportunity_owner",
	"amount",
	"currency",
	"deal_amount_enabled",
	"probability",
	"source",
	"interest",
	"follow_up_on",
	"expected_close_date",
	"description",
	"lost_reason",
	"on_hold_until",
	"closed_on",
	"weighted_amount",
	"board_rank",
	"stages_reached",
	"closed_from_stage",
	"creation",
	"modified",
	"owner",
	"modified_by",
]


def record_column_rows(rows) -> None:
	"""The column count rows the document API would have written for these opportunity rows."""
	column = {
		field: OPPORTUNITY_COLUMNS.index(field)
		for field in ("team", "stage", "status", "amount", "weighted_amount")
	}
	sums = defaultdict(lambda: [0, 0.0, 0.0])
	for row in rows:
		group = sums[(row[column["team"]], row[column["stage"]], row[column["status"]])]
		group[0] += 1
		group[1] += flt(row[column["amount"]])
		group[2] += flt(row[column["weighted_amount"]])
	insert_column_counts(sums)


def _bulk_opportunities(rng, teams, contacts, reasons, count: int, batch: int = 10_000):
	contact_info = (
		{
			c.name: c
			for c in frappe.get_all(
				"Contact",
				filters={"name": ("in", contacts[:50_000])},
				fields=["name", "full_name", "email_id"],
			)
		}
		if count
		else {}
	)
	done = 0
	while done < count:
		size = min(batch, count - done)
		names = _next_names("OPP-", size)
		rows, changes, now = [], [], now_datetime()
		for position, name in enumerate(names, start=done + 1):
			team = teams[rng.randrange(len(teams))]
			contact = contact_info.get(rng.choice(contacts)) or frappe._dict(
				name=None, full_name=None, email_id=None
			)
			values = _base_values(rng, team, contact.name or "Demo contact", now)
			outcome = _pick_outcome(rng, team, reasons, now)
			created, closed = _timeline(rng, team, outcome["status"], now)
			rows.append(
				(
					name,
					values["title"],
					team["name"],
					contact.name,
					contact.full_name,
					contact.email_id,
					outcome["stage"].name,
					outcome["status"],
					values["opportunity_owner"],
					values["amount"],
					team["currency"],
					team["amounts"],
					outcome["stage"].probability,
					values["source"],
					values["interest"],
					values["follow_up_on"],
					getdate(closed) if closed else values["expected_close_date"],
					values["description"],
					outcome["lost_reason"],
					outcome["on_hold_until"],
					closed,
					flt((values["amount"] or 0) * (outcome["stage"].probability or 0) / 100),
					position * RANK_GAP,
					*journey_values(outcome["stage"]),  # its history: one stage row, into its stage
					created,
					closed or created,
					"Administrator",
					"Administrator",
				)
			)
			# it came into its stage when it came in; its status is what its closing made it
			changes.append(
				(name, team["name"], "Stage", None, outcome["stage"].name, "Administrator", created)
			)
			changes.append(
				(name, team["name"], "Status", None, outcome["status"], "Administrator", closed or created)
			)
		insert_rows("Pipeline Opportunity", OPPORTUNITY_COLUMNS, rows)
		record_column_rows(rows)
		record_assignments(rows)
		insert_stage_changes(changes)
		end_stays_at_closing(names)  # a closed one's stay ended when it closed, as a save records it
		frappe.db.commit()
		done += size


def record_assignments(rows) -> None:
	"""What the document API leaves of the owner's assignment (pipeline_app.assignments) for these
	opportunity rows, as if each came in open at its creation and closed at its closing: the owner's
	ToDo (closed with the opportunity), the opportunity's `_assign`, the timeline's "assigned" and
	"assignment completed" comments and the owner's notifications. Done as the current user, who made
	the rows."""
	column = {field: OPPORTUNITY_COLUMNS.index(field) for field in OPPORTUNITY_COLUMNS}
	by, by_name = frappe.session.user, get_fullname(frappe.session.user)
	todos, comments, notifications, assigned = [], [], [], defaultdict(list)
	owners = {row[column["opportunity_owner"]] for row in rows} - {None}
	languages = dict(frappe.get_all("User", {"name": ("in", owners)}, ["name", "language"], as_list=True))
	for row in rows:
		owner = row[column["opportunity_owner"]]
		if not owner:
			continue
		name, title, created = row[column["name"]], row[column["title"]], row[column["creation"]]
		closed = row[column["status"]] in CLOSED_STATUSES and row[column["closed_on"]]
		description = escape_html(title)
		follow_up = row[column["follow_up_on"]]
		lang = languages.get(owner)
		todos.append(
			(
				"Closed" if closed else "Open",
				"Medium",
				getdate(follow_up) if follow_up else None,
				owner,
				description,
				DOCTYPE,
				name,
				by,
				by_name,
				created,
				closed or created,
				by,
				by,
			)
		)
		comments.append(
			_comment(
				name,
				"Assigned",
				_(ASSIGNED).format(by_name, get_fullname(owner), description),
				created,
			)
		)
		notifications.append(
			_notification(
				owner,
				name,
				_(ASSIGNED_TO_YOU, lang=lang).format(
					frappe.bold(by_name), frappe.bold(_(DOCTYPE, lang=lang)), get_title_html(title)
				),
				f"<div>{description}</div>",
				created,
			)
		)
		if closed:
			comments.append(
				_comment(
					name,
					"Assignment Completed",
					_(ASSIGNMENT_REMOVED).format(get_fullname(owner), by_name),
					closed,
				)
			)
			notifications.append(
				_notification(
					owner,
					name,
					_(REMOVED_FROM_YOU, lang=lang).format(
						frappe.bold(_(DOCTYPE)), get_title_html(title), frappe.bold(by_name)
					),
					None,
					closed,
				)
			)
		assigned["" if closed else json.dumps([owner])].append(name)  # ToDo.update_in_reference
	for doctype, columns, values in (
		("ToDo", TODO_COLUMNS, todos),
		("Comment", COMMENT_COLUMNS, comments),
		("Notification Log", NOTIFICATION_COLUMNS, notifications),
	):
		names = bulk_names(len(values))
		insert_rows(doctype, columns, [(name, *row) for name, row in zip(names, values, strict=True)])
	opportunity = frappe.qb.DocType(DOCTYPE)
	for value, names in assigned.items():
		frappe.qb.update(opportunity).set(opportunity._assign, value).where(
			opportunity.name.isin(names)
		).run()


DOCTYPE = "Pipeline Opportunity"
# Frappe's own messages (ToDo's timeline comments, assign_to's notifications), in Frappe's translations
ASSIGNED = "{0} assigned {1}: {2}"
ASSIGNMENT_REMOVED = "Assignment of {0} removed by {1}"
ASSIGNED_TO_YOU = "{0} assigned a new task {1} {2} to you"
REMOVED_FROM_YOU = "Your assignment on {0} {1} has been removed by {2}"
TODO_COLUMNS = (
	"name",
	"status",
	"priority",
	"date",
	"allocated_to",
	"description",
	"reference_type",
	"reference_name",
	"assigned_by",
	"assigned_by_full_name",
	"creation",
	"modified",
	"owner",
	"modified_by",
)
NOTIFICATION_COLUMNS = (
	"name",
	"subject",
	"for_user",
	"type",
	"email_content",
	"document_type",
	"document_name",
	"from_user",
	"creation",
	"modified",
	"owner",
	"modified_by",
)


def _comment(name: str, comment_type: str, content: str, when) -> tuple:
	by = frappe.session.user
	return (comment_type, by, DOCTYPE, name, content, when, when, by, by)


def _notification(user: str, name: str, subject: str, content: str | None, when) -> tuple:
	by = frappe.session.user
	return (
		subject,
		user,
		"Assignment",
		content,
		DOCTYPE,
		name,
		by,
		when,
		when,
		by,
		by,
	)
