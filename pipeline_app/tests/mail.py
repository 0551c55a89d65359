"""A real SMTP server on loopback and an outgoing Email Account pointing at it, for the tests of
what the app emails (notifications, digests)."""

import socket

import frappe

OUTGOING_EMAIL = "pipeline-outgoing@pipeline.test"


class LoopbackSmtp:
	"""`start()` an aiosmtpd server on a free loopback port; what it receives is in `received` as
	(recipients, raw message). `set_up_outgoing_mail()` makes it the site's default outgoing account
	(committed); `stop()` stops the server and removes the account."""

	def __init__(self):
		self.received: list[tuple[list[str], str]] = []
		self.controller = None
		self.port = None

	def start(self) -> "LoopbackSmtp":
		from aiosmtpd.controller import Controller

		received = self.received

		class Handler:
			async def handle_DATA(self, server, session, envelope):
				received.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
				return "250 OK"

		with socket.socket() as probe:  # a free port on loopback
			probe.bind(("127.0.0.1", 0))
			self.port = probe.getsockname()[1]
		self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
		self.controller.start()
		frappe.flags.testing_email = True  # hand the mail to the SMTP server, as in production
		return self

	def set_up_outgoing_mail(self) -> None:
		frappe.get_doc(
			{
				"doctype": "Email Account",
				"email_account_name": "Pipeline outgoing",
				"email_id": OUTGOING_EMAIL,
				"enable_outgoing": 1,
				"default_outgoing": 1,
				"smtp_server": "127.0.0.1",
				"smtp_port": self.port,
				"no_smtp_authentication": 1,
				"use_tls": 0,
				"use_ssl": 0,
			}
		).insert(ignore_permissions=True)
		frappe.local.outgoing_email_account = {}

	def stop(self) -> None:
		frappe.flags.testing_email = False
		if self.controller:
			self.controller.stop()
		frappe.db.delete("Email Account", {"email_id": OUTGOING_EMAIL})
		frappe.db.commit()
		frappe.local.outgoing_email_account = {}
