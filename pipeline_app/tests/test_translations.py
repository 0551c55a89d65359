"""The app speaks German, French, Spanish and Dutch: `pipeline_app/translations/<lang>.csv` (Frappe's
translation files: source, translation, context) translate every message Frappe's own extractor finds
for the app (`bench get-untranslated` lists the same), and the strings the app ships as data (the
workspace, cards, charts, funnel templates, lost reasons). In process: the files parse as Frappe reads
them, nothing is missing, placeholders and tags are kept, Frappe serves them (ours win over Frappe's
own for the same source). In the browser: a German seller sees the Pipeline Board in German."""

import html
import json
import re
from pathlib import Path

import frappe
import pytest
from frappe.translate import (
	clear_cache,
	get_all_translations,
	get_messages_for_app,
	get_translation_dict_from_file,
	read_csv_file,
)
from frappe.utils import random_string

from pipeline_app.automation.conversations import CHANNELS, DIRECTIONS
from pipeline_app.demo import skip_setup_wizard
from pipeline_app.funnel import FUNNEL_TEMPLATES
from pipeline_app.install import ABANDONED_REASON, DEFAULT_LOST_REASONS
from pipeline_app.tests.browser import browser, logged_in_page
from pipeline_app.tests.factories import make_opportunity, make_team, make_user, purge_team

APP = "pipeline_app"
LANGUAGES = ("de", "fr", "es", "nl")
MODULE = Path(frappe.get_app_path(APP, "pipeline_app"))
PLACEHOLDER_OR_TAG = re.compile(r"\{\d*\}|<[^>]+>")


def translation_file(lang: str) -> str:
	return frappe.get_app_path(APP, "translations", f"{lang}.csv")


def message_key(message: tuple) -> str:
	"""The key Frappe looks a message up by: its text, or `text:context`."""
	context = message[2] if len(message) >= 3 else None
	return f"{message[1]}:{context}" if context else message[1]


def extracted_messages() -> set[str]:
	"""What Frappe's extractor finds for the app: doctype labels, descriptions and options, roles,
	the outcome Workflow's states and actions, pages, reports, `_()` in Python and Jinja, `__()` in
	JS. Left out: the site's navbar labels (Frappe's own, listed for every app) and the built bundles
	in public/dist (copies of public/js, with non-ASCII characters escaped)."""
	frappe.flags.scanned_files = set()  # the extractor reads each file once per process
	messages = get_messages_for_app(APP, deduplicate=False)
	return {
		message_key(message)
		for message in messages
		if message[1]
		and not (message[0] or "").startswith("Navbar")
		and "/public/dist/" not in (message[0] or "")
	}


def shipped_data_strings() -> set[str]:
	"""Strings the app ships as data that the desk shows through `__()`: the workspace (its label,
	shortcuts, links, cards and charts, and its headers as the desk looks them up: text only,
	HTML-escaped), the number cards and dashboard charts, the stages the funnel templates create, the
	lost reasons made at install, and the message channels and directions."""
	strings = set()
	for path in MODULE.glob("workspace/*/*.json"):
		workspace = json.loads(path.read_text())
		strings.update((workspace["label"], workspace["title"]))
		for table in ("shortcuts", "links", "charts", "number_cards"):
			strings.update(row["label"] for row in workspace.get(table, []) if row.get("label"))
		for block in json.loads(workspace["content"]):
			if block["type"] == "header":
				text = html.unescape(re.sub(r"<[^>]+>", "", block["data"]["text"]))
				strings.add(frappe.utils.escape_html(text))
	strings.update(json.loads(path.read_text())["label"] for path in MODULE.glob("number_card/*/*.json"))
	strings.update(
		json.loads(path.read_text())["chart_name"] for path in MODULE.glob("dashboard_chart/*/*.json")
	)
	strings.update(stage[0] for stages in FUNNEL_TEMPLATES.values() for stage in stages)
	strings.update((*DEFAULT_LOST_REASONS, ABANDONED_REASON, *CHANNELS, *DIRECTIONS))
	return strings


@pytest.fixture(scope="module")
def sources() -> set[str]:
	return extracted_messages() | shipped_data_strings()


@pytest.fixture(scope="module")
def translations() -> dict[str, dict[str, str]]:
	return {
		lang: get_translation_dict_from_file(translation_file(lang), lang, APP, throw=True)
		for lang in LANGUAGES
	}


def test_the_extractor_finds_the_board_and_the_doctypes(sources):
	# so that the checks below cannot pass on an empty list
	for message in ("Add New", "Any follow-up", "Pipeline Opportunity", "Expected Close Date", "Won"):
		assert message in sources, message
	assert len(sources) > 500


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_file_parses_as_frappe_reads_it(lang):
	rows = read_csv_file(translation_file(lang))
	assert len(rows) > 500
	bad = [row for row in rows if len(row) not in (2, 3) or not row[0].strip() or not row[1].strip()]
	assert not bad, bad[:5]
	keys = [row[0] if len(row) == 2 or not row[2] else f"{row[0]}:{row[2]}" for row in rows]
	assert len(keys) == len(set(keys)), "a source is translated twice"
	parsed = get_translation_dict_from_file(translation_file(lang), lang, APP, throw=True)
	assert len(parsed) == len(rows)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_has_a_translation(lang, sources, translations):
	missing = sorted(sources - set(translations[lang]))
	assert not missing, f"{len(missing)} messages have no {lang} translation: {missing[:20]}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_file_translates_only_messages_the_app_has(lang, sources, translations):
	stale = sorted(set(translations[lang]) - sources)
	assert not stale, f"{len(stale)} {lang} translations of messages the app no longer has: {stale[:20]}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_placeholders_and_tags(lang, translations):
	broken = [
		(source, translated)
		for source, translated in translations[lang].items()
		if sorted(PLACEHOLDER_OR_TAG.findall(source)) != sorted(PLACEHOLDER_OR_TAG.findall(translated))
	]
	assert not broken, broken[:10]


def test_frappe_serves_our_translations_over_its_own():
	clear_cache()  # Frappe keeps the merged translations of each language in Redis
	translate = frappe._  # (under another name: the extractor would list these as the app's messages)
	assert translate("Pipeline Opportunity", lang="de") == "Pipeline-Verkaufschance"
	assert translate("Stage {0} does not exist", lang="fr").format("X") == "L'étape X n'existe pas"
	assert get_all_translations("es")["Add New"] == "Añadir nueva"
	# Frappe's own Dutch says "Dichtbij" (nearby) for Close: the app's file is read after Frappe's
	assert get_all_translations("nl")["Close"] == "Sluiten"


def test_the_stage_chart_names_template_stages_in_the_users_language():
	"""The workspace's Open by Stage chart names the stages as the board does (translated)."""
	from pipeline_app.pipeline_app.dashboard_chart_source.pipeline_open_by_stage.pipeline_open_by_stage import (
		get,
	)

	seller = make_user()
	team = make_team(members=[seller]).name
	clear_cache()
	frappe.set_user(seller)
	lang, frappe.local.lang = frappe.local.lang, "de"
	try:
		labels = get(filters={"team": team})["labels"]
	finally:
		frappe.local.lang = lang
	assert labels == ["Neu", "Qualifizierung", "Angebot", "Verhandlung", "Abschluss"]


# English the board shows when translations are missing (each has a German translation that differs)
ENGLISH_BOARD_STRINGS = (
	"Add New",
	"Anyone",
	"Unassigned",
	"Any follow-up",
	"Follow-up due",
	"Follow-up planned",
	"No follow-up",
	"Any source",
	"Any interest",
	"Saved view",
	"Search title, contact, email, phone",
	"Save filters as view",
	"Delete saved view",
	"Follow this team in my digest",
	"Stop following this team",
	"Arrow keys move between cards",
	"Pipeline Board",
	"Qualification",
	"Proposal",
	"Negotiation",
	"Closing",
)


@pytest.mark.browser
def test_a_german_seller_sees_the_board_in_german(browser):  # noqa: F811 (the browser fixture)
	skip_setup_wizard()
	suffix = random_string(5).lower()
	seller = make_user(f"seller.de.{suffix}@pipeline.test")
	team = make_team(f"Übersetzung {suffix}", members=[seller]).name
	make_opportunity(team, title="Karte ohne Verantwortlichen")
	frappe.db.set_value("User", seller, "language", "de")
	frappe.db.commit()  # the web server is another process
	frappe.clear_cache(user=seller)
	clear_cache()
	page = logged_in_page(browser, seller, f"/app/pipeline-board?team={team}")
	try:
		page.wait_for_selector("#page-pipeline-board .pb-card", timeout=30000)
		assert page.evaluate("frappe.boot.lang") == "de"
		board = page.locator("#page-pipeline-board")
		assert board.locator(".title-text").first.inner_text() == "Pipeline-Board"
		assert board.locator(".primary-action").first.inner_text().strip() == "Neu hinzufügen"
		labels = page.evaluate(
			"""() => Object.fromEntries([...document.querySelectorAll(
				'#page-pipeline-board [class*="pb-filter-"] :is(input, select)')].map(
				(input) => [input.closest('[class*="pb-filter-"]').className.match(/pb-filter-(\\w+)/)[1],
					input.getAttribute('aria-label')]))"""
		)
		assert labels["follow_up"] == "Wiedervorlage"
		assert labels["interest"] == "Interesse"
		assert labels["view"] == "Gespeicherte Ansicht"
		assert labels["owner"] == "Besitzer"  # Frappe's German for Owner, which the app keeps

		def options(fieldname):
			return board.locator(f".pb-filter-{fieldname} select option").all_inner_texts()

		assert options("follow_up") == [
			"Jede Wiedervorlage",
			"Wiedervorlage fällig",
			"Wiedervorlage geplant",
			"Keine Wiedervorlage",
		]
		assert options("owner") == ["Alle", "Mir", "Nicht zugewiesen"]
		assert options("status")[0] == "Aktiv"
		stages = board.locator(".pb-stage-name").all_inner_texts()
		assert {"Neu", "Qualifizierung", "Angebot", "Verhandlung", "Abschluss"} <= set(stages), stages
		assert board.locator(".pb-card .pb-unassigned").first.inner_text() == "Nicht zugewiesen"
		menu = board.locator(".dropdown-menu .dropdown-item").all_text_contents()
		assert any("Filter als Ansicht speichern" in item for item in menu), menu
		# everything the page holds, shown or not: text, and the words of titles, labels, placeholders
		shown = page.evaluate(
			"""() => {
				const page = document.getElementById('page-pipeline-board');
				const words = [...page.querySelectorAll('[title], [aria-label], [placeholder]')].flatMap(
					(el) => ['title', 'aria-label', 'placeholder'].map((a) => el.getAttribute(a) || ''));
				return [page.textContent, ...words].join('\\n');
			}"""
		)
		assert "Mit den Pfeiltasten wechseln Sie zwischen Karten" in shown
		english = [text for text in ENGLISH_BOARD_STRINGS if text in shown]
		assert not english, f"English on the German board: {english}"
		assert not page.errors, page.errors
	finally:
		page.context.close()
		purge_team(team)
