"""The Forecast and Win Loss reports and the workspace's Forecast chart in a real browser (Debian's
Chromium through Playwright) as a seller: the reports open on the seller's team with their own filters
and show its figures, Group By regroups, the chart draws the team's months."""

import frappe
import pytest

from pipeline_app.demo import skip_setup_wizard
from pipeline_app.tests.browser import browser, logged_in_page, site_url
from pipeline_app.tests.factories import make_opportunity, make_team, make_user, purge_team, stage_named
from pipeline_app.tests.test_insight_reports import close, in_month, month

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def world():
	"""Committed data (the web server is another process), removed at the end."""
	skip_setup_wizard()
	seller = make_user()
	team = make_team(members=[seller], deal_amount_enabled=1).name
	other = make_team(members=[make_user()], deal_amount_enabled=1).name
	make_opportunity(
		team,
		opportunity_owner=seller,
		stage=stage_named(team, "Proposal"),
		amount=1000,
		expected_close_date=in_month(0),
		source="Website",
	)
	close(make_opportunity(team, opportunity_owner=seller, amount=2000, source="Website"), "Won")
	close(make_opportunity(team, opportunity_owner=seller, amount=500, source="Referral"), "Lost")
	close(make_opportunity(other, amount=900, source="Partner"), "Won")
	frappe.db.commit()
	yield frappe._dict(seller=seller, team=team, other=other)
	purge_team(team)
	purge_team(other)


def report_text(page) -> str:
	return page.locator(".report-wrapper").inner_text()


def test_the_reports_and_the_chart_in_the_desk(world, browser):  # noqa: F811 (the browser fixture)
	page = logged_in_page(browser, world.seller, "/app/query-report/Pipeline Forecast")
	try:
		page.locator(".dt-scrollable .dt-row").first.wait_for(timeout=20000)
		assert page.locator('input[data-fieldname="team"]').input_value() == world.team
		page.wait_for_function(
			"([month]) => document.querySelector('.report-wrapper').innerText.includes(month)",
			arg=[month(0)],
			timeout=20000,
		)
		text = report_text(page)
		assert "Weighted Amount" in text and world.seller in text, text
		assert world.other not in text

		page.goto(f"{site_url()}/app/query-report/Pipeline Win Loss")
		page.locator(".dt-scrollable .dt-row").first.wait_for(timeout=20000)
		assert page.locator('input[data-fieldname="team"]').input_value() == world.team
		page.locator('select[data-fieldname="group_by"]').select_option("Source")
		page.wait_for_function(
			"() => document.querySelector('.report-wrapper').innerText.includes('Referral')", timeout=20000
		)
		text = report_text(page)
		assert "Website" in text and "Partner" not in text, text
		assert "Win Rate with Abandoned" in text

		page.goto(f"{site_url()}/app/pipeline")
		chart = page.locator(".widget.dashboard-widget-box", has_text="Forecast")
		chart.locator("svg").first.wait_for(timeout=20000)
		page.wait_for_function(
			"""([month]) => [...document.querySelectorAll('.widget.dashboard-widget-box')]
				.some((w) => w.textContent.includes('Forecast') && w.textContent.includes(month))""",
			arg=[month(0)],
			timeout=20000,
		)
		assert not page.errors, page.errors
	finally:
		page.context.close()
