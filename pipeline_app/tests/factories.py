"""Factories for tests and demo data: users, teams, contacts, opportunities. Trusted code."""

from contextlib import contextmanager

import frappe
from frappe.utils import random_string
from frappe.utils.password import update_password

from pipeline_app.teams import delete_user_teams_cache

PASSWORD = "Pipeline-test-pw-1"


def make_user(email: str | None = None, roles=("Pipeline User",), password: str = PASSWORD) -> str:
	email = (email or f"{random_string(8)}@pipeline.test").lower()
	if not frappe.db.exists("User", email):
		user = frappe.get_doc(
			{
				"doctype": "User",
				"email": email,
				"first_name": email.split("@")[0].replace(".", " ").title(),
				"send_welcome_email": 0,
				"user_type": "System User",
			}
		)
		user.flags.no_welcome_mail = True
		user.insert(ignore_permissions=True)
	user = frappe.get_doc("User", email)
	missing = [role for role in roles if role not in {r.role for r in user.roles}]
	if missing:
		user.add_roles(*missing)
	if "System Manager" not in roles and "System Manager" in {r.role for r in user.roles}:
		# once setup is complete, Frappe makes the first system user a System Manager (and gives the
		# role back on every save while no other exists): take it away underneath
		frappe.db.delete("Has Role", {"parenttype": "User", "parent": email, "role": "System Manager"})
		frappe.clear_cache(user=email)
		delete_user_teams_cache()  # the kept team readers, as a save of the user clears them
	update_password(email, password)
	return email


def make_team(
	name: str | None = None,
	members=(),
	leads=(),
	template: str | None = "Sales funnel",
	**fields,
):
	name = name or f"Team {random_string(6)}"
	team = frappe.get_doc(
		{
			"doctype": "Pipeline Team",
			"team_name": name,
			"funnel_template": template,
			"members": [{"user": user, "is_lead": 0} for user in members]
			+ [{"user": user, "is_lead": 1} for user in leads],
			**fields,
		}
	)
	team.insert(ignore_permissions=True)
	return team


def make_contact(first_name: str | None = None, email: str | None = None, phone: str | None = None) -> str:
	first_name = first_name or f"Contact {random_string(5)}"
	contact = frappe.get_doc({"doctype": "Contact", "first_name": first_name})
	if email:
		contact.append("email_ids", {"email_id": email, "is_primary": 1})
	if phone:
		contact.append("phone_nos", {"phone": phone, "is_primary_mobile_no": 1})
	contact.insert(ignore_permissions=True)
	return contact.name


def make_opportunity(team: str, title: str | None = None, **fields):
	doc = frappe.get_doc(
		{
			"doctype": "Pipeline Opportunity",
			"title": title or f"Opportunity {random_string(6)}",
			"team": team,
			**fields,
		}
	)
	doc.insert()
	return doc


def stage_named(team: str, stage_name: str) -> str:
	return frappe.db.get_value("Funnel Stage", {"team": team, "stage_name": stage_name}, "name")


def set_gate(team: str, stage_name: str, **gate) -> str:
	"""Sets stage gates (pipeline_app/gates.py) on a team's stage; returns the stage."""
	stage = frappe.get_doc("Funnel Stage", stage_named(team, stage_name))
	stage.update(gate).save(ignore_permissions=True)
	return stage.name


def purge_team(*teams: str) -> None:
	"""Deletes teams with everything in them (their opportunities and what is attached to those) and
	commits: the teardown of tests whose data is committed (jobs, the web server, the browser)."""
	frappe.db.rollback()
	for team in teams:
		for name in frappe.get_all("Pipeline Opportunity", {"team": team}, pluck="name"):
			for doctype, field in (
				("File", "attached_to_name"),
				("Comment", "reference_name"),
				("ToDo", "reference_name"),
				("Document Follow", "ref_docname"),
			):
				frappe.db.delete(doctype, {field: name})
			frappe.delete_doc("Pipeline Opportunity", name, force=True, ignore_permissions=True)
		if frappe.db.exists("Pipeline Team", team):
			frappe.delete_doc("Pipeline Team", team, force=True, ignore_permissions=True)
	frappe.db.commit()


@contextmanager
def outcome_workflow_copy(edit, commit: bool = False):
	"""An active copy of the outcome Workflow, changed by `edit(workflow)` before it is saved; the
	original is active again afterwards, untouched. With `commit` (the web server is another process)
	the copy is committed and deleted afterwards; otherwise it goes with the test's rollback."""
	from frappe.model.workflow import get_workflow_name

	original = get_workflow_name("Pipeline Opportunity")
	copy = frappe.copy_doc(frappe.get_doc("Workflow", original))
	copy.workflow_name = f"{original} {random_string(6)}"
	copy.is_active = 1
	edit(copy)
	copy.insert(ignore_permissions=True)
	if commit:
		frappe.db.commit()
	try:
		yield copy
	finally:
		frappe.db.rollback()
		if commit:
			frappe.delete_doc("Workflow", copy.name, force=True, ignore_permissions=True)
			workflow = frappe.get_doc("Workflow", original)
			workflow.is_active = 1
			workflow.save(ignore_permissions=True)
			frappe.db.commit()
		# Frappe keeps the doctype's active Workflow in Redis, which a rollback does not restore
		frappe.clear_cache(doctype="Pipeline Opportunity")
		assert get_workflow_name("Pipeline Opportunity") == original


def restrict_action(action: str, role: str):
	"""An `edit` for outcome_workflow_copy: only `role` may take `action`."""

	def edit(workflow):
		for transition in workflow.transitions:
			if transition.action == action:
				transition.allowed = role

	return edit


def other_connection():
	"""A second connection to the site's database, as another worker (or host) has. Frappe's
	FrappeTestCase.secondary_connection leaks into frappe.db on first use."""
	from frappe.database import get_db

	conf = frappe.local.conf
	return get_db(
		socket=conf.db_socket,
		host=conf.db_host,
		port=conf.db_port,
		user=conf.db_name,
		password=conf.db_password,
		cur_db_name=conf.db_name,
	)
