// The Calendar view of appointments: start and end mapped to the doctype's fields, coloured by status,
// filtered by team and host. Dragging an appointment saves its new time (Frappe's update_event: the
// document's own save, so the opportunity's stage follows as for any new time).
const STATUS_STYLE = {
	Scheduled: "default",
	Completed: "success",
	"No Show": "danger",
	Cancelled: "warning",
};

frappe.views.calendar["Pipeline Appointment"] = {
	field_map: {
		start: "starts_at",
		end: "ends_at",
		id: "name",
		title: "title",
		allDay: "all_day",
	},
	get_css_class(data) {
		return STATUS_STYLE[data.status] || "default";
	},
	filters: [
		{ fieldtype: "Link", fieldname: "team", options: "Pipeline Team", label: __("Team") },
		{ fieldtype: "Link", fieldname: "host", options: "User", label: __("Host") },
	],
	get_events_method:
		"pipeline_app.pipeline_app.doctype.pipeline_appointment.pipeline_appointment.get_calendar_events",
};
