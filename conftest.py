"""pytest bootstrap: every test runs against a real Frappe site (MariaDB + Redis), never mocks.

Run from the bench's `sites` directory with the bench's Python; `scripts/test` does this. The site is
`PIPELINE_TEST_SITE` (default pipeline-test.localhost); HTTP and browser tests reach the running bench
at `PIPELINE_TEST_URL` (default http://127.0.0.1:8000).
"""

import os

import frappe
import pytest

SITE = os.environ.get("PIPELINE_TEST_SITE", "pipeline-test.localhost")


def pytest_configure(config):
	frappe.init(site=SITE, sites_path=os.environ.get("PIPELINE_SITES_PATH", "."))
	frappe.connect()
	frappe.flags.in_test = True
	frappe.set_user("Administrator")
	config.addinivalue_line("markers", "http: needs the bench's web server running")
	config.addinivalue_line("markers", "browser: drives headless Chromium against the running bench")
	config.addinivalue_line(
		"markers",
		"erpnext: needs ERPNext on the site (scripts/test runs these on its ERPNext site only, and"
		" deselects them on the bare-Frappe site with -m 'not erpnext')",
	)


def pytest_collection_modifyitems(config, items):
	"""Tests in a module that talks to the web server (it imports the HTTP client) are marked `http`,
	so that `-m "not http and not browser"` is the in-process subset that needs no running bench."""
	for item in items:
		module = getattr(item, "module", None)
		if module is not None and hasattr(module, "Client"):
			item.add_marker(pytest.mark.http)


def pytest_unconfigure(config):
	if getattr(frappe.local, "db", None):
		frappe.db.rollback()
	frappe.destroy()


@pytest.fixture(autouse=True)
def _fresh_session():
	frappe.set_user("Administrator")
	yield
	frappe.db.rollback()
	frappe.set_user("Administrator")
	frappe.local.message_log = []
	from pipeline_app.teams import clear_user_teams_cache

	clear_user_teams_cache()
