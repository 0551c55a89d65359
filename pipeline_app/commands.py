import time

import click
import frappe
from frappe.commands import get_site, pass_context

from pipeline_app.column_counts import rebuild
from pipeline_app.erpnext.conversion import import_erpnext_opportunities


@click.command("pipeline-demo")
@click.option(
	"--opportunities", default=300, show_default=True, type=int, help="Total demo opportunities wanted"
)
@click.option("--seed", default=7, show_default=True, type=int, help="Random seed")
@pass_context
def pipeline_demo(context, opportunities: int, seed: int):
	"""Builds (or tops up) the pipeline demo: teams, users, contacts, opportunities, appointments."""
	# deferred: bench imports every app's commands on each call, the demo pulls in most of the app (54 ms)
	from pipeline_app.demo import DEMO_PASSWORD, make_demo

	site = get_site(context)
	frappe.init(site=site)
	frappe.connect()
	try:
		result = make_demo(opportunities=opportunities, seed=seed)
		click.echo(
			f"Demo on {site}: created {result['created']} opportunities in {result['seconds']}s "
			f"({result['total']} in all). Users: anna, ben, carla, dave, eve, manager "
			f"@demo.pipeline.test, password {DEMO_PASSWORD}"
		)
	finally:
		frappe.destroy()


@click.command("pipeline-import-erpnext-opportunities")
@click.option("--team", required=True, help="The Pipeline Team (its name) to import into")
@click.option(
	"--status",
	"statuses",
	multiple=True,
	help="Only ERPNext Opportunities of this status (repeat for several; default: all)",
)
@click.option("--limit", type=int, default=None, help="Import at most this many")
@click.option("--batch-size", type=int, default=100, show_default=True, help="Opportunities per commit")
@pass_context
def pipeline_import_erpnext_opportunities(context, team: str, statuses, limit, batch_size: int):
	"""Imports ERPNext Opportunities into a team's funnel (stages by name, else the first stage);
	those the team already has are skipped, so a second run imports nothing new."""
	site = get_site(context)
	frappe.init(site=site)
	frappe.connect()
	try:
		frappe.set_user("Administrator")
		started = time.monotonic()
		try:
			counts = import_erpnext_opportunities(team, statuses, limit, batch_size)
		except frappe.ValidationError as error:
			raise click.ClickException(frappe.utils.strip_html(str(error))) from error
		seconds = time.monotonic() - started
		click.echo(
			f"{site}, team {team}: imported {counts['imported']}, skipped {counts['skipped']} "
			f"(already in the team), failed {counts['failed']} in {seconds:.1f}s"
		)
		for stage, count in sorted(counts["stages"].items(), key=lambda pair: -pair[1]):
			click.echo(f"  {stage}: {count}")
		if counts["failed"]:
			click.echo("The failed ones are in the Error Log (title: Pipeline ERPNext import: ...).")
			raise SystemExit(1)
	finally:
		frappe.destroy()


@click.command("pipeline-rebuild-column-counts")
@click.option("--team", "teams", multiple=True, help="Only this team (repeat for several; default: all)")
@pass_context
def pipeline_rebuild_column_counts(context, teams):
	"""Counts the board's column totals again from the opportunities: after writes that bypassed
	the document API (SQL run by hand, a restored table)."""
	site = get_site(context)
	frappe.init(site=site)
	frappe.connect()
	try:
		started = time.monotonic()
		rebuild(list(teams) or None)
		click.echo(f"{site}: column totals counted again in {time.monotonic() - started:.1f}s")
	finally:
		frappe.destroy()


commands = [pipeline_demo, pipeline_import_erpnext_opportunities, pipeline_rebuild_column_counts]
