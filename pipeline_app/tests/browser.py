"""What the browser tests share: Debian's Chromium (never a downloaded browser), the site's URL and a
page logged in as a user."""

import os
import shutil
from urllib.parse import urlparse

import frappe
import pytest

from pipeline_app.tests.factories import PASSWORD
from pipeline_app.tests.http_client import BASE_URL

CHROMIUM = os.environ.get("PIPELINE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def site_url() -> str:
	port = urlparse(BASE_URL).port or 80
	return f"http://{frappe.local.site}:{port}"


@pytest.fixture(scope="module")
def browser():
	from playwright.sync_api import sync_playwright

	with sync_playwright() as playwright:
		instance = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
		yield instance
		instance.close()


def logged_in_page(browser, user: str, path: str, viewport=(1600, 1000), **context_options):
	"""A new browser context logged in as `user`, at `path` of the site. The page's uncaught errors
	collect in `page.errors`; close it with `page.context.close()`. `context_options` go to
	Playwright's new_context (a phone: `has_touch=True, is_mobile=True`)."""
	context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, **context_options)
	page = context.new_page()
	page.errors = []
	page.on("pageerror", lambda error: page.errors.append(str(error)))
	page.goto(site_url() + "/login")
	status = page.evaluate(
		"""([usr, pwd]) => fetch('/api/method/login', {method: 'POST',
			headers: {'Content-Type': 'application/json', Accept: 'application/json'},
			body: JSON.stringify({usr, pwd})}).then(r => r.status)""",
		[user, PASSWORD],
	)
	assert status == 200, f"login of {user} failed: {status}"
	page.goto(site_url() + path)
	return page
