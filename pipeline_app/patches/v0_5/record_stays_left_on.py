import frappe

from pipeline_app.funnel import end_stays_at_closing

BATCH = 5000


def execute():
	"""Pipeline Stage Change.left_on, kept from now on by every save (funnel.record_changes), the
	abandonment job and the demo: for the history there is, each stage row's stay ended at the
	opportunity's next stage change, or else at its closing if it is Won, Lost or Abandoned. By
	batches of opportunities, so a large history is not one long transaction."""
	last = ""
	while names := frappe.db.sql_list(
		"select name from `tabPipeline Opportunity` where name > %s order by name limit %s", (last, BATCH)
	):
		last = names[-1]
		frappe.db.sql(
			"""update `tabPipeline Stage Change` c
			join (
				select name, lead(changed_on) over (
					partition by opportunity order by changed_on, creation
				) as next_change
				from `tabPipeline Stage Change`
				where change_type = 'Stage' and opportunity in %(names)s
			) n on n.name = c.name
			set c.left_on = n.next_change
			where n.next_change is not null and c.left_on is null""",
			{"names": tuple(names)},
		)
		end_stays_at_closing(names)
		frappe.db.commit()
