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
# ERPNext's Lead and Opportunity forms: Convert to Pipeline Opportunity (pipeline_app/erpnext/conversion.py);
# Frappe loads these only for doctypes that exist, so bare Frappe never sees them
doctype_js = {
	"Lead": "public/js/erpnext_conversion.js",
	"Opportunity": "public/js/erpnext_conversion.js",
}

# Installation
# ------------
before_install = "pipeline_app.install.before_install"
after_install = "pipeline_app.install.after_install"
before_uninstall = "pipeline_app.install.before_uninstall"
# ERPNext, detected: its fields appear with it whichever app comes first and go with either
# (pipeline_app/erpnext/setup.py)
after_app_install = ["pipeline_app.erpnext.setup.after_app_install"]
before_app_uninstall = ["pipeline_app.erpnext.setup.before_app_uninstall"]
after_migrate = ["pipeline_app.erpnext.setup.after_migrate"]

# Public pages: a team's booking page, /book/<route> (pipeline_app/www/book.py; its guest endpoints,
# rate limited, in pipeline_app/booking.py)
website_route_rules = [{"from_route": "/book/<booking_route>", "to_route": "book"}]

# Permissions: team-scoped rows on every path (see pipeline_app/permissions.py)
# -----------
permission_query_conditions = {
	"Pipeline Opportunity": "pipeline_app.permissions.opportunity_query",
	"Pipeline Appointment": "pipeline_app.permissions.appointment_query",
	"Pipeline Team": "pipeline_app.permissions.team_query",
	"Pipeline Team Member": "pipeline_app.permissions.team_member_query",
	"Funnel Stage": "pipeline_app.permissions.funnel_stage_query",
	"Pipeline Stage Change": "pipeline_app.permissions.stage_change_query",
	"Pipeline Abandonment Run": "pipeline_app.permissions.abandonment_run_query",
	"Pipeline Digest": "pipeline_app.permissions.digest_query",
	"Pipeline Digest Subscription": "pipeline_app.permissions.digest_subscription_query",
	# child tables: Frappe lists them checking only the role on the parent; each gets its parent's rows
	"Pipeline Opportunity Item": "pipeline_app.permissions.opportunity_item_query",
	"Pipeline Booking Hours": "pipeline_app.permissions.booking_hours_query",
	"Pipeline Card Field": "pipeline_app.permissions.card_field_query",
	"Pipeline Digest Team": "pipeline_app.permissions.digest_team_query",
	# File, ToDo, Comment, Communication, Version, Document Follow, Tag Link, Workflow Action, ...:
	# rows attached to another team's record are left out (found from each doctype's meta)
	"*": "pipeline_app.permissions.reference_query",
}

has_permission = {
	"Pipeline Opportunity": "pipeline_app.permissions.opportunity_permission",
	"Pipeline Appointment": "pipeline_app.permissions.appointment_permission",
	"Pipeline Team": "pipeline_app.permissions.team_permission",
	"Funnel Stage": "pipeline_app.permissions.funnel_stage_permission",
	"Pipeline Stage Change": "pipeline_app.permissions.stage_change_permission",
	"Pipeline Abandonment Run": "pipeline_app.permissions.abandonment_run_permission",
	"Pipeline Digest": "pipeline_app.permissions.own_record_permission",
	"Pipeline Digest Subscription": "pipeline_app.permissions.own_record_permission",
	# notes whether a new File brings its own content (see check_file_copy below)
	"File": "pipeline_app.permissions.file_permission",
	# every doctype: not attached to another team's record, no link to one on write
	"*": "pipeline_app.permissions.reference_permission",
}
# Another team's record fails to load exactly as a missing one does (TeamScopedDocument in
# pipeline_app/scoped_document.py): every endpoint that loads by name answers 404 alike.

# The board's column totals (pipeline_app/column_counts.py) are not links anyone needs to clear
# before deleting a team or a stage: the team's and stage's own on_trash delete them
ignore_links_on_delete = ["Pipeline Column Count", "Pipeline Abandonment Run"]

# Frappe v15 endpoints that leak across teams, replaced (pipeline_app/overrides.py)
override_whitelisted_methods = {
	# counts without any permission check
	"frappe.client.get_count": "pipeline_app.overrides.get_count",
	# tells whether any name exists
	"frappe.client.validate_link": "pipeline_app.overrides.validate_link",
	# the sidebar's Assigned To counts read the doctype without permission, and so do the form's
	# Connections counts of the doctypes the caller names (a Customer's opportunities)
	"frappe.desk.notifications.get_open_count": "pipeline_app.overrides.get_open_count",
	"frappe.desk.listview.get_group_by_count": "pipeline_app.overrides.get_group_by_count",
	# ignore_user_permissions=1 skips every permission check
	"frappe.desk.search.search_link": "pipeline_app.overrides.search_link",
	"frappe.desk.search.search_widget": "pipeline_app.overrides.search_widget",
	# write onto any record without a check
	"frappe.desk.like.toggle_like": "pipeline_app.overrides.toggle_like",
	"frappe.desk.doctype.tag.tag.add_tag": "pipeline_app.overrides.add_tag",
	"frappe.desk.doctype.tag.tag.add_tags": "pipeline_app.overrides.add_tags",
	"frappe.desk.doctype.tag.tag.remove_tag": "pipeline_app.overrides.remove_tag",
	"frappe.desk.form.document_follow.follow_document": "pipeline_app.overrides.follow_document",
	"frappe.desk.form.document_follow.unfollow_document": "pipeline_app.overrides.unfollow_document",
	# a shared Contact's timeline lists every team's messages
	"frappe.desk.form.load.getdoc": "pipeline_app.overrides.getdoc",
	"frappe.desk.form.load.get_docinfo": "pipeline_app.overrides.get_docinfo",
	"frappe.desk.form.load.get_communications": "pipeline_app.overrides.get_communications",
	# doctype rooms carry every save's list_update to all readers of the doctype
	"frappe.realtime.can_subscribe_doctype": "pipeline_app.overrides.can_subscribe_doctype",
	# read records with frappe.get_all / frappe.get_value / raw queries, unchecked: the same reads
	# through frappe.get_list (workflow counts of any column, a Heatmap described in the request, link
	# titles, tagged records, the form's previous / next record)
	"frappe.workflow.doctype.workflow.workflow.get_workflow_state_count": (
		"pipeline_app.overrides.get_workflow_state_count"
	),
	"frappe.desk.doctype.dashboard_chart.dashboard_chart.get": "pipeline_app.overrides.get_dashboard_chart",
	"frappe.desk.search.get_link_title": "pipeline_app.overrides.get_link_title",
	"frappe.desk.doctype.tag.tag.get_tagged_docs": "pipeline_app.overrides.get_tagged_docs",
	"frappe.desk.form.utils.get_next": "pipeline_app.overrides.get_next",
	# Kanban moves read each card's column unchecked: unreadable cards fail as missing ones
	"frappe.desk.doctype.kanban_board.kanban_board.update_order": "pipeline_app.overrides.update_order",
	"frappe.desk.doctype.kanban_board.kanban_board.update_order_for_single_card": (
		"pipeline_app.overrides.update_order_for_single_card"
	),
	"frappe.desk.doctype.kanban_board.kanban_board.add_card": "pipeline_app.overrides.add_card",
}

# Bad input answers a clear 4xx, never a 500, and tracebacks reach System Managers only
# (pipeline_app/validation.py): the app's methods and reports are marked before login, their
# arguments checked once the user is known (auth_hooks run after API-key and session login).
# Fields read through a Link (`fields=["pipeline_opportunity.contact_phone"]` on a Quotation) join
# only the linked rows the user may read: Frappe v15 has no hook on a list's joins, so
# guard_link_joins wraps DatabaseQuery.prepare_args once per process, before any query of a request
# or a job (pipeline_app/link_joins.py)
before_request = ["pipeline_app.validation.before_request", "pipeline_app.link_joins.guard_link_joins"]
before_job = ["pipeline_app.link_joins.guard_link_joins"]
auth_hooks = ["pipeline_app.validation.check_request"]

# Automations (pipeline_app/automation/)
# -----------
doc_events = {
	# realtime (pipeline_app/realtime.py decides who receives what): the pipeline's own documents
	# publish from their controllers (the opportunity's on_update / on_trash: publish_opportunity, its
	# pipeline_app:board event and list_update to the readers of the card only); a document attached
	# to a team's record (File, ToDo, Comment, ...) sends its list_update to that record's readers,
	# not to its doctype's room
	"*": {
		"validate": "pipeline_app.realtime.hold_list_update",
		"on_change": "pipeline_app.realtime.send_held_list_update",
	},
	"Pipeline Opportunity": {
		# values Frappe v15 lets through to the database (dangling fetched links, bad dates, ...);
		# with ERPNext, item lines without a rate take the price list's (pipeline_app/erpnext/prices.py)
		"before_validate": [
			"pipeline_app.validation.check_document_values",
			"pipeline_app.erpnext.prices.fill_item_rates",
		],
	},
	"Pipeline Team": {
		"before_validate": "pipeline_app.validation.check_document_values",
	},
	# a user disabled, deleted or given other roles or User Permissions leaves the kept team audiences
	# and readers at once (pipeline_app/teams.py; a Role disabled loses its users underneath)
	"User": {
		"on_update": "pipeline_app.teams.clear_user_teams_cache",
		"on_trash": "pipeline_app.teams.clear_user_teams_cache",
	},
	"User Permission": {
		"on_update": "pipeline_app.teams.clear_user_teams_cache",
		"on_trash": "pipeline_app.teams.clear_user_teams_cache",
	},
	"Role": {
		"on_update": "pipeline_app.teams.clear_user_teams_cache",
		"on_trash": "pipeline_app.teams.clear_user_teams_cache",
	},
	# the outcome Workflow keeps the opportunity's statuses as its states (pipeline_app/outcome_workflow.py);
	# before_validate: Workflow's own validate writes to the database before any validate hook runs
	"Workflow": {
		"before_validate": "pipeline_app.outcome_workflow.validate_outcome_workflow",
	},
	"Communication": {
		"after_insert": "pipeline_app.automation.conversations.on_communication",
	},
	# Frappe's Kanban Board is not for team-scoped doctypes (its column orders list every team's cards):
	# the Pipeline Board is; System Managers may keep one (pipeline_app/overrides.py)
	"Kanban Board": {
		"validate": "pipeline_app.overrides.refuse_team_scoped_kanban",
	},
	# a new File naming a private file already on the site (a copy: Frappe serves the file to any
	# reader of any row naming it) only for a user who may read one of those rows
	"File": {
		"validate": "pipeline_app.permissions.check_file_copy",
	},
	# ERPNext (pipeline_app/erpnext/outcomes.py): links to opportunities checked, outcomes follow
	# and their cards' badges follow them (pipeline_app/erpnext/linked.py)
	"Quotation": {
		"validate": "pipeline_app.erpnext.outcomes.check_opportunity_link",
		"on_submit": "pipeline_app.erpnext.outcomes.on_quotation_submit",
		"on_update_after_submit": "pipeline_app.erpnext.outcomes.on_quotation_update_after_submit",
		"on_change": "pipeline_app.erpnext.linked.on_document_change",
		"after_delete": "pipeline_app.erpnext.linked.on_document_change",
	},
	"Sales Order": {
		"validate": "pipeline_app.erpnext.outcomes.check_opportunity_link",
		"on_submit": "pipeline_app.erpnext.outcomes.on_sales_order_submit",
		"on_cancel": "pipeline_app.erpnext.outcomes.on_sales_order_cancel",
		"on_change": "pipeline_app.erpnext.linked.on_document_change",
		"after_delete": "pipeline_app.erpnext.linked.on_document_change",
	},
	"Project": {
		"validate": "pipeline_app.erpnext.outcomes.check_opportunity_link",
	},
}

scheduler_events = {
	"cron": {
		"* * * * *": ["pipeline_app.column_counts.fold"],
		"*/5 * * * *": [
			"pipeline_app.automation.follow_ups.notify_due_follow_ups",
			"pipeline_app.automation.reminders.send_appointment_reminders",
		],
	},
	"hourly": [
		"pipeline_app.automation.appointments.enter_appointment_day_stage",
		"pipeline_app.automation.follow_ups.resume_held_opportunities",
	],
	"daily_long": [
		"pipeline_app.automation.abandonment.abandon_silent_opportunities",
		"pipeline_app.automation.digests.send_digests",
	],
}
