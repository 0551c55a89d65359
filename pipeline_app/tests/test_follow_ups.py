"""Due follow-ups notify exactly once (and by email where outgoing mail is set up); holds end by
themselves or by hand."""

import email

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, add_to_date, get_datetime, getdate, now_datetime, today

from pipeline_app.automation.follow_ups import notify_due_follow_ups, resume_held_opportunities
from pipeline_app.tests.factories import make_opportunity, make_team, make_user, purge_team
from pipeline_app.tests.mail import LoopbackSmtp


class TestFollowUps(FrappeTestCase):
	def setUp(self):
		self.seller = make_user()
		self.lead = make_user()
		self.team = make_team(members=[self.seller], leads=[self.lead]).name
		frappe.db.commit()

	def tearDown(self):
		purge_team(self.team)

	def notifications(self, user, name):
		return frappe.get_all(
			"Notification Log",
			filters={
				"for_user": user,
				"document_type": "Pipeline Opportunity",
				"document_name": name,
				"type": "Alert",  # not the owner's assignment notification
			},
			pluck="subject",
		)

	def test_due_follow_up_notifies_owner_once(self):
		due = get_datetime(f"{add_days(today(), 1)} 10:00:00")
		doc = make_opportunity(self.team, opportunity_owner=self.seller, follow_up_on=due)
		with self.freeze_time(add_to_date(due, minutes=-10)):
			notify_due_follow_ups()
		self.assertEqual(self.notifications(self.seller, doc.name), [])
		with self.freeze_time(add_to_date(due, minutes=2)):
			notify_due_follow_ups()
			notify_due_follow_ups()
		with self.freeze_time(add_to_date(due, hours=3)):
			notify_due_follow_ups()
		self.assertEqual(len(self.notifications(self.seller, doc.name)), 1)
		self.assertEqual(self.notifications(self.lead, doc.name), [])

	def test_unassigned_follow_up_notifies_team_leads(self):
		doc = make_opportunity(self.team, follow_up_on=add_to_date(now_datetime(), minutes=-5))
		notify_due_follow_ups()
		self.assertEqual(len(self.notifications(self.lead, doc.name)), 1)
		self.assertEqual(self.notifications(self.seller, doc.name), [])

	def test_new_follow_up_time_notifies_again(self):
		doc = make_opportunity(
			self.team, opportunity_owner=self.seller, follow_up_on=add_to_date(now_datetime(), minutes=-5)
		)
		notify_due_follow_ups()
		doc.reload()
		doc.follow_up_on = add_to_date(now_datetime(), minutes=-1)
		doc.save()
		notify_due_follow_ups()
		self.assertEqual(len(self.notifications(self.seller, doc.name)), 2)

	def test_closed_opportunity_gets_no_follow_up(self):
		doc = make_opportunity(
			self.team, opportunity_owner=self.seller, follow_up_on=add_to_date(now_datetime(), minutes=-5)
		)
		doc.status = "Won"
		doc.save()
		notify_due_follow_ups()
		self.assertEqual(self.notifications(self.seller, doc.name), [])

	def test_client_cannot_mark_a_follow_up_notified(self):
		doc = make_opportunity(
			self.team, opportunity_owner=self.seller, follow_up_on=add_to_date(now_datetime(), minutes=-5)
		)
		doc.follow_up_notified_for = doc.follow_up_on
		doc.save()
		self.assertIsNone(frappe.db.get_value("Pipeline Opportunity", doc.name, "follow_up_notified_for"))

	def test_hold_ends_on_its_date(self):
		doc = make_opportunity(self.team, opportunity_owner=self.seller)
		doc.update({"status": "On Hold", "on_hold_until": add_days(today(), 3)})
		doc.save()
		with self.freeze_time(f"{add_days(today(), 2)} 23:00:00"):
			resume_held_opportunities()
		self.assertEqual(frappe.db.get_value("Pipeline Opportunity", doc.name, "status"), "On Hold")
		with self.freeze_time(f"{add_days(today(), 3)} 00:30:00"):
			resume_held_opportunities()
			resume_held_opportunities()
		doc.reload()
		self.assertEqual((doc.status, doc.on_hold_until), ("Open", None))
		notes = frappe.get_all(
			"Comment", {"reference_name": doc.name, "comment_type": "Info"}, pluck="content"
		)
		self.assertEqual(len(notes), 1)
		self.assertIn(frappe.utils.formatdate(getdate(add_days(today(), 3))), notes[0])
		self.assertEqual(len(self.notifications(self.seller, doc.name)), 1)

	def forget_error_logs(self, name):
		"""A rolled back test gives its opportunity's name back to the naming series: older logs may
		name it."""
		frappe.db.delete("Error Log", {"reference_doctype": "Pipeline Opportunity", "reference_name": name})

	def error_logs(self, name):
		return frappe.db.count(
			"Error Log", {"reference_doctype": "Pipeline Opportunity", "reference_name": name}
		)

	def held(self, **fields):
		doc = make_opportunity(self.team, **fields)
		doc.update({"status": "On Hold", "on_hold_until": add_days(today(), 3)})
		doc.save()
		return doc

	def test_a_follow_up_that_fails_is_logged_and_the_others_are_notified(self):
		due = add_to_date(now_datetime(), minutes=-5)
		bad = make_opportunity(self.team, opportunity_owner=self.seller, follow_up_on=due)
		good = make_opportunity(self.team, opportunity_owner=self.seller, follow_up_on=due)
		# an owner whose user is gone (written underneath): no notification can be made for them
		frappe.db.set_value("Pipeline Opportunity", bad.name, "opportunity_owner", "gone@pipeline.test")
		self.forget_error_logs(bad.name)
		notify_due_follow_ups()
		frappe.db.rollback()
		self.assertEqual(len(self.notifications(self.seller, good.name)), 1)
		self.assertIsNotNone(frappe.db.get_value("Pipeline Opportunity", good.name, "follow_up_notified_for"))
		self.assertIsNone(frappe.db.get_value("Pipeline Opportunity", bad.name, "follow_up_notified_for"))
		self.assertEqual(self.error_logs(bad.name), 1)

	def test_a_hold_that_cannot_end_is_logged_and_the_others_resume(self):
		bad = self.held()
		good = self.held(opportunity_owner=self.seller)
		# an owner who left the team (written underneath): the rules refuse every save of it
		frappe.db.set_value("Pipeline Opportunity", bad.name, "opportunity_owner", make_user())
		self.forget_error_logs(bad.name)
		self.forget_error_logs(good.name)
		with self.freeze_time(f"{add_days(today(), 3)} 00:30:00"):
			resume_held_opportunities()
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value("Pipeline Opportunity", good.name, "status"), "Open")
		self.assertEqual(frappe.db.get_value("Pipeline Opportunity", bad.name, "status"), "On Hold")
		self.assertEqual(self.error_logs(bad.name), 1)
		self.assertEqual(self.error_logs(good.name), 0)

	def test_a_hold_end_that_fails_midway_leaves_nothing_half_done(self):
		"""The save back to Open succeeds, the notification after it fails: the save is undone too."""
		bad = self.held()  # unassigned: the team leads are notified
		frappe.db.set_value(
			"Pipeline Team Member", {"parent": self.team, "user": self.lead}, "user", "gone@pipeline.test"
		)
		good = self.held(opportunity_owner=self.seller)
		self.forget_error_logs(bad.name)
		history = frappe.db.count("Pipeline Stage Change", {"opportunity": bad.name})
		with self.freeze_time(f"{add_days(today(), 3)} 00:30:00"):
			resume_held_opportunities()
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value("Pipeline Opportunity", bad.name, "status"), "On Hold")
		self.assertEqual(frappe.db.count("Pipeline Stage Change", {"opportunity": bad.name}), history)
		self.assertEqual(
			frappe.get_all("Comment", {"reference_name": bad.name, "comment_type": "Info"}, pluck="name"), []
		)
		self.assertEqual(self.error_logs(bad.name), 1)
		self.assertEqual(frappe.db.get_value("Pipeline Opportunity", good.name, "status"), "Open")

	def test_hold_can_be_resumed_by_hand_earlier(self):
		from frappe.model.workflow import apply_workflow

		doc = make_opportunity(self.team)
		doc.update({"status": "On Hold", "on_hold_until": add_days(today(), 10)})
		doc.save()
		apply_workflow(doc, "Resume")
		self.assertEqual(frappe.db.get_value("Pipeline Opportunity", doc.name, "status"), "Open")


class TestNotificationEmails(FrappeTestCase):
	"""Notifications also go out by email, through a real SMTP server on loopback, where an outgoing
	Email Account is set up; without one, or for a user who turned email notifications off, nothing
	is sent."""

	def setUp(self):
		self.smtp = LoopbackSmtp().start()
		self.received = self.smtp.received
		self.seller = make_user()
		self.team = make_team(members=[self.seller]).name
		frappe.db.commit()

	def tearDown(self):
		self.smtp.stop()
		purge_team(self.team)

	def set_up_outgoing_mail(self):
		self.smtp.set_up_outgoing_mail()

	def due_opportunity(self, title):
		return make_opportunity(
			self.team,
			title=title,
			opportunity_owner=self.seller,
			follow_up_on=add_to_date(now_datetime(), minutes=-5),
		)

	def test_due_follow_up_is_emailed_where_outgoing_mail_is_set_up(self):
		self.set_up_outgoing_mail()
		doc = self.due_opportunity("Mailed follow-up")
		assignment_mails = len(self.received)  # the owner was also told of the assignment
		notify_due_follow_ups()
		self.assertEqual(len(self.received), assignment_mails + 1)
		recipients, content = self.received[-1]
		self.assertEqual(recipients, [self.seller])
		mail = email.message_from_string(content)
		self.assertIn("Mailed follow-up", mail["Subject"])
		html = next(part for part in mail.walk() if part.get_content_type() == "text/html")
		self.assertIn(f"/app/pipeline-opportunity/{doc.name}", html.get_payload(decode=True).decode())

	def test_no_email_without_outgoing_mail(self):
		doc = self.due_opportunity("Bell only")
		notify_due_follow_ups()
		self.assertTrue(
			frappe.db.exists("Notification Log", {"for_user": self.seller, "document_name": doc.name})
		)
		self.assertEqual(self.received, [])
		self.assertFalse(frappe.db.exists("Email Queue Recipient", {"recipient": self.seller}))

	def test_no_email_for_a_user_who_turned_email_notifications_off(self):
		self.set_up_outgoing_mail()
		frappe.db.set_value("Notification Settings", self.seller, "enable_email_notifications", 0)
		doc = self.due_opportunity("Muted")
		notify_due_follow_ups()
		self.assertTrue(
			frappe.db.exists("Notification Log", {"for_user": self.seller, "document_name": doc.name})
		)
		self.assertEqual(self.received, [])
