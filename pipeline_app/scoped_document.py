"""The base class of every team-scoped controller (opportunity, appointment, team, funnel stage,
stage change).

Frappe answers 404 for a missing name and 403 for one the user may not read, on REST, the form
loader, frappe.client.* and every endpoint that loads a document: an existence oracle. A
TeamScopedDocument fails to load for another team's record exactly as Frappe's own load fails for
a missing one, so every path that loads by name answers the same. Its realtime updates go to the
readers of the record only (pipeline_app.realtime), never to the doctype's room.
"""

import frappe
from frappe.model.document import Document

from pipeline_app.permissions import TEAM_FIELD, raise_not_found, restricted_teams
from pipeline_app.realtime import notify_readers


class TeamScopedDocument(Document):
	def load_from_db(self):
		teams = restricted_teams()
		if teams is None:
			return super().load_from_db()
		asked = self.name
		field = TEAM_FIELD[self.doctype]
		if isinstance(asked, dict | list):
			# filters: find the user's own match, never another team's
			self.name = [*as_filter_list(asked), [field, "in", teams or [""]]]
		try:
			super().load_from_db()
		except frappe.DoesNotExistError:
			if self.name is asked:
				raise
			frappe.clear_last_message()
			self.name = asked
			raise_not_found(self.doctype, asked)
		if self.get(field) not in teams:
			self.name = asked
			raise_not_found(self.doctype, asked)

	def check_permission(self, permtype="read", permlevel=None):
		# tells the "*" permission hook that this document is being written, not merely asked about
		self.flags.pipeline_checking = permtype
		try:
			super().check_permission(permtype, permlevel)
		finally:
			self.flags.pop("pipeline_checking", None)

	def notify_update(self):
		notify_readers(self)


class ScopedChildDocument(Document):
	"""The base class of the child rows of scoped records (line items, a team's members, booking hours
	and card fields, digest follows). Frappe checks a row loaded on its own (REST
	`/api/resource/<child>/<name>`, frappe.client.get) against the role on its parent doctype only: a
	row whose parent the user may not list fails to load exactly as a missing row does. Rows loaded
	with their parent are not loaded this way."""

	def load_from_db(self):
		super().load_from_db()
		if restricted_teams() is None or not self.parenttype or not self.parent:
			return
		try:
			# the parent's own permission_query_conditions decide, as for the child's lists
			readable = frappe.get_list(self.parenttype, filters={"name": self.parent}, pluck="name", limit=1)
		except frappe.PermissionError:
			frappe.clear_last_message()
			readable = []
		if not readable:
			raise_not_found(self.doctype, self.name)


def as_filter_list(filters) -> list:
	"""Frappe's dict filters ({"field": value} or {"field": ("op", value)}) as a list."""
	if isinstance(filters, list):
		return list(filters)
	return [
		[field, *value] if isinstance(value, list | tuple) else [field, "=", value]
		for field, value in filters.items()
	]
