"""Team isolation on Frappe's joins through Link fields (`fields=["link_field.fieldname"]`).

Frappe v15's DatabaseQuery (behind frappe.get_list, so REST lists, `frappe.client.get_list` /
`get_value`, `validate_link`'s fields, reportview and its exports, calendars, ...) reads
`pipeline_opportunity.contact_phone` by LEFT JOINing the linked doctype and checks only the role on
it (`append_link_table` → `check_read_permission`), never its rows' rule: a seller who may read
every Quotation (ERPNext's Sales User) would read another team's opportunity through the Quotation's
link. Later Frappe versions put the linked doctype's permission conditions in the join's ON clause
(`LinkTableField.apply_join` in frappe/database/query.py, frappe#40492): a row the user may not read
joins as NULL, the document that links it stays listed. The same here, for the doctypes whose rows
this app scopes: the team-scoped ones and their children (hooks.permission_query_conditions) and the
doctypes that attach to records (File, ToDo, Comment, Communication, Event, ...: the "*" rule). The
condition added is Frappe's own rule for the linked doctype and user (`build_match_conditions`: our
hooks, user permissions, shares), so a join shows exactly the rows `frappe.get_list` of that doctype
would; managers and trusted code (`ignore_permissions`) get no condition.

Frappe v15 has no hook on a query's joins, so `DatabaseQuery.prepare_args`, the one method that writes
them, is wrapped once per process: `guard_link_joins` runs from hooks.before_request and before_job,
before any query of a request or a job (the console and `bench execute` run as Administrator, who
reads every row anyway; in-process tests call it themselves).
"""

import frappe
from frappe import _
from frappe.model.db_query import DatabaseQuery

from pipeline_app.hooks import permission_query_conditions
from pipeline_app.permissions import CHILD_REFERENCES, reference_fields

# doctypes with their own row rule from this app
SCOPED_DOCTYPES = frozenset(doctype for doctype in permission_query_conditions if doctype != "*")


def is_scoped(doctype: str) -> bool:
	"""Whether the app hides rows of `doctype` from some users: its own rule, or the "*" rule of
	documents attached to records (permissions.reference_query)."""
	if doctype in SCOPED_DOCTYPES:
		return True
	pairs, _links = reference_fields(doctype)
	return bool(pairs) or doctype in CHILD_REFERENCES


def readable_rows_condition(doctype: str, user: str) -> str:
	"""Frappe's own rule for `doctype`'s rows the user may read (SQL naming `tab<doctype>`, escaped
	literals only); "" when the user reads every row."""
	return DatabaseQuery(doctype, user=user).build_match_conditions()


def guard_joins(query: DatabaseQuery, args) -> None:
	"""Joins only the linked rows the user may read: the rule of each linked scoped doctype added to
	its join's ON clause, as a subquery on the unaliased table (the rule names it, the join an alias)."""
	if query.flags.ignore_permissions:
		return
	for link in query.link_tables:
		if not is_scoped(link.doctype):
			continue
		condition = readable_rows_condition(link.doctype, query.user)
		if not condition:
			continue
		# exactly as DatabaseQuery.prepare_args writes the join (Frappe v15)
		on = f"{link.table_alias}.`name` = {query.tables[0]}.`{link.fieldname}`"
		join = f" {query.join} {link.table_name} {link.table_alias} on ({on})"
		if join not in args.tables:
			# Frappe wrote the join another way: refuse rather than join unguarded
			frappe.throw(
				_("Fields of {0} cannot be read through a link here").format(_(link.doctype)),
				frappe.PermissionError,
			)
		guarded = (
			f" {query.join} {link.table_name} {link.table_alias} on ({on} and {link.table_alias}.`name`"
			f" in (select `name` from {link.table_name} where {condition}))"
		)
		args.tables = args.tables.replace(join, guarded)


def guard_link_joins(*args, **kwargs) -> None:
	"""Hooks before_request and before_job: wraps DatabaseQuery.prepare_args once per process."""
	prepare_args = DatabaseQuery.prepare_args
	if getattr(prepare_args, "pipeline_guarded", False):
		return

	def guarded_prepare_args(self):
		args = prepare_args(self)
		if self.link_tables:
			guard_joins(self, args)
		return args

	guarded_prepare_args.pipeline_guarded = True
	DatabaseQuery.prepare_args = guarded_prepare_args
