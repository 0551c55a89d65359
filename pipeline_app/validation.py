"""Bad input to the app answers a clear, translated 4xx and changes nothing; server tracebacks reach
System Managers only. Wired in hooks.py:

- `before_request`: a request to one of the app's methods (or to a report of the app) gets no server
  traceback in its error answer, whoever sends it; it is given back to System Managers once they are
  known (`check_request`, below). Frappe adds the traceback (`exc`, `exception`) when System Settings
  *Allow Error Traceback* is on, for guests and Pipeline Users alike.
- `auth_hooks` → `check_request`: runs once the user is known (after API-key and session login),
  before Frappe calls the method. For the app's whitelisted methods it checks the arguments against
  the method's signature, so that no bad argument reaches the method as a 500: a missing required
  argument, JSON text that is not JSON of the annotated type, a value of the wrong type, a number
  beyond any page or id, a string beyond any field.
- `doc_events` before_validate → `check_document_values`: what Frappe v15 lets through to the
  database as a 500 or stores silently, on every path (board, REST, frappe.client, Data Import): a
  Link to a record that does not exist where the link fetches fields (Frappe's `get_invalid_links`
  only notices a missing record when it fetches nothing), unparseable dates, non-numbers in number
  fields, objects in scalar fields, text longer than its column.
"""

import inspect
import json
import math
import types
import typing

import frappe
from frappe import _
from frappe.utils import get_datetime, getdate
from frappe.utils.typing_validations import transform_parameter_types

from pipeline_app.lookups import record_exists

MAX_INT = 2**31 - 1  # no page, offset or count of the app goes beyond a signed 32-bit integer
MAX_ARGUMENT_LENGTH = 100_000  # characters of one argument (text or JSON text)
MAX_NUMBER = 10**12  # Frappe v15 stores Currency, Float and Percent as decimal(21, 9)
TEXT_COLUMN_BYTES = 65_535  # MariaDB `text`: Small Text, Text, Code
NUMBER_FIELDTYPES = frozenset(("Currency", "Float", "Percent", "Int", "Long Int", "Check", "Rating"))
DATE_FIELDTYPES = frozenset(("Date", "Datetime"))
TEXT_FIELDTYPES = frozenset(("Small Text", "Text", "Code"))
REPORT_METHODS = frozenset(
	(
		"frappe.desk.query_report.run",
		"frappe.desk.query_report.export_query",
		"frappe.desk.query_report.get_script",
		"frappe.desk.query_report.background_enqueue_run",
	)
)
METHOD_PREFIXES = ("/api/method/", "/api/v1/method/", "/api/v2/method/")


class RequestTooLargeError(frappe.ValidationError):
	http_status_code = 413


# The request
# -----------


def requested_method() -> str | None:
	"""The dotted path of the method this request calls, after Frappe's `override_whitelisted_methods`."""
	request = getattr(frappe.local, "request", None)
	if not request:
		return None
	path = request.path or ""
	cmd = next((path[len(prefix) :] for prefix in METHOD_PREFIXES if path.startswith(prefix)), None)
	cmd = (cmd or frappe.form_dict.get("cmd") or "").strip("/")
	if not cmd or "/" in cmd:
		return None
	overrides = frappe.get_hooks("override_whitelisted_methods", {}).get(cmd)
	return overrides[-1] if overrides else cmd


def is_app_request(method: str | None) -> bool:
	"""A call of the app's methods, or of Frappe's report methods for a report of the app."""
	if not method:
		return False
	if method.startswith("pipeline_app."):
		return True
	if method in REPORT_METHODS:
		report = frappe.form_dict.get("report_name")
		return (
			isinstance(report, str)
			and len(report) <= 140
			and frappe.db.get_value("Report", report, "module", cache=True) == "Pipeline App"
		)
	return False


def before_request() -> None:
	"""Hook `before_request` (the user may not be known yet: API keys are checked later)."""
	if is_app_request(requested_method()):
		frappe.local.flags.disable_traceback = True
		frappe.local.flags.pipeline_request = True


def may_see_tracebacks(user: str | None = None) -> bool:
	return "System Manager" in frappe.get_roles(user)


def check_request() -> None:
	"""Hook `auth_hooks`: the user is known, the method has not run yet."""
	if not may_see_tracebacks():
		# on Frappe's own endpoints too: a traceback would tell another team's record (which fails to
		# load in the app's code) from a missing one (which fails in Frappe's)
		frappe.local.flags.disable_traceback = True
	if not frappe.local.flags.pipeline_request:
		return
	frappe.local.flags.disable_traceback = not may_see_tracebacks()
	method = requested_method()
	if method in REPORT_METHODS:
		filters = frappe.form_dict.get("filters")
		if filters is not None:
			frappe.form_dict.filters = parse_json_argument("filters", filters, dict) or {}
		return
	try:
		fn = frappe.get_attr(method)
	except Exception:
		return  # Frappe answers an unknown method itself
	if fn not in frappe.whitelisted:
		return
	if frappe.session.user == "Guest" and fn not in frappe.guest_methods:
		return  # Frappe refuses it before looking at any argument
	allowed = frappe.allowed_http_methods_for_whitelisted_func.get(fn) or ()
	if frappe.request.method not in allowed:
		return
	check_arguments(fn, frappe.form_dict)


# Arguments of a whitelisted method
# ---------------------------------


def check_arguments(fn, args: dict) -> None:
	"""Checks `args` (the request's form_dict) against `fn`'s signature and annotations; JSON text of
	an argument annotated `dict | str` or `list | str` is replaced by the object it encodes."""
	parameters = inspect.signature(fn).parameters
	if any(p.kind == p.VAR_KEYWORD for p in parameters.values()):
		return  # takes anything: a stand-in for another method, which it calls with the same arguments
	missing = [
		name
		for name, p in parameters.items()
		if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and name not in args
	]
	if missing:
		frappe.throw(
			_("Missing argument: {0}").format(", ".join(missing)),
			frappe.MandatoryError,
			title=_("Missing Argument"),
		)
	try:
		annotations = typing.get_type_hints(fn)
	except Exception:
		annotations = dict(fn.__annotations__)
	for name, value in list(args.items()):
		if name not in parameters:
			continue
		check_size(name, value)
		annotation = annotations.get(name)
		if annotation is None:
			continue
		kinds = set(_flat_types(annotation))
		if isinstance(value, str) and str in kinds and kinds & {dict, list}:
			parsed = parse_json_argument(name, value, tuple(kind for kind in (dict, list) if kind in kinds))
			if parsed is not None:
				args[name] = value = parsed
		value = _validated(fn, name, value, kinds)
		if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
			frappe.throw(
				_("{0} is too large").format(frappe.bold(name)),
				frappe.ValidationError,
				title=_("Invalid Value"),
			)


def _flat_types(annotation) -> list:
	origin = typing.get_origin(annotation)
	if origin in (typing.Union, types.UnionType):
		return [kind for arg in typing.get_args(annotation) for kind in _flat_types(arg)]
	return [origin or annotation]


def _validated(fn, name: str, value, kinds: set):
	"""Frappe's own type check of one argument (as `frappe.whitelist` does it), answered in words."""
	try:
		return transform_parameter_types(fn, (), {name: value})[1][name]
	except TypeError:
		words = {
			str: _("text"),
			int: _("a whole number"),
			float: _("a number"),
			bool: _("true or false"),
			dict: _("an object"),
			list: _("a list"),
		}
		expected = " / ".join(sorted({words[kind] for kind in kinds if kind in words})) or _("another type")
		frappe.throw(
			_("{0} must be {1}").format(frappe.bold(name), expected),
			frappe.ValidationError,
			title=_("Invalid Argument"),
		)


def check_size(name: str, value) -> None:
	size = len(value) if isinstance(value, str) else len(json.dumps(value, default=str))
	if size > MAX_ARGUMENT_LENGTH:
		frappe.throw(
			_("{0} is too long: at most {1} characters").format(frappe.bold(name), MAX_ARGUMENT_LENGTH),
			RequestTooLargeError,
			title=_("Too Large"),
		)


def parse_json_argument(name: str, value, kind: type | tuple = dict):
	"""`value` as an object of `kind` (dict or list, or a tuple of both), from the object itself or its
	JSON text as `frappe.call` sends it; empty text and None are None. Anything else is refused in
	words."""
	if value is None or (isinstance(value, str) and not value.strip()):
		return None
	if isinstance(value, str):
		try:
			value = json.loads(value)
		except ValueError:
			frappe.throw(
				_("{0} is not valid JSON").format(frappe.bold(name)),
				frappe.ValidationError,
				title=_("Invalid Argument"),
			)
	if not isinstance(value, kind):
		kinds = kind if isinstance(kind, tuple) else (kind,)
		expected = " / ".join(_("an object") if each is dict else _("a list") for each in kinds)
		frappe.throw(
			_("{0} must be {1}").format(frappe.bold(name), expected),
			frappe.ValidationError,
			title=_("Invalid Argument"),
		)
	return value


def check_length(name: str, value: str | None, limit: int) -> None:
	"""A text argument longer than `limit` characters answers 413."""
	if value and isinstance(value, str) and len(value) > limit:
		frappe.throw(
			_("{0} is too long: at most {1} characters").format(frappe.bold(name), limit),
			RequestTooLargeError,
			title=_("Too Large"),
		)


# Filters
# -------


def check_filters(doctype: str, filters) -> list | dict | None:
	"""`filters` of a list or count of `doctype` (dict, list, or their JSON), with every column known:
	a column of the doctype or of one of its child tables. Returns them parsed."""
	if filters is None or (isinstance(filters, str) and not filters.strip()):
		return None
	if isinstance(filters, str):
		filters = parse_json_argument("filters", filters, dict if filters.lstrip().startswith("{") else list)
	if not isinstance(filters, dict | list):
		frappe.throw(
			_("Filters must be an object or a list"), frappe.ValidationError, title=_("Invalid Filter")
		)
	meta = frappe.get_meta(doctype)
	tables = {doctype, *(df.options for df in meta.get_table_fields())}

	def refuse():
		frappe.throw(
			_("Each filter must be [field, operator, value]"),
			frappe.ValidationError,
			title=_("Invalid Filter"),
		)

	if isinstance(filters, dict):
		conditions = [(doctype, field) for field in filters]
		for value in filters.values():
			if isinstance(value, list | tuple) and (len(value) != 2 or not isinstance(value[0], str)):
				refuse()
	else:
		conditions = []
		for condition in filters:
			if isinstance(condition, list | tuple) and (
				len(condition) not in (3, 4) or not isinstance(condition[-2], str)
			):
				refuse()
			if isinstance(condition, list | tuple):
				conditions.append(
					(condition[0], condition[1]) if len(condition) == 4 else (doctype, condition[0])
				)
			elif isinstance(condition, dict) and len(condition) == 1:
				conditions.append((doctype, next(iter(condition))))
			else:
				refuse()
	for table, field in conditions:
		if table not in tables or not isinstance(field, str):
			frappe.throw(
				_("Cannot filter {0} on {1}").format(_(doctype), frappe.bold(str(table))),
				frappe.ValidationError,
				title=_("Invalid Filter"),
			)
		if field not in frappe.get_meta(table).get_valid_columns():
			frappe.throw(
				_("Unknown field {0} of {1}").format(frappe.bold(field), _(table)),
				frappe.ValidationError,
				title=_("Invalid Filter"),
			)
	return filters


# Document values
# ---------------


def check_document_values(doc, method=None) -> None:
	"""Hook `before_validate`: each field value of `doc` fits its field (see the module's docstring)."""
	for row in (doc, *doc.get_all_children()):
		for df in row.meta.fields:
			value = row.get(df.fieldname)
			if value is None or value == "" or df.fieldtype in ("Table", "Table MultiSelect"):
				continue
			check_field_value(row.meta, df, value)
			if df.fieldtype == "Link" and row.meta.get_fields_to_fetch(df.fieldname):
				if not record_exists(df.options, value):
					frappe.throw(
						_("Could not find {0}: {1}").format(_(df.label, context=df.parent), value),
						frappe.LinkValidationError,
						title=_("Invalid Link"),
					)


def check_values(doctype: str, values: dict) -> None:
	"""The same checks on values a client sends for `doctype`, before they are set on a document."""
	meta = frappe.get_meta(doctype)
	for fieldname, value in values.items():
		df = meta.get_field(fieldname)
		if df and value is not None and value != "":
			check_field_value(meta, df, value)


def check_field_value(meta, df, value) -> None:
	label = _(df.label or df.fieldname, context=df.parent)

	def refuse(message: str):
		frappe.throw(message.format(frappe.bold(label)), frappe.ValidationError, title=_("Invalid Value"))

	if isinstance(value, dict | list | tuple | set):
		refuse(_("{0} must be a single value"))
	if df.fieldtype in DATE_FIELDTYPES:
		try:
			(getdate if df.fieldtype == "Date" else get_datetime)(value)
		except Exception:
			frappe.clear_last_message()
			refuse(_("{0} is not a valid date"))
	elif df.fieldtype in NUMBER_FIELDTYPES:
		if isinstance(value, bool):
			return
		try:
			number = float(value)
		except (TypeError, ValueError):
			refuse(_("{0} must be a number"))
		if not math.isfinite(number) or abs(number) >= MAX_NUMBER:
			refuse(_("{0} is out of range"))
		if df.fieldtype in ("Int", "Check") and abs(number) > MAX_INT:
			refuse(_("{0} is out of range"))
	elif df.fieldtype in TEXT_FIELDTYPES:
		if len(str(value).encode()) > TEXT_COLUMN_BYTES:
			refuse(_("{0} is too long"))
