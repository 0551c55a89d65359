"""The Pipeline Board on a phone (390 by 844, touch), in Debian's Chromium driven by Playwright
against the running bench: the filters fold behind a button counting them, the columns snap one per
screen width under a strip of their names, and the card panel's Move to... moves a card without a
drag, through the same path as a drop (the Lost reason, the gates' required fields, the 409)."""

import time
from urllib.parse import parse_qs, urlparse

import frappe
import pytest
from frappe.utils import random_string

from pipeline_app.demo import skip_setup_wizard
from pipeline_app.tests.browser import browser, logged_in_page
from pipeline_app.tests.factories import (
	make_opportunity,
	make_team,
	make_user,
	purge_team,
	set_gate,
	stage_named,
)

pytestmark = pytest.mark.browser

PHONE = (390, 844)
TOUCH_TARGET = 40  # px, the least a thumb taps reliably
REALTIME_SECONDS = 2.0


@pytest.fixture(scope="module")
def world():
	"""Committed data (the web server is another process), removed at the end."""
	skip_setup_wizard()
	suffix = random_string(5).lower()
	alice = make_user(f"alice.phone.{suffix}@pipeline.test")
	bob = make_user(f"bob.phone.{suffix}@pipeline.test")
	team = make_team(f"Phone {suffix}", members=[alice, bob], deal_amount_enabled=1).name
	frappe.db.commit()
	data = frappe._dict(alice=alice, bob=bob, team=team, extra_teams=[])
	yield data
	frappe.set_user("Administrator")
	purge_team(team, *data.extra_teams)


@pytest.fixture
def open_board(browser):  # noqa: F811 (the browser fixture)
	"""Opens the board of `team` as `user`, on a phone unless `phone` is false (a wide screen)."""
	contexts = []

	def open_board(user: str, team: str, query: str = "", phone: bool = True):
		options = {"viewport": PHONE, "has_touch": True, "is_mobile": True} if phone else {}
		page = logged_in_page(browser, user, f"/app/pipeline-board?team={team}{query}", **options)
		contexts.append(page.context)
		page.wait_for_selector(".pb-column", timeout=30000)
		page.wait_for_function("frappe.realtime.socket && frappe.realtime.socket.connected", timeout=15000)
		page.wait_for_function(
			"document.querySelector('.pipeline-board').getAttribute('aria-busy') === 'false'"
		)
		return page

	yield open_board
	for context in contexts:
		context.close()


def committed_opportunity(team, **fields):
	doc = make_opportunity(team, **fields)
	frappe.db.commit()
	return doc


def fresh(name, *fields):
	frappe.db.rollback()  # see what the web server committed
	return frappe.db.get_value("Pipeline Opportunity", name, list(fields) or ["stage"], as_dict=True)


def wait_until(predicate, timeout=10.0):
	end = time.monotonic() + timeout
	while time.monotonic() < end:
		if predicate():
			return True
		time.sleep(0.1)
	return False


def card(page, name, stage=None):
	scope = f'.pb-column[data-stage="{stage}"] ' if stage else ""
	return page.locator(f'{scope}.pb-card[data-name="{name}"]')


def column(page, stage):
	return page.locator(f'.pb-column[data-stage="{stage}"]')


def tab(page, stage):
	return page.locator(f'.pb-stage-tab[data-stage="{stage}"]')


def column_in_view(page, stage) -> bool:
	"""Whether `stage`'s column is the one the board shows: its edges on the board's (1 px)."""
	return page.evaluate(
		"""(stage) => {
			const scroller = document.querySelector('.pb-columns').getBoundingClientRect();
			const box = document.querySelector(`.pb-column[data-stage="${CSS.escape(stage)}"]`)
				.getBoundingClientRect();
			return Math.abs(box.left - scroller.left) <= 1 && Math.abs(box.right - scroller.right) <= 1;
		}""",
		stage,
	)


def wait_in_view(page, stage, timeout=5000):
	page.wait_for_function(
		"""(stage) => {
			const scroller = document.querySelector('.pb-columns').getBoundingClientRect();
			const box = document.querySelector(`.pb-column[data-stage="${CSS.escape(stage)}"]`)
				.getBoundingClientRect();
			return Math.abs(box.left - scroller.left) <= 1 && Math.abs(box.right - scroller.right) <= 1;
		}""",
		arg=stage,
		timeout=timeout,
	)


def small_targets(page, selector):
	"""The visible elements of `selector` smaller than a thumb's target, with their sizes."""
	return page.locator(selector).evaluate_all(
		"""(elements, least) => elements
			.filter((el) => el.offsetParent !== null)
			.map((el) => [el.className || el.tagName, el.getBoundingClientRect()])
			.filter(([, box]) => box.width < least || box.height < least)
			.map(([name, box]) => `${name}: ${Math.round(box.width)} x ${Math.round(box.height)}`)""",
		TOUCH_TARGET,
	)


def test_filters_fold_behind_a_button_that_counts_them_and_the_first_column_is_on_the_first_screen(
	world, open_board
):
	mine = committed_opportunity(world.team, title="Alice's web lead", opportunity_owner=world.alice)
	theirs = committed_opportunity(world.team, title="Bob's lead", opportunity_owner=world.bob)
	page = open_board(world.alice, world.team)
	toggle = page.locator(".pb-filters-toggle")
	count = toggle.locator(".pb-filters-count")
	assert toggle.is_visible() and not count.is_visible()
	assert toggle.get_attribute("aria-expanded") == "false"
	for key in ("owner", "status", "follow_up", "source", "interest", "q", "view"):
		assert not page.locator(f".pb-filter-{key}").is_visible(), key
	assert page.locator(".pb-filter-team select").is_visible()  # the team stays at hand

	first = page.locator(".pb-column").first
	box = first.bounding_box()
	print(f"first column at {box['y']:.0f} px of {PHONE[1]}")
	assert box["y"] < PHONE[1]
	assert box["y"] + box["height"] <= PHONE[1]  # and fills the rest of it: no page to scroll
	assert box["height"] > PHONE[1] / 2
	assert abs(box["x"] - page.locator(".pb-columns").bounding_box()["x"]) <= 1

	# opened, the controls show below the button; setting a filter counts it
	toggle.tap()
	assert toggle.get_attribute("aria-expanded") == "true"
	page.locator(".pb-filter-owner select").select_option("me")
	count.filter(has_text="1").wait_for()
	card(page, theirs.name).wait_for(state="detached")
	assert card(page, mine.name).count() == 1
	page.locator(".pb-filter-status select").select_option("Open")
	count.filter(has_text="2").wait_for()
	assert toggle.get_attribute("aria-label") == "Filters, 2 active"
	query = parse_qs(urlparse(page.url).query)
	assert (query["owner"], query["status"]) == (["me"], ["Open"])  # the count is what the URL holds
	toggle.tap()
	assert not page.locator(".pb-filter-owner").is_visible()

	# from the URL: folded, counted
	page.reload()
	page.wait_for_selector(".pb-column")
	count.filter(has_text="2").wait_for()
	assert not page.locator(".pb-filter-owner").is_visible()
	toggle.tap()
	page.locator(".pb-filter-owner select").select_option("")
	count.filter(has_text="1").wait_for()
	page.locator(".pb-filter-status select").select_option("")
	count.wait_for(state="hidden")
	card(page, theirs.name).wait_for()
	assert not page.errors, page.errors


def test_columns_snap_one_per_screen_width_under_their_names(world, open_board):
	new, qualification = stage_named(world.team, "New"), stage_named(world.team, "Qualification")
	proposal = stage_named(world.team, "Proposal")
	doc = committed_opportunity(world.team, title="Qualified lead", stage=qualification)
	page = open_board(world.alice, world.team)
	scroller = page.locator(".pb-columns").bounding_box()
	assert abs(scroller["width"] - column(page, new).bounding_box()["width"]) <= 1  # one per screen
	assert column_in_view(page, new) and not column_in_view(page, qualification)
	assert tab(page, new).get_attribute("aria-current") == "true"
	# every column's name in the strip, with the column's count
	for stage in page.locator(".pb-column").evaluate_all("cols => cols.map(c => c.dataset.stage)"):
		assert tab(page, stage).locator(".pb-count").inner_text() == (
			column(page, stage).locator(".pb-column-header .pb-count").inner_text()
		)
	assert tab(page, qualification).inner_text().split() == ["Qualification", "1"]

	# a name scrolls its column into the screen
	tab(page, qualification).tap()
	wait_in_view(page, qualification)
	assert card(page, doc.name, qualification).is_visible()
	assert tab(page, qualification).get_attribute("aria-current") == "true"
	assert tab(page, new).get_attribute("aria-current") is None

	# a swipe of 230 px over the cards ends on the next column, not where it stopped. Headless
	# Chromium scrolls nothing for synthesized touch swipes here, so the swipe is the wheel's
	# (gestureSourceType mouse): scroll snapping treats every user scroll alike.
	cdp = page.context.new_cdp_session(page)

	def swipe(distance):
		cdp.send(
			"Input.synthesizeScrollGesture",
			{
				"x": 200,
				"y": int(scroller["y"]) + 200,
				"xDistance": -distance,
				"yDistance": 0,
				"gestureSourceType": "mouse",
				"speed": 600,
			},
		)

	swipe(230)
	wait_in_view(page, proposal)
	page.wait_for_timeout(400)  # the snap has settled: still there
	assert column_in_view(page, proposal)
	assert tab(page, proposal).get_attribute("aria-current") == "true"

	# a short swipe back ends on a whole column too, never across two
	swipe(-60)
	page.wait_for_timeout(800)
	assert column_in_view(page, proposal) or column_in_view(page, qualification)
	shown = proposal if column_in_view(page, proposal) else qualification
	assert tab(page, shown).get_attribute("aria-current") == "true"
	assert not page.errors, page.errors


def test_move_to_moves_a_card_without_a_drag_and_another_board_sees_it(world, open_board):
	doc = committed_opportunity(world.team, title="Moved by thumb")
	new, proposal = stage_named(world.team, "New"), stage_named(world.team, "Proposal")
	bob = open_board(world.bob, world.team, phone=False)  # another board, on a desk
	card(bob, doc.name, new).wait_for()
	alice = open_board(world.alice, world.team)
	card(alice, doc.name, new).tap()
	panel = alice.locator(".pb-panel")
	panel.wait_for()
	assert panel.bounding_box()["width"] == PHONE[0]  # the panel takes the screen
	move_to = panel.locator(".pb-control-stage select")
	options = move_to.locator("option").evaluate_all(
		"options => options.map(o => [o.value, o.disabled, o.parentElement.label || ''])"
	)
	here = [value for value, disabled, _group in options if disabled]
	assert here == [new]  # the card's own stage cannot be chosen
	assert [group for value, _disabled, group in options if value == stage_named(world.team, "Won")] == [
		"Outcomes"
	]
	move_to.select_option(proposal)
	assert wait_until(lambda: fresh(doc.name).stage == proposal)
	started = time.monotonic()
	card(bob, doc.name, proposal).wait_for(timeout=REALTIME_SECONDS * 1000)
	print(f"moved card appeared on the other board after {time.monotonic() - started:.2f} s")
	assert card(bob, doc.name, new).count() == 0
	assert bob.locator(f'.pb-column[data-stage="{proposal}"] .pb-count').inner_text() == "1"
	# the panel shows where it is now and offers the move again; behind it, the card's column
	panel.locator(".pb-panel-status", has_text="Proposal").wait_for()
	assert move_to.input_value() == ""
	panel.locator(".pb-panel-close").tap()
	wait_in_view(alice, proposal)
	assert card(alice, doc.name, proposal).is_visible()
	assert tab(alice, proposal).locator(".pb-count").inner_text() == "1"
	assert not alice.errors and not bob.errors, alice.errors + bob.errors


def test_move_to_asks_for_a_gate_s_required_fields_as_a_drop_does(world, open_board):
	team = make_team(f"Gated phone {random_string(5)}", members=[world.alice], deal_amount_enabled=1).name
	world.extra_teams.append(team)
	set_gate(team, "Qualification", allowed_next_stages="Proposal\nLost")
	proposal = set_gate(team, "Proposal", required_fields="amount")
	qualification, closing = stage_named(team, "Qualification"), stage_named(team, "Closing")
	frappe.db.commit()
	doc = committed_opportunity(team, title="Gated on the phone", stage=qualification)
	page = open_board(world.alice, team)
	tab(page, qualification).tap()
	card(page, doc.name, qualification).tap()
	move_to = page.locator(".pb-panel .pb-control-stage select")
	closed = move_to.locator(f'option[value="{closing}"]')
	assert closed.evaluate("o => o.disabled")  # as a drag shows Closing closed
	assert "not allowed" in closed.inner_text()
	assert not move_to.locator(f'option[value="{proposal}"]').evaluate("o => o.disabled")

	# the dialog asks for the amount; closed, nothing moves
	move_to.select_option(proposal)
	dialog = page.locator(".pb-gate-dialog.modal.show")
	dialog.wait_for()
	assert "Move to Proposal" in dialog.locator(".modal-title").inner_text()
	dialog.locator(".btn-modal-close").first.tap()
	dialog.wait_for(state="hidden")
	page.wait_for_timeout(300)
	assert fresh(doc.name, "stage", "amount") == {"stage": qualification, "amount": 0}
	assert card(page, doc.name, qualification).count() == 1
	assert move_to.input_value() == ""

	# answered, the card moves with it
	move_to.select_option(proposal)
	dialog.wait_for()
	dialog.locator('input[data-fieldname="amount"]').fill("1200")
	dialog.locator(".btn-primary").tap()
	assert wait_until(lambda: fresh(doc.name, "stage", "amount") == {"stage": proposal, "amount": 1200})
	card(page, doc.name, proposal).wait_for(state="attached")
	assert not page.errors, page.errors


def test_a_move_to_over_someone_else_s_change_shows_where_the_card_really_is(world, open_board):
	doc = committed_opportunity(world.team, title="Contested on the phone")
	new, qualification = stage_named(world.team, "New"), stage_named(world.team, "Qualification")
	closing = stage_named(world.team, "Closing")
	page = open_board(world.alice, world.team)
	page.evaluate("frappe.realtime.socket.disconnect()")  # this board misses the next change
	moved = frappe.get_doc("Pipeline Opportunity", doc.name)
	moved.stage = qualification
	moved.save(ignore_permissions=True)
	frappe.db.commit()
	card(page, doc.name, new).tap()
	page.locator(".pb-panel .pb-control-stage select").select_option(closing)
	page.get_by_text("Changed by someone else").wait_for()
	assert fresh(doc.name).stage == qualification  # nothing written
	card(page, doc.name, qualification).wait_for(state="attached")  # shown where it really is
	assert not page.errors, page.errors


def test_quick_controls_are_thumb_sized(world, open_board):
	doc = committed_opportunity(world.team, title="Thumb sized")
	page = open_board(world.alice, world.team)
	toolbar = ".pb-filters-toggle, .pb-filter-team select, .pb-stage-tab, .page-actions .btn:visible"
	assert not small_targets(page, toolbar), small_targets(page, toolbar)
	page.locator(".pb-filters-toggle").tap()
	controls = ".page-form.pb-toolbar select, .page-form.pb-toolbar input"
	assert page.locator(controls).count() >= 7
	assert not small_targets(page, controls), small_targets(page, controls)
	page.locator(".pb-filters-toggle").tap()
	card(page, doc.name).tap()
	panel = page.locator(".pb-panel")
	panel.locator(".pb-panel-outcome[data-loaded] button").first.wait_for()
	quick = ".pb-panel button, .pb-panel select, .pb-panel input, .pb-panel textarea, .pb-panel a.btn"
	assert panel.locator("button, select, input").count() >= 10
	assert not small_targets(page, quick), small_targets(page, quick)


def test_move_to_in_the_panel_on_a_wide_screen(world, open_board):
	doc = committed_opportunity(world.team, title="Moved from the desk panel")
	qualification, lost = stage_named(world.team, "Qualification"), stage_named(world.team, "Lost")
	page = open_board(world.alice, world.team, phone=False)
	# the phone's controls stay hidden on a wide screen; the filters show as before
	assert not page.locator(".pb-filters-toggle").is_visible()
	assert not page.locator(".pb-stage-strip").is_visible()
	assert page.locator(".pb-filter-owner select").is_visible()
	card(page, doc.name).click()
	move_to = page.locator(".pb-panel .pb-control-stage select")
	assert page.locator(".pb-panel .pb-control-stage .control-label").inner_text() == "Move to…"
	move_to.select_option(qualification)
	card(page, doc.name, qualification).wait_for()
	assert wait_until(lambda: fresh(doc.name).stage == qualification)
	# a Lost stage asks for the reason first, as a drop on it does
	move_to.select_option(lost)
	dialog = page.locator(".modal.show")
	reason = frappe.get_all("Pipeline Lost Reason", pluck="name", limit=1)[0]
	dialog.locator('input[data-fieldname="lost_reason"]').fill(reason)
	dialog.locator(".modal-title").click()  # closes the link field's suggestions
	dialog.locator(".btn-primary").click()
	assert wait_until(lambda: fresh(doc.name, "status").status == "Lost")
	assert fresh(doc.name, "stage", "lost_reason") == {"stage": lost, "lost_reason": reason}
	card(page, doc.name, lost).wait_for()
	assert not page.errors, page.errors
