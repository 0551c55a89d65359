"""What the desk learns about the pipeline at boot (hooks.extend_bootinfo)."""

import frappe

from pipeline_app.teams import get_user_teams


def extend_bootinfo(bootinfo) -> None:
	"""The user's teams: the team reports open on the first of them."""
	if frappe.session.user != "Guest":
		bootinfo.pipeline_teams = get_user_teams()
