"""The public booking page of a team: /book/<booking_route> (website_route_rules in hooks.py).
Everything it shows comes from pipeline_app.booking's guest endpoints; the page itself carries the
team's heading and introduction only."""

import json

import frappe
from frappe import _
from frappe.utils import escape_html

from pipeline_app.booking import booking_team

no_cache = 1


def get_context(context):
	team = booking_team(frappe.form_dict.booking_route)
	context.no_breadcrumbs = True
	# Frappe's page templates print the title as it is: escaped here, once
	context.title = escape_html(team.heading)
	context.heading = team.heading
	context.intro = team.intro
	context.booking_json = json.dumps(
		{
			"route": team.route,
			"appointment": frappe.form_dict.appointment or None,
			"token": frappe.form_dict.token or None,
		}
	).replace("</", "<\\/")
	context.metatags = {
		"title": _("Book an appointment: {0}").format(escape_html(team.heading)),
		"robots": "noindex",
	}
	return context
