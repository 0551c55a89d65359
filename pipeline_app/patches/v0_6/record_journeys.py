import frappe

from pipeline_app.journey import assign_reach_bit, record_journeys

BATCH = 5000
# prefixes of the covering indexes that replace them (Pipeline Opportunity's on_doctype_update):
# created_index of reached_index, outcome_index of closed_index and closed_reason_index
REPLACED_INDEXES = ("created_index", "outcome_index")


def execute():
	"""Funnel Stage.reach_bit and Pipeline Opportunity.stages_reached / closed_from_stage, kept from now
	on by every save, the demo and the stages' own hooks (pipeline_app/journey.py): each stage without
	a bit gets its team's lowest free one, in board order; then each opportunity's fields are read
	from its history, by batches of opportunities (keyset on the name), a commit per batch, so a large
	history is not one long transaction. Running it again gives the same values."""
	give_reach_bits()
	last = ""
	while names := frappe.db.sql_list(
		"select name from `tabPipeline Opportunity` where name > %s order by name limit %s", (last, BATCH)
	):
		last = names[-1]
		record_journeys(names)
		frappe.db.commit()
	for index in REPLACED_INDEXES:
		if frappe.db.has_index("tabPipeline Opportunity", index):
			frappe.db.sql_ddl(f"alter table `tabPipeline Opportunity` drop index `{index}`")


def give_reach_bits() -> None:
	for stage in frappe.get_all(
		"Funnel Stage",
		filters={"reach_bit": 0},
		fields=["name", "team"],
		order_by="team asc, sequence asc, creation asc, name asc",
	):
		assign_reach_bit(stage)
		frappe.db.set_value("Funnel Stage", stage.name, "reach_bit", stage.reach_bit, update_modified=False)
