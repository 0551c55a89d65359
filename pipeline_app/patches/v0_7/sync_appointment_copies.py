import frappe

BATCH = 5000


def execute():
	"""An appointment's team, contact and opportunity title are copies of its opportunity's, kept from
	now on by the opportunity's save (automation.appointments.copy_to_appointments). Before, they were
	refetched only when the appointment itself was saved: an opportunity moved to another team left
	its appointments listed to the old team. Re-copied by batches of appointments (keyset on name),
	each committed; a second run changes nothing."""
	last = ""
	while names := frappe.db.sql_list(
		"select name from `tabPipeline Appointment` where name > %s order by name limit %s", (last, BATCH)
	):
		last = names[-1]
		frappe.db.sql(
			"""update `tabPipeline Appointment` a
			join `tabPipeline Opportunity` o on o.name = a.opportunity
			set a.team = o.team, a.contact = o.contact, a.opportunity_title = o.title
			where a.name in %(names)s
				and not (a.team <=> o.team and a.contact <=> o.contact and a.opportunity_title <=> o.title)""",
			{"names": tuple(names)},
		)
		frappe.db.commit()
