"""What the desk learns about the pipeline at boot (hooks.extend_bootinfo)."""

import frappe

from pipeline_app.board import client_constants
from pipeline_app.cards import SHOWABLE_TYPES
from pipeline_app.erpnext import erpnext_installed
from pipeline_app.realtime import BOARD_EVENT
from pipeline_app.teams import get_user_teams


def extend_bootinfo(bootinfo) -> None:
	"""The user's teams (the team reports open on the first of them), whether ERPNext is on the
	site (the Won dialog offers its documents), the board's constants (its filters, page sizes and
	realtime event) and the field types a card can show (the Pipeline Team form's Card Fields offers
	fields of those types), so that the page and the form mirror none of them."""
	if frappe.session.user != "Guest":
		bootinfo.pipeline_teams = get_user_teams()
		bootinfo.pipeline_erpnext = erpnext_installed()
		bootinfo.pipeline_board = {**client_constants(), "realtime_event": BOARD_EVENT}
		bootinfo.pipeline_card_field_types = sorted(SHOWABLE_TYPES)
