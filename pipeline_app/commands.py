import click
from frappe.commands import get_site, pass_context


@click.command("pipeline-demo")
@click.option(
	"--opportunities", default=300, show_default=True, type=int, help="Total demo opportunities wanted"
)
@click.option("--seed", default=7, show_default=True, type=int, help="Random seed")
@pass_context
def pipeline_demo(context, opportunities: int, seed: int):
	"""Builds (or tops up) the pipeline demo: teams, users, contacts, opportunities, appointments."""
	import frappe

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


commands = [pipeline_demo]
