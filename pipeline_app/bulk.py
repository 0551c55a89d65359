"""Rows written straight to a doctype's table, for the app's bulk writers (the demo, the stage history,
the column counts): what frappe.db.bulk_insert writes, without building each statement through the
query builder, which costs more than running it (about 3 s per 100,000 rows)."""

import secrets
import time

import frappe

# the columns of a Comment row as Document.add_comment leaves it (the demo's assignment comments, the
# ERPNext import's Info comments), name first
COMMENT_COLUMNS = (
	"name",
	"comment_type",
	"comment_email",
	"reference_doctype",
	"reference_name",
	"content",
	"creation",
	"modified",
	"owner",
	"modified_by",
)


def insert_rows(doctype: str, columns, rows, chunk: int = 2000) -> None:
	"""`rows` (tuples in `columns` order) into `doctype`'s table, `chunk` rows per statement. Trusted:
	`columns` are the callers' own constants; the values go as parameters."""
	fields = ", ".join(f"`{column}`" for column in columns)
	one_row = "(" + ", ".join(["%s"] * len(columns)) + ")"
	for start in range(0, len(rows), chunk):
		part = rows[start : start + chunk]
		frappe.db.sql(
			f"insert into `tab{doctype}` ({fields}) values {', '.join([one_row] * len(part))}",
			[value for row in part for value in row],
		)


def bulk_names(count: int) -> list[str]:
	"""`count` names for bulk rows of a hash-named doctype, ascending: the microsecond they were made
	(13 hex digits), 3 random ones and a counter, 23 characters. Frappe's own hash names are 10 random
	characters, retried on a clash: a million random bulk names of 10 would clash, and random names
	scatter the inserts over the whole primary key, which slows them once the table outgrows MariaDB's
	buffer pool; ascending names go in at its end."""
	prefix = f"{time.time_ns() // 1000:013x}{secrets.randbelow(16**3):03x}"
	return [f"{prefix}{number:07d}" for number in range(count)]
