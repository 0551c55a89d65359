"""Card layout per team and the mandatory quick-edit dialog in a real browser (issue 14): an
administrator puts custom fields on a team's card from the team's form; the board shows them as the
desk formats them (currency, date, checkbox, a link's title) and escaped; a seller edits one from
the card panel and the administrator's board follows by realtime. A quick edit or a move that leaves
a mandatory field empty asks for it in a dialog and saves with it."""

import frappe
import pytest
from frappe.custom.doctype.property_setter.property_setter import make_property_setter
from frappe.utils import random_string

from pipeline_app.demo import skip_setup_wizard
from pipeline_app.tests.browser import browser, logged_in_page
from pipeline_app.tests.factories import make_opportunity, make_team, make_user, purge_team, stage_named
from pipeline_app.tests.test_board_browser import REALTIME_SECONDS, card, fresh, wait_until
from pipeline_app.tests.test_doctype_filters import add_custom_field, remove_custom_field

pytestmark = pytest.mark.browser

HOSTILE = "<img src=x onerror=window.__xss=1>"


@pytest.fixture
def pages(browser):  # noqa: F811 (the browser fixture)
	opened = []

	def open_page(user: str, path: str):
		page = logged_in_page(browser, user, path)
		opened.append(page)
		return page

	yield open_page
	for page in opened:
		page.context.close()


def open_board(open_page, user: str, team: str):
	page = open_page(user, f"/app/pipeline-board?team={team}")
	page.wait_for_selector(".pb-column", timeout=30000)
	page.wait_for_function("frappe.realtime.socket && frappe.realtime.socket.connected", timeout=15000)
	return page


def test_an_administrator_puts_custom_fields_on_the_card_and_a_seller_edits_one(pages):
	skip_setup_wizard()
	suffix = random_string(5).lower()
	value, signed, vip, note, reviewer = (
		f"{name}_{suffix}" for name in ("deal_value", "signed_on", "vip", "note", "reviewer")
	)
	admin = make_user(roles=("Pipeline User", "Pipeline Manager", "System Manager"))
	seller = make_user()
	# a currency of its own: an empty one is formatted with the site's default, which differs by site
	team = make_team(f"Card layout {suffix}", members=[seller], deal_amount_enabled=1, currency="EUR").name
	try:
		add_custom_field(value, fieldtype="Currency", options="currency", in_standard_filter=0)
		add_custom_field(signed, fieldtype="Date", in_standard_filter=0)
		add_custom_field(vip, fieldtype="Check", in_standard_filter=0)
		add_custom_field(note, fieldtype="Data", in_standard_filter=0)
		add_custom_field(reviewer, fieldtype="Link", options="User", in_standard_filter=0)
		make_property_setter("User", None, "show_title_field_in_link", "1", "Check", for_doctype=True)
		frappe.db.commit()
		frappe.clear_cache(doctype="User")
		doc = make_opportunity(
			team,
			title="Laid out",
			**{value: 1250.5, signed: "2031-03-04", vip: 1, reviewer: admin},
		)
		# as an import or another app may store it (a save through the document would sanitize it)
		frappe.db.set_value("Pipeline Opportunity", doc.name, note, HOSTILE)
		frappe.db.commit()

		# the administrator lays the card out in the team's form (Card tab)
		form = pages(admin, f"/app/pipeline-team/{team}")
		form.wait_for_function(f"() => window.cur_frm && cur_frm.doc.name === {team!r}", timeout=30000)
		form.get_by_role("tab", name="Card").click()
		form.wait_for_function(
			"""(note) => (cur_frm.fields_dict.card_fields.grid.get_docfield('fieldname').options || [])
				.some((o) => o.value === note)""",
			arg=note,
			timeout=10000,
		)
		form.evaluate(
			"""(rows) => {
				for (const [fieldname, show, edit] of rows) {
					cur_frm.add_child('card_fields',
						{fieldname, show_on_card: show, editable_in_panel: edit});
				}
				cur_frm.refresh_field('card_fields');
				return cur_frm.save();
			}""",
			[[value, 1, 0], [signed, 1, 0], [vip, 1, 0], [reviewer, 1, 0], [note, 1, 1]],
		)
		assert wait_until(
			lambda: (
				(frappe.db.rollback() or True)
				and frappe.db.count("Pipeline Card Field", {"parent": team}) == 5
			)
		)
		assert frappe.db.get_value("Pipeline Card Field", {"parent": team, "fieldname": note}, "label") == (
			frappe.get_meta("Pipeline Opportunity").get_label(note)
		)

		boss = open_board(pages, admin, team)
		shown = card(boss, doc.name)
		shown.wait_for()
		field = lambda page, name: card(page, doc.name).locator(  # noqa: E731
			f'.pb-field[data-fieldname="{name}"] .pb-field-value'
		)
		currency = frappe.db.get_value("Pipeline Opportunity", doc.name, "currency")
		assert currency == "EUR"
		assert field(boss, value).inner_text() == boss.evaluate(
			"([v, c]) => format_currency(v, c)", [1250.5, currency]
		)
		assert field(boss, signed).inner_text() == boss.evaluate(
			"() => frappe.datetime.str_to_user('2031-03-04')"
		)
		assert field(boss, vip).locator("input[type=checkbox]").count() == 1
		assert field(boss, reviewer).inner_text() == frappe.db.get_value("User", admin, "full_name")
		assert field(boss, note).inner_text() == HOSTILE  # text, not an element
		assert shown.locator("img").count() == 0
		assert boss.evaluate("window.__xss") is None
		# what the layout leaves out is not on the card
		assert shown.locator(".pb-amount").count() == 0

		# the seller edits the note from the panel; the administrator's board follows
		sales = open_board(pages, seller, team)
		card(sales, doc.name).click()
		panel = sales.locator(".pb-panel")
		control = panel.locator(f'.pb-control[data-fieldname="{note}"] input')
		control.wait_for()
		assert control.input_value() == HOSTILE
		assert panel.locator(".pb-control-amount, .pb-control-follow_up_on").count() == 0
		control.fill("Signed <b>today</b>")
		panel.locator(f'.pb-control[data-fieldname="{note}"] .pb-save').click()
		assert wait_until(lambda: fresh(doc.name, note)[note] == "Signed <b>today</b>")
		assert wait_until(
			lambda: field(boss, note).inner_text() == "Signed <b>today</b>", REALTIME_SECONDS * 2
		)
		assert card(boss, doc.name).locator("b, img").count() == 0
		assert boss.evaluate("window.__xss") is None
		assert not boss.errors and not sales.errors and not form.errors, boss.errors + sales.errors
	finally:
		frappe.db.rollback()
		frappe.db.delete("Property Setter", {"doc_type": "User", "property": "show_title_field_in_link"})
		frappe.db.commit()
		frappe.clear_cache(doctype="User")
		purge_team(team)
		for name in (value, signed, vip, note, reviewer):
			remove_custom_field(name)


def test_a_quick_edit_and_a_move_ask_for_a_mandatory_field(pages):
	skip_setup_wizard()
	suffix = random_string(5).lower()
	seller = make_user()
	team = make_team(f"Mandatory quick edit {suffix}", members=[seller]).name
	edited = make_opportunity(team, title="Edited before the rule").name
	moved = make_opportunity(team, title="Moved before the rule").name
	frappe.db.commit()
	tier = f"tier_{suffix}"
	add_custom_field(tier, fieldtype="Select", options="\nGold\nSilver", reqd=1, in_standard_filter=0)
	try:
		page = open_board(pages, seller, team)
		# a quick edit: the owner
		card(page, edited).click()
		page.locator(".pb-panel .pb-control-opportunity_owner select").select_option(seller)
		dialog = page.locator(".pb-missing-dialog.modal.show")
		dialog.locator(f'[data-fieldname="{tier}"] select').wait_for(timeout=10000)
		assert page.locator(".pb-missing-dialog.modal.show .frappe-control[data-fieldname]").evaluate_all(
			"controls => controls.map(c => c.dataset.fieldname).filter(f => f !== 'missing_intro')"
		) == [tier]  # exactly the missing field
		dialog.locator(f'[data-fieldname="{tier}"] select').select_option("Gold")
		dialog.locator(".modal-footer .btn-primary").click()
		assert wait_until(
			lambda: fresh(edited, "opportunity_owner", tier) == {"opportunity_owner": seller, tier: "Gold"}
		)
		assert page.locator(".modal.show .msgprint").count() == 0  # asked, not refused with a message
		page.locator(".pb-panel .pb-panel-close").click()

		# a move by drag: asked, then moved with it
		qualification = stage_named(team, "Qualification")
		card(page, moved).drag_to(page.locator(f'.pb-column[data-stage="{qualification}"] .pb-cards'))
		dialog = page.locator(".pb-missing-dialog.modal.show")
		dialog.locator(f'[data-fieldname="{tier}"] select').wait_for(timeout=10000)
		dialog.locator(f'[data-fieldname="{tier}"] select').select_option("Silver")
		dialog.locator(".modal-footer .btn-primary").click()
		card(page, moved, qualification).wait_for(timeout=10000)
		assert wait_until(lambda: fresh(moved, "stage", tier) == {"stage": qualification, tier: "Silver"})

		# closing the dialog changes nothing
		card(page, edited).drag_to(page.locator(f'.pb-column[data-stage="{qualification}"] .pb-cards'))
		page.wait_for_timeout(500)
		assert page.locator(".pb-missing-dialog.modal.show").count() == 0  # it has the field now
		card(page, edited, qualification).wait_for(timeout=10000)
		new = stage_named(team, "New")
		with_tier = make_opportunity(team, title="Emptied later", **{tier: "Gold"}).name
		frappe.db.set_value("Pipeline Opportunity", with_tier, tier, None)
		frappe.db.commit()
		page.reload()
		page.wait_for_selector(".pb-column", timeout=30000)
		card(page, with_tier).drag_to(page.locator(f'.pb-column[data-stage="{qualification}"] .pb-cards'))
		page.locator(".pb-missing-dialog.modal.show").wait_for(timeout=10000)
		page.locator(".pb-missing-dialog.modal.show .btn-modal-close").first.click()
		card(page, with_tier, new).wait_for(timeout=10000)  # back where it was
		assert fresh(with_tier).stage == new
		assert not page.errors, page.errors
	finally:
		remove_custom_field(tier)
		purge_team(team)
