"""Rows written straight to a table (pipeline_app/bulk.py): names that never clash and ascend, and rows
that read back as written."""

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import now_datetime

from pipeline_app.bulk import bulk_names, insert_rows


class TestBulkRows(FrappeTestCase):
	def test_names_ascend_within_a_batch_and_never_repeat(self):
		batches = [bulk_names(1000) for _ in range(50)]
		names = [name for batch in batches for name in batch]
		self.assertEqual(len(set(names)), len(names))
		for batch in batches:
			self.assertEqual(batch, sorted(batch))
			self.assertTrue(all(len(name) == 23 for name in batch))

	def test_rows_read_back_as_written_with_quotes_and_nulls(self):
		now = now_datetime()
		names = bulk_names(3)
		descriptions = ['it\'s "quoted"', "back\\slash; drop table `tabToDo`", None]
		insert_rows(
			"ToDo",
			("name", "status", "priority", "description", "creation", "modified", "owner", "modified_by"),
			[
				(name, "Open", "Low", description, now, now, "Administrator", "Administrator")
				for name, description in zip(names, descriptions, strict=True)
			],
			chunk=2,  # two statements
		)
		found = dict(frappe.get_all("ToDo", {"name": ("in", names)}, ["name", "description"], as_list=True))
		self.assertEqual([found[name] for name in names], descriptions)
