"""What the desk learns about the pipeline at boot (hooks.extend_bootinfo)."""

import frappe

from pipeline_app.teams import get_user_teams


def extend_bootinfo(bootinfo) -> None:
	"""The user's teams (the team reports open on the first of them), and whether ERPNext is on the
	site (the Won dialog offers its documents)."""
	from pipeline_app.erpnext import erpnext_installed

	if frappe.session.user != "Guest":
		bootinfo.pipeline_teams = get_user_teams()
		bootinfo.pipeline_erpnext = erpnext_installed()
