"""Where deals come from: ERPNext Leads and Opportunities become Pipeline Opportunities of a team.

- `convert_to_pipeline_opportunity(doctype, name, team)`: the *Convert to Pipeline Opportunity*
  button of ERPNext's Lead and Opportunity forms (public/js/erpnext_conversion.js). Whitelisted, POST;
  the user needs read on the Lead or Opportunity (ERPNext's permissions) and must be able to create an
  opportunity in the team (another team answers as a missing one, as on the board).
- `import_erpnext_opportunities(team, ...)`: the bench command `pipeline-import-erpnext-opportunities`
  (pipeline_app/commands.py), trusted code: ERPNext Opportunities into a team's funnel in batches.

Both keep the link (`lead`, `erpnext_opportunity`), never make a second opportunity in a team for
the same Lead or ERPNext Opportunity (the source row is locked while looking, so simultaneous
requests make one), and insert through the document API, every rule of the form applied. One mapping
(`Conversion`) serves both. Nothing here imports erpnext.
"""

import frappe
from frappe import _
from frappe.utils import escape_html, flt, now_datetime, strip_html
from frappe.utils.data import get_absolute_url

from pipeline_app.api import _readable_team
from pipeline_app.automation.isolation import isolated_row
from pipeline_app.bulk import COMMENT_COLUMNS
from pipeline_app.erpnext import erpnext_installed
from pipeline_app.erpnext.outcomes import pipeline_lost_reason
from pipeline_app.funnel import LOST, OPEN, WON, get_team_stages
from pipeline_app.realtime import publish_team_refresh

OPPORTUNITY = "Pipeline Opportunity"
# the source doctypes, and the field of the Pipeline Opportunity that keeps the link to them
LINK_FIELDS = {"Lead": "lead", "Opportunity": "erpnext_opportunity"}
# an ERPNext Opportunity's party, and the Pipeline Opportunity field that names it
PARTY_FIELDS = {"Customer": "customer", "Lead": "lead", "Prospect": "prospect"}
ERPNEXT_STATUSES = ("Open", "Quotation", "Converted", "Lost", "Replied", "Closed")
# every other ERPNext status is Open
STATUSES = {"Lost": LOST, "Converted": WON}
# ERPNext's Lead Sources (its setup wizard's) that name one of the opportunity's sources otherwise
SOURCE_NAMES = {
	"advertisement": "Ad",
	"reference": "Referral",
	"exhibition": "Event",
	"cold calling": "Phone",
	"mass mailing": "Email",
	"supplier reference": "Partner",
}
BATCH_SIZE = 100
JOB = "ERPNext import"

LEAD_FIELDS = [
	"name",
	"lead_name",
	"company_name",
	"email_id",
	"mobile_no",
	"phone",
	"customer",
	"company",
	"source",
	"lead_owner",
]
OPPORTUNITY_FIELDS = [
	"name",
	"title",
	"customer_name",
	"opportunity_from",
	"party_name",
	"status",
	"sales_stage",
	"company",
	"currency",
	"conversion_rate",
	"opportunity_amount",
	"expected_closing",
	"contact_person",
	"contact_display",
	"contact_email",
	"contact_mobile",
	"phone",
	"source",
	"opportunity_owner",
	"order_lost_reason",
]
# child tables of an ERPNext Opportunity the mapping reads: (fieldname, doctype, fields)
OPPORTUNITY_TABLES = (
	("items", "Opportunity Item", ["item_code", "item_name", "qty", "rate", "description"]),
	("lost_reasons", "Opportunity Lost Reason Detail", ["lost_reason"]),
	("competitors", "Competitor Detail", ["competitor"]),
)


@frappe.whitelist(methods=["POST"])
def convert_to_pipeline_opportunity(doctype: str, name: str, team: str) -> dict:
	"""A Pipeline Opportunity in `team` for the Lead or ERPNext Opportunity `name`; the one made
	before when there is one (`created` false)."""
	require_erpnext()
	if doctype not in LINK_FIELDS:
		frappe.throw(
			_("Only a Lead or an Opportunity can be converted to a Pipeline Opportunity, not {0}").format(
				frappe.bold(escape_html(str(doctype)))
			),
			frappe.ValidationError,
			title=_("Cannot Convert"),
		)
	_readable_team(team)  # another team answers as a missing one
	frappe.has_permission(OPPORTUNITY, "create", throw=True)
	source = frappe.get_doc(doctype, name)
	source.check_permission("read")

	lock_sources(doctype, [source.name])
	existing = converted(team, doctype, [source.name])
	if source.name in existing:
		return {"name": existing[source.name], "created": False}
	conversion = Conversion(team, fallback_owner=frappe.session.user)
	conversion.prepare(doctype, [source])
	return {"name": conversion.convert(source).name, "created": True}


def require_erpnext() -> None:
	if not erpnext_installed():
		frappe.throw(
			_("ERPNext is not installed on this site"), frappe.ValidationError, title=_("ERPNext Missing")
		)


def lock_sources(doctype: str, names: list[str]) -> None:
	"""Locks the source rows as the first statement of a new transaction (nothing is written yet, so
	the commit loses nothing). A locking read takes no snapshot: the reads that follow see what a
	conversion that held the lock before committed."""
	frappe.db.commit()
	table = frappe.qb.DocType(doctype)
	frappe.qb.from_(table).select(table.name).where(table.name.isin(names)).for_update().run()


def converted(team: str, doctype: str, names: list[str]) -> dict[str, str]:
	"""Source name → the team's Pipeline Opportunity made from it (the oldest). Trusted code: callers
	checked the team."""
	field = LINK_FIELDS[doctype]
	found = {}
	for row in frappe.get_all(
		OPPORTUNITY,
		filters={"team": team, field: ("in", names)},
		fields=["name", field],
		order_by="creation asc",
	):
		found.setdefault(row[field], row.name)
	return found


class Conversion:
	"""The mapping to one team's Pipeline Opportunities, with what it looks up once (stages, members)
	or once per batch of sources (`prepare`: linked contacts, leads, their customers and prospects)."""

	def __init__(self, team: str, fallback_owner: str | None = None):
		team_doc = frappe.get_doc("Pipeline Team", team)
		self.team = team_doc.name
		self.team_name = team_doc.team_name or team_doc.name
		self.currency = team_doc.currency
		self.members = {row.user for row in team_doc.members}
		self.fallback_owner = fallback_owner if fallback_owner in self.members else None
		stages = get_team_stages(self.team)
		self.stage_names = {stage.name: stage.stage_name for stage in stages}
		open_stages = [stage for stage in stages if stage.stage_type == OPEN]
		self.first_stage = open_stages[0].name if open_stages else None
		self.open_stages = {}
		for stage in open_stages:
			self.open_stages.setdefault(stage.stage_name.strip().casefold(), stage.name)
		self.contacts, self.leads, self.lead_customers, self.lead_prospects = {}, {}, {}, {}

	def prepare(self, doctype: str, sources) -> None:
		if doctype == "Lead":
			parties = {("Lead", source.name) for source in sources}
			leads = [source.name for source in sources]
		else:
			parties = {
				(s.opportunity_from, s.party_name) for s in sources if s.party_name and not s.contact_person
			}
			leads = [s.party_name for s in sources if s.opportunity_from == "Lead" and s.party_name]
			self.leads = (
				{row.name: row for row in frappe.get_all("Lead", {"name": ("in", leads)}, LEAD_FIELDS)}
				if leads
				else {}
			)
		self.contacts = linked_contacts(parties)
		self.lead_customers = (
			dict(
				frappe.get_all("Customer", {"lead_name": ("in", leads)}, ["lead_name", "name"], as_list=True)
			)
			if leads
			else {}
		)
		self.lead_prospects = (
			dict(
				frappe.get_all(
					"Prospect Lead",
					{"parenttype": "Prospect", "lead": ("in", leads)},
					["lead", "parent"],
					as_list=True,
				)
			)
			if leads
			else {}
		)

	def convert(self, source, ignore_permissions: bool = False, note=None):
		"""Inserts the Pipeline Opportunity for `source` (a Lead or Opportunity document, or a dict of
		the same fields and tables) and notes the conversion on both timelines: `note(doctype, name,
		text)`, by default a Comment inserted at once (the import collects them for its batch)."""
		note = note or add_comment
		values, notes = (
			self.lead_values(source) if source.doctype == "Lead" else self.opportunity_values(source)
		)
		outcome = values.pop("outcome", None)
		doc = frappe.get_doc({"doctype": OPPORTUNITY, "team": self.team, **values})
		doc.flags.caused_by = (source.doctype, source.name)  # named in the stage history
		doc.insert(ignore_permissions=ignore_permissions)
		if outcome:
			# the outcome Workflow starts every opportunity Open: Won or Lost is a second save, as
			# when a seller marks it (the rules move it to the team's first stage of that kind)
			doc.update(outcome)
			doc.save(ignore_permissions=ignore_permissions)
		origin = _("Converted from {0} {1}").format(_(source.doctype), link_to(source.doctype, source.name))
		note(OPPORTUNITY, doc.name, " ".join([origin, *notes]))
		note(
			source.doctype,
			source.name,
			_("Converted to Pipeline Opportunity {0} in team {1}").format(
				link_to(OPPORTUNITY, doc.name), escape_html(self.team_name)
			),
		)
		return doc

	# the mapping
	# -----------

	def lead_values(self, lead) -> tuple[dict, list[str]]:
		values = {
			"title": lead.company_name or lead.lead_name or lead.name,
			"lead": lead.name,
			"customer": lead.customer or self.lead_customers.get(lead.name),
			"prospect": self.lead_prospects.get(lead.name),
			"company": lead.company,
			"stage": self.first_stage,
			"source": source_option(lead.source),
			"opportunity_owner": self.owner(lead.lead_owner),
			**self.contact_values(("Lead", lead.name), lead),
		}
		return values, []

	def opportunity_values(self, opportunity) -> tuple[dict, list[str]]:
		notes = []
		status = STATUSES.get(opportunity.status, OPEN)
		factor = self.amount_factor(opportunity, notes)
		values = {
			"title": opportunity.title or opportunity.customer_name or opportunity.party_name,
			"erpnext_opportunity": opportunity.name,
			"company": opportunity.company,
			"stage": self.stage_for(opportunity.sales_stage),
			"expected_close_date": opportunity.expected_closing,
			"amount": flt(opportunity.opportunity_amount) * factor,
			"items": [
				{
					"item": row.item_code,
					"qty": flt(row.qty),
					"rate": flt(row.rate) * factor,
					"description": strip_html(row.description or "").strip() or row.item_name,
				}
				for row in opportunity.get("items") or []
				if row.item_code
			],
			"source": source_option(opportunity.source),
			"opportunity_owner": self.owner(opportunity.opportunity_owner),
		}
		party_field = PARTY_FIELDS.get(opportunity.opportunity_from)
		if party_field and opportunity.party_name:
			values[party_field] = opportunity.party_name
		lead = self.leads.get(opportunity.party_name) if opportunity.opportunity_from == "Lead" else None
		if lead:
			values["customer"] = lead.customer or self.lead_customers.get(lead.name)
			values["prospect"] = self.lead_prospects.get(lead.name)
		if status == LOST:
			values["outcome"] = {
				"status": LOST,
				"lost_reason": lost_reason_for(opportunity),
				"lost_detail": opportunity.order_lost_reason or None,
			}
		elif status == WON:
			values["outcome"] = {"status": WON}
		if opportunity.contact_person:
			values["contact"] = opportunity.contact_person
		else:
			fields = frappe._dict(
				lead_name=opportunity.contact_display or (lead and lead.lead_name),
				email_id=opportunity.contact_email or (lead and lead.email_id),
				mobile_no=opportunity.contact_mobile or opportunity.phone or (lead and lead.mobile_no),
			)
			values.update(self.contact_values((opportunity.opportunity_from, opportunity.party_name), fields))
		return values, notes

	def contact_values(self, party: tuple, fields) -> dict:
		"""The Contact linked to the party, else the party's name, email and phone as they are."""
		contact = self.contacts.get(party)
		if contact:
			return {"contact": contact}
		return {
			"contact_name": fields.lead_name,
			"contact_email": fields.email_id,
			"contact_phone": fields.get("mobile_no") or fields.get("phone"),
		}

	def stage_for(self, sales_stage: str | None) -> str | None:
		"""The team's open stage named like ERPNext's sales stage (case aside), or like one part of a
		name such as "Proposal/Price Quote"; else the team's first stage."""
		key = (sales_stage or "").strip().casefold()
		for candidate in (key, *(part.strip() for part in key.split("/"))):
			if candidate in self.open_stages:
				return self.open_stages[candidate]
		return self.first_stage

	def amount_factor(self, opportunity, notes: list[str]) -> float:
		"""Amounts in the team's currency: as they are when the currencies match (or the team names
		none); at the opportunity's own exchange rate when the team's is the company's currency
		(ERPNext's base amounts); else as they are, said in the timeline comment."""
		if not self.currency or not opportunity.currency or opportunity.currency == self.currency:
			return 1
		if self.currency == frappe.get_cached_value("Company", opportunity.company, "default_currency"):
			return flt(opportunity.conversion_rate) or 1
		notes.append(
			_("Its amounts are in {0}, not in the team's {1}.").format(opportunity.currency, self.currency)
		)
		return 1

	def owner(self, user: str | None) -> str | None:
		return user if user in self.members else self.fallback_owner


def linked_contacts(parties: set[tuple]) -> dict[tuple, str]:
	"""(party doctype, party name) → the Contact linked to it (its primary contact first)."""
	parties = {(doctype, name) for doctype, name in parties if doctype and name}
	if not parties:
		return {}
	link = frappe.qb.DocType("Dynamic Link")
	contact = frappe.qb.DocType("Contact")
	rows = (
		frappe.qb.from_(link)
		.join(contact)
		.on(contact.name == link.parent)
		.select(link.link_doctype, link.link_name, link.parent)
		.where(
			(link.parenttype == "Contact")
			& link.link_doctype.isin(list({doctype for doctype, _name in parties}))
			& link.link_name.isin(list({name for _doctype, name in parties}))
		)
		.orderby(contact.is_primary_contact, order=frappe.qb.desc)
		.orderby(contact.creation)
		.run()
	)
	found = {}
	for doctype, name, parent in rows:
		if (doctype, name) in parties:
			found.setdefault((doctype, name), parent)
	return found


def lost_reason_for(opportunity) -> str:
	"""ERPNext's lost reason as a Pipeline Lost Reason, mapped as a lost Quotation's is (the first
	reason, else a competitor); "Opportunity lost" when it gives none."""
	if not any(row.lost_reason for row in opportunity.get("lost_reasons") or []) and not opportunity.get(
		"competitors"
	):
		opportunity = frappe._dict(lost_reasons=[frappe._dict(lost_reason=_("Opportunity lost"))])
	return pipeline_lost_reason(opportunity)


def source_option(lead_source: str | None) -> str | None:
	"""ERPNext's Lead Source as one of the opportunity's sources, where one means the same."""
	if not lead_source:
		return None
	key = lead_source.strip().casefold()
	options = frappe.get_meta(OPPORTUNITY).get_options("source").split("\n")
	return next((option for option in options if option and option.casefold() == key), None) or (
		SOURCE_NAMES.get(key)
	)


def link_to(doctype: str, name: str) -> str:
	"""A link to the form, relative (a comment made from the bench command has no request host)."""
	return f'<a href="{get_absolute_url(doctype, name)}">{escape_html(name)}</a>'


def add_comment(doctype: str, name: str, text: str) -> None:
	"""An Info comment on a timeline, as the user."""
	frappe.get_doc(
		{
			"doctype": "Comment",
			"comment_type": "Info",
			"comment_email": frappe.session.user,
			"reference_doctype": doctype,
			"reference_name": name,
			"content": text,
		}
	).insert(ignore_permissions=True)


def insert_comments(notes: list[tuple[str, str, str]]) -> None:
	"""The batch's Info comments in one statement: the row `add_comment` leaves (an Info comment
	touches neither its document's `_comments` nor any realtime room; the import test compares the
	two rows column by column)."""
	if not notes:
		return
	user, now = frappe.session.user, now_datetime()
	frappe.db.bulk_insert(
		"Comment",
		COMMENT_COLUMNS,
		[
			(frappe.generate_hash(length=10), "Info", user, doctype, name, text, now, now, user, user)
			for doctype, name, text in notes
		],
	)


# The bulk import (bench command)
# -------------------------------


def import_erpnext_opportunities(
	team: str,
	statuses: list[str] | tuple[str, ...] | None = None,
	limit: int | None = None,
	batch_size: int = BATCH_SIZE,
) -> dict:
	"""Imports ERPNext Opportunities (of `statuses`, all by default) into the team's funnel, at most
	`limit`, skipping those the team already has. Trusted code. Keyset batches on the name, each
	committed; the batch's rows are locked as in a single conversion, so a seller converting one
	meanwhile gets the same opportunity. One that fails goes to the Error Log and the import goes on.
	Returns the counts: imported, skipped (already in the team), failed, and imported per stage."""
	require_erpnext()
	if not team or not frappe.db.exists("Pipeline Team", team):
		frappe.throw(_("Pipeline Team {0} not found").format(team), frappe.DoesNotExistError)
	statuses = list(statuses or ERPNEXT_STATUSES)
	unknown = sorted(set(statuses) - set(ERPNEXT_STATUSES))
	if unknown:
		frappe.throw(
			_("Unknown Opportunity status {0}; use {1}").format(
				", ".join(unknown), ", ".join(ERPNEXT_STATUSES)
			),
			frappe.ValidationError,
			title=_("Invalid Status"),
		)
	conversion = Conversion(team)
	counts = {"imported": 0, "skipped": 0, "failed": 0, "stages": {}}
	names = next_batch(statuses, "", batch_size)
	while names:
		lock_sources("Opportunity", names)
		already = converted(team, "Opportunity", names)
		todo = [name for name in names if name not in already]
		if limit is not None:
			todo = todo[: max(limit - counts["imported"] - counts["failed"], 0)]
		counts["skipped"] += len(already)
		sources = load_opportunities(todo)
		conversion.prepare("Opportunity", sources)
		notes = []
		for source in sources:
			made, row_notes = None, []
			with isolated_row(JOB, "Opportunity", source.name):
				made = conversion.convert(
					source, ignore_permissions=True, note=lambda *args: row_notes.append(args)
				)
			if made is None:
				counts["failed"] += 1
				continue
			notes += row_notes
			counts["imported"] += 1
			stage = conversion.stage_names.get(made.stage, made.stage)
			counts["stages"][stage] = counts["stages"].get(stage, 0) + 1
		insert_comments(notes)
		if notes:
			publish_team_refresh(team)  # the team's boards reload once the batch is committed
		frappe.db.commit()
		if limit is not None and counts["imported"] + counts["failed"] >= limit:
			break
		names = next_batch(statuses, names[-1], batch_size)
	frappe.db.commit()
	return counts


def next_batch(statuses: list[str], after: str, batch_size: int) -> list[str]:
	opportunity = frappe.qb.DocType("Opportunity")
	return (
		frappe.qb.from_(opportunity)
		.select(opportunity.name)
		.where((opportunity.name > after) & opportunity.status.isin(statuses))
		.orderby(opportunity.name)
		.limit(batch_size)
		.run(pluck=True)
	)


def load_opportunities(names: list[str]) -> list[frappe._dict]:
	"""The ERPNext Opportunities with the fields and table rows the mapping reads, in a query per
	table for the whole batch."""
	if not names:
		return []
	sources = {
		row.name: row
		for row in frappe.get_all(
			"Opportunity", {"name": ("in", names)}, OPPORTUNITY_FIELDS, order_by="name asc"
		)
	}
	for row in sources.values():
		row.doctype = "Opportunity"
		for fieldname, _doctype, _fields in OPPORTUNITY_TABLES:
			row[fieldname] = []
	for fieldname, doctype, fields in OPPORTUNITY_TABLES:
		for child in frappe.get_all(
			doctype,
			{"parenttype": "Opportunity", "parentfield": fieldname, "parent": ("in", names)},
			["parent", *fields],
			order_by="parent asc, idx asc",
		):
			sources[child.parent][fieldname].append(child)
	return [sources[name] for name in names if name in sources]
