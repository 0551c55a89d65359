app_name = "pipeline_app"
app_title = "Pipeline App"
app_publisher = "Pipeline App contributors"
app_description = "Sales pipeline for Frappe and ERPNext: team funnels, outcomes, appointments, board"
app_email = "maintainers@pipeline-app.invalid"
app_license = "mit"

export_python_type_annotations = True

# Desk assets: the outcome prompts shared by the opportunity form and the Pipeline Board
# (the board itself loads pipeline_board.bundle.js on its page only)
app_include_js = "pipeline_app.bundle.js"
extend_bootinfo = "pipeline_app.boot.extend_bootinfo"

# Installation
# ------------
before_install = "pipeline_app.install.before_install"
after_install = "pipeline_app.install.after_install"
before_uninstall = "pipeline_app.install.before_uninstall"

# Permissions: team-scoped rows on every path (see pipeline_app/permissions.py)
# -----------
permission_query_conditions = {
	"Pipeline Opportunity": "pipeline_app.permissions.opportunity_query",
	"Pipeline Appointment": "pipeline_app.permissions.appointment_query",
	"Pipeline Team": "pipeline_app.permissions.team_query",
	"Pipeline Team Member": "pipeline_app.permissions.team_member_query",
	"Funnel Stage": "pipeline_app.permissions.funnel_stage_query",
	"Pipeline Stage Change": "pipeline_app.permissions.stage_change_query",
}

has_permission = {
	"Pipeline Opportunity": "pipeline_app.permissions.opportunity_permission",
	"Pipeline Appointment": "pipeline_app.permissions.appointment_permission",
	"Pipeline Team": "pipeline_app.permissions.team_permission",
	"Funnel Stage": "pipeline_app.permissions.funnel_stage_permission",
	"Pipeline Stage Change": "pipeline_app.permissions.stage_change_permission",
}

# Frappe v15's frappe.client.get_count counts without any permission check
override_whitelisted_methods = {
	"frappe.client.get_count": "pipeline_app.overrides.get_count",
	"frappe.client.validate_link": "pipeline_app.overrides.validate_link",
}

# Bad input answers a clear 4xx, never a 500, and tracebacks reach System Managers only
# (pipeline_app/validation.py): the app's methods and reports are marked before login, their
# arguments checked once the user is known (auth_hooks run after API-key and session login)
before_request = ["pipeline_app.validation.before_request"]
auth_hooks = ["pipeline_app.validation.check_request"]

# Automations (pipeline_app/automation/)
# -----------
doc_events = {
	"Pipeline Appointment": {
		"on_update": "pipeline_app.automation.appointments.on_appointment_update",
	},
	"Pipeline Opportunity": {
		# values Frappe v15 lets through to the database (dangling fetched links, bad dates, ...)
		"before_validate": "pipeline_app.validation.check_document_values",
		"on_update": "pipeline_app.automation.appointments.on_opportunity_update",
	},
	"Pipeline Team": {
		"before_validate": "pipeline_app.validation.check_document_values",
	},
	"Communication": {
		"after_insert": "pipeline_app.automation.conversations.on_communication",
	},
}

scheduler_events = {
	"cron": {
		"*/5 * * * *": ["pipeline_app.automation.follow_ups.notify_due_follow_ups"],
	},
	"hourly": [
		"pipeline_app.automation.appointments.enter_appointment_day_stage",
		"pipeline_app.automation.follow_ups.resume_held_opportunities",
	],
	"daily_long": [
		"pipeline_app.automation.abandonment.abandon_silent_opportunities",
	],
}
