"""Takes the README's screenshots of a demo site served at --url (Debian's Chromium, headless):
the board with a card in its abandonment warning window, the Abandonment Preview, Forecast and Win
Loss reports, a digest in the desk, the stage gates, the board on a phone (390 by 844), the booking
page and the appointment calendar, and a host's appointment reminder in the desk's bell. It runs the
warning step, one digest and one reminder on the site first, so run it on a demo site (`scripts/demo`
or the benchmark's), not on one with real data.

Run with the bench's Python from the bench's sites directory (`--only reminder booking` takes just those):
    ../env/bin/python ../apps/pipeline_app/docs/screenshots.py --site pipeline.localhost --url http://pipeline.localhost:8000
"""

import argparse
import os
import shutil

import frappe

DOCS = os.path.dirname(os.path.abspath(__file__))
# the groups of shots, in the order they are taken (--only picks some)
GROUPS = ("pages", "gates", "phone", "booking", "reminder")
CHROMIUM = os.environ.get("PIPELINE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def prepare() -> str:
	"""The warning window marked in every team that abandons, and one digest for a seller."""
	from frappe.utils import add_days, now_datetime

	from pipeline_app.automation.abandonment import warn_team
	from pipeline_app.automation.digests import Follows, News, send_digest

	for team in frappe.get_all(
		"Pipeline Team", {"abandon_after_days": (">", 0)}, ["name", "abandon_after_days"]
	):
		warn_team(team.name, team.abandon_after_days, 3)
	user = "anna@demo.pipeline.test"
	frappe.db.delete("Pipeline Digest", {"user": user})
	now = add_days(now_datetime(), 0)
	follows = Follows.load([user])
	news = News.load(now, [user], follows, 7)
	send_digest(user, "Weekly", now, follows, news)
	frappe.db.commit()
	return frappe.get_all("Pipeline Digest", {"user": user}, pluck="name")[0]


def logged_in(browser, args, seller: str, viewport=(1440, 900), **options):
	"""A new browser context (1440 by 900 unless told, `options` to Playwright's new_context) logged
	in as the demo user `seller`, and its page."""
	context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, **options)
	page = context.new_page()
	page.goto(args.url + "/login")
	page.evaluate(
		"""([usr, pwd]) => fetch('/api/method/login', {method: 'POST',
			headers: {'Content-Type': 'application/json', Accept: 'application/json'},
			body: JSON.stringify({usr, pwd})})""",
		[f"{seller}@demo.pipeline.test", args.password],
	)
	return context, page


def gate_shots(browser, args) -> None:
	"""The stage gates on the Deals board: the stages a dragged card may not enter shown closed, and
	the dialog asking for a required field on the drop. The gates and the card are removed after."""
	team = "Deals"

	def stage_named(name):
		return frappe.db.get_value("Funnel Stage", {"team": team, "stage_name": name})

	first, approval = stage_named("New Deal"), stage_named("Awaiting Final Approval")
	saved = {
		name: frappe.db.get_value(
			"Funnel Stage", name, ["required_fields", "allowed_next_stages"], as_dict=True
		)
		for name in (first, approval)
	}
	frappe.db.set_value("Funnel Stage", first, "allowed_next_stages", "Awaiting Final Approval\nDeal Lost")
	frappe.db.set_value("Funnel Stage", approval, "required_fields", "expected_close_date")
	doc = frappe.get_doc(
		{
			"doctype": "Pipeline Opportunity",
			"team": team,
			"title": "Gated deal",
			"stage": first,
			"amount": 4800,
		}
	).insert()
	frappe.db.commit()
	try:
		context, page = logged_in(browser, args, "carla")
		page.goto(args.url + f"/app/pipeline-board?team={team}&q=Gated")
		card = page.locator(f'.pb-card[data-name="{doc.name}"]')
		card.wait_for(timeout=60000)
		page.wait_for_timeout(1000)
		card.hover()
		page.mouse.down()
		box = page.locator(f'.pb-column[data-stage="{approval}"]').bounding_box()
		page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 120, steps=8)
		page.wait_for_timeout(300)
		page.screenshot(path=os.path.join(DOCS, "stage-gates-drag.png"))
		page.mouse.up()
		page.locator(".pb-gate-dialog.modal.show").wait_for(timeout=20000)
		page.wait_for_timeout(500)
		page.screenshot(path=os.path.join(DOCS, "stage-gates-dialog.png"))
		print("wrote stage-gates-drag.png, stage-gates-dialog.png")
		context.close()
	finally:
		frappe.db.rollback()
		frappe.delete_doc("Pipeline Opportunity", doc.name, force=True)
		for name, values in saved.items():
			frappe.db.set_value("Funnel Stage", name, values)
		frappe.db.commit()


def phone_shots(browser, args) -> None:
	"""The Deals board on a phone (390 by 844, touch, at twice the pixels): its first screen with the
	filters folded and the stage names above the snapping columns, the filters opened with one set,
	and a card's panel with Move to..."""
	context, page = logged_in(
		browser, args, "carla", viewport=(390, 844), device_scale_factor=2, is_mobile=True, has_touch=True
	)
	page.goto(args.url + "/app/pipeline-board?team=Deals")
	page.locator(".pb-card").first.wait_for(timeout=60000)
	page.wait_for_timeout(1500)
	page.screenshot(path=os.path.join(DOCS, "board-phone.png"))
	page.locator(".pb-filters-toggle").tap()
	page.locator(".pb-filter-owner select").select_option("me")
	page.locator(".pb-filters-count", has_text="1").wait_for(timeout=20000)
	page.wait_for_timeout(800)
	page.screenshot(path=os.path.join(DOCS, "board-phone-filters.png"))
	page.locator(".pb-filters-toggle").tap()
	page.locator(".pb-card").first.tap()
	page.locator(".pb-panel .pb-panel-outcome[data-loaded]").wait_for(timeout=20000)
	page.wait_for_timeout(500)
	page.screenshot(path=os.path.join(DOCS, "board-phone-move-to.png"))
	print("wrote board-phone.png, board-phone-filters.png, board-phone-move-to.png")
	context.close()


def booking_shots(browser, args) -> None:
	"""The Appointments team's public booking page as a visitor sees it (a slot picked, the form
	open), and the appointments in the desk's Calendar view (week)."""
	from pipeline_app.demo import DEMO_BOOKING

	team = frappe.get_doc("Pipeline Team", "Appointments")
	if not team.booking_enabled:  # a demo made before the booking page
		team.update(DEMO_BOOKING)
		for member in team.members:
			member.booking_host = 1
		team.save(ignore_permissions=True)
		frappe.db.commit()
	context = browser.new_context(viewport={"width": 1100, "height": 900})
	page = context.new_page()
	page.goto(f"{args.url}/book/{team.booking_route}")
	page.locator(".pipeline-booking-slot").nth(3).click()
	page.locator(".pipeline-booking-form").wait_for(timeout=30000)
	page.fill("#pb-first", "Sanne")
	page.fill("#pb-email", "sanne@example.test")
	page.wait_for_timeout(800)
	page.screenshot(path=os.path.join(DOCS, "booking-page.png"), full_page=True)
	context.close()
	context, page = logged_in(browser, args, "anna")
	page.goto(args.url + "/app/pipeline-appointment/view/calendar/default")
	page.locator(".fc-event").first.wait_for(timeout=60000)
	page.wait_for_timeout(1500)
	page.screenshot(path=os.path.join(DOCS, "appointment-calendar.png"))
	print("wrote booking-page.png, appointment-calendar.png")
	context.close()


def reminder_shots(browser, args) -> None:
	"""The host's reminder in the desk's bell: an appointment of the Appointments team in 45 minutes,
	hosted by Anna, reminded by the five-minute job's host step (automation/reminders.py)."""
	from frappe.utils import add_to_date, now_datetime

	from pipeline_app.automation.reminders import remind_hosts

	host = "anna@demo.pipeline.test"
	team = frappe.db.get_value(
		"Pipeline Team", "Appointments", ["name", "host_reminder_minutes"], as_dict=True
	)
	opportunity = frappe.get_all(
		"Pipeline Opportunity",
		filters={"team": team.name, "status": "Open", "contact": ("is", "set")},
		pluck="name",
		order_by="creation asc",
		limit=1,
	)[0]
	starts_at = add_to_date(now_datetime(), minutes=45).replace(second=0, microsecond=0)
	frappe.get_doc(
		{
			"doctype": "Pipeline Appointment",
			"opportunity": opportunity,
			"host": host,
			"starts_at": starts_at,
			"ends_at": add_to_date(starts_at, minutes=30),
		}
	).insert(ignore_permissions=True)
	frappe.db.commit()
	team.host_reminder_minutes = team.host_reminder_minutes or 60
	remind_hosts(team, now_datetime())
	context, page = logged_in(browser, args, "anna", viewport=(1280, 720))
	page.goto(args.url + "/app/pipeline-appointment?status=Scheduled")
	page.locator(".dropdown-notifications .notifications-icon").click()
	page.locator(".notifications-list .notification-item", has_text="Appointment at").first.wait_for(
		timeout=30000
	)
	page.mouse.move(400, 500)  # no tooltip over the bell
	page.wait_for_timeout(800)
	page.screenshot(path=os.path.join(DOCS, "reminder.png"))
	print("wrote reminder.png")
	context.close()


def page_shots(browser, args) -> None:
	"""The board in the warning window, the reports and a digest (prepared first)."""
	digest = prepare()

	shots = [
		("anna", "/app/pipeline-board?team=Appointments", ".pb-chip-abandon", "abandonment-warning.png"),
		(
			"manager",
			"/app/query-report/Pipeline Abandonment Preview?team=Appointments",
			".dt-row",
			"abandonment-preview.png",
		),
		("manager", "/app/query-report/Pipeline Forecast?team=Deals", ".dt-row", "forecast-report.png"),
		(
			"manager",
			"/app/query-report/Pipeline Win Loss?team=Deals&group_by=Owner",
			".dt-row",
			"win-loss-report.png",
		),
		("anna", f"/app/pipeline-digest/{digest}", ".frappe-control[data-fieldname=content]", "digest.png"),
	]
	for user, path, ready, filename in shots:
		context, page = logged_in(browser, args, user)
		page.goto(args.url + path)
		page.wait_for_selector(ready, timeout=60000)
		page.locator(ready).first.scroll_into_view_if_needed()
		page.wait_for_timeout(1500)  # charts and fonts settle
		page.screenshot(path=os.path.join(DOCS, filename))
		print("wrote", filename)
		context.close()


def main() -> None:
	parser = argparse.ArgumentParser()
	parser.add_argument("--site", default="pipeline.localhost")
	parser.add_argument("--url", default="http://pipeline.localhost:8000")
	parser.add_argument("--password", default="demo-pipeline")
	parser.add_argument("--only", nargs="+", choices=GROUPS, help="take only these groups of shots")
	args = parser.parse_args()
	groups = args.only or GROUPS
	frappe.init(site=args.site, sites_path=".")
	frappe.connect()
	from playwright.sync_api import sync_playwright

	with sync_playwright() as playwright:
		browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
		for group, take in (
			("pages", page_shots),
			("gates", gate_shots),
			("phone", phone_shots),
			("booking", booking_shots),
			("reminder", reminder_shots),
		):
			if group in groups:
				take(browser, args)
		browser.close()


if __name__ == "__main__":
	main()
