"""The app's modules import in one direction: no cycle among their module-level imports, and an import
inside a function only where it says why (`# cycle: ...` where the module-level one would close a
cycle, `# deferred: ...` for an optional app or an import too costly where it is loaded, e.g. bench
loading every app's commands) or where it imports ERPNext, which is optional."""

import ast
import importlib
import inspect
import re
from pathlib import Path

import frappe
from frappe.types.exporter import TypeExporter

import pipeline_app

PACKAGE = Path(pipeline_app.__file__).parent
# the reason an import stays inside a function, on its line or the line above
IMPORT_REASON = re.compile(r"#\s*(cycle|deferred):")


def module_name(path: Path) -> str:
	parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
	return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_imports() -> dict[str, set[str]]:
	graph = {}
	for path in PACKAGE.rglob("*.py"):
		imported = set()
		for node in ast.parse(path.read_text()).body:
			if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pipeline_app"):
				imported.add(node.module)
				imported.update(f"{node.module}.{alias.name}" for alias in node.names)
			elif isinstance(node, ast.Import):
				imported.update(a.name for a in node.names if a.name.startswith("pipeline_app"))
		graph[module_name(path)] = imported
	return {name: {m for m in imported if m in graph and m != name} for name, imported in graph.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
	state: dict[str, int] = {}

	def visit(name, path):
		state[name] = 1
		path.append(name)
		for child in sorted(graph[name]):
			if state.get(child) == 1:
				return [*path[path.index(child) :], child]
			if not state.get(child) and (cycle := visit(child, path)):
				return cycle
		path.pop()
		state[name] = 2
		return None

	for name in sorted(graph):
		if not state.get(name) and (cycle := visit(name, [])):
			return cycle
	return None


def test_module_imports_have_no_cycle():
	assert find_cycle(module_imports()) is None, " -> ".join(find_cycle(module_imports()))


def test_the_cycle_finder_finds_one():
	assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
	assert find_cycle({"a": {"b"}, "b": set()}) is None


def unexplained_function_imports(source: str) -> list[tuple[int, str]]:
	"""The imports inside a function (method, nested function, lambda) that neither import ERPNext
	nor carry a reason comment: (line, statement)."""
	lines = source.splitlines()
	found = []

	def says_why(lineno: int) -> bool:
		return any(IMPORT_REASON.search(lines[i]) for i in (lineno - 1, lineno - 2) if i >= 0)

	def visit(node: ast.AST, in_function: bool) -> None:
		for child in ast.iter_child_nodes(node):
			if in_function and isinstance(child, ast.Import | ast.ImportFrom):
				names = (
					[child.module or ""]
					if isinstance(child, ast.ImportFrom)
					else [a.name for a in child.names]
				)
				erpnext = all(n == "erpnext" or n.startswith("erpnext.") for n in names)
				if not erpnext and not says_why(child.lineno):
					found.append((child.lineno, lines[child.lineno - 1].strip()))
			visit(
				child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
			)

	visit(ast.parse(source), False)
	return found


def test_imports_inside_functions_say_why():
	"""An import belongs at the module top unless it breaks a real cycle or defers an optional or
	costly import (the cycle test above shows which would close a cycle)."""
	unexplained = [
		f"{path.relative_to(PACKAGE.parent)}:{line}: {statement}"
		for path in sorted(PACKAGE.rglob("*.py"))
		if "tests" not in path.relative_to(PACKAGE).parts and not path.name.startswith("test_")
		for line, statement in unexplained_function_imports(path.read_text())
	]
	assert not unexplained, "\n".join(unexplained)


def test_the_import_scan_finds_an_unexplained_one():
	source = """
import json
from typing import TYPE_CHECKING


class Controller:
	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

	def method(self):
		from pipeline_app.teams import get_team_leads


def outer():
	import erpnext
	from erpnext.selling.doctype.quotation.quotation import make_sales_order

	# cycle: pipeline_app.realtime imports this module
	from pipeline_app.realtime import readers_among
	from pipeline_app.demo import make_demo  # deferred: costly

	def inner():
		import hmac

	return lambda: __import__("os")
"""
	assert unexplained_function_imports(source) == [
		(13, "from pipeline_app.teams import get_team_leads"),
		(25, "import hmac"),
	]


def test_every_controller_carries_its_doctypes_current_types():
	"""Frappe's auto-generated type annotations (hooks: export_python_type_annotations) name every
	field of the doctype with its type: regenerate them (Frappe does on each save of a doctype in
	developer mode) when a doctype changes."""

	def annotations(code: str) -> dict[str, str]:
		block = code[code.index("# begin: auto-generated types") : code.index("# end: auto-generated types")]
		return dict(re.findall(r"^\s*(\w+): (DF\.\w+)", block, flags=re.MULTILINE))  # ruff may wrap the rest

	doctypes = frappe.get_all("DocType", {"module": "Pipeline App", "custom": 0}, pluck="name")
	assert len(doctypes) >= 10
	for doctype in doctypes:
		exporter = TypeExporter(frappe.get_doc("DocType", doctype))
		code = exporter.controller_path.read_text()
		assert "# begin: auto-generated types" in code, f"{doctype}: no types in {exporter.controller_path}"
		assert annotations(code) == annotations(exporter._generate_code()), f"{doctype}: types out of date"


def test_every_whitelisted_method_is_fully_annotated():
	"""Frappe validates a whitelisted method's arguments against its annotations: each parameter and
	the answer are typed."""
	for path in PACKAGE.rglob("*.py"):
		if "tests" not in path.parts and not path.name.startswith("test_"):
			importlib.import_module(module_name(path))
	methods = [
		m
		for m in frappe.whitelisted
		if getattr(m, "__module__", "").startswith("pipeline_app.")
		and not hasattr(m, "frappe_original")  # a stand-in for Frappe's method keeps its signature
	]
	assert len(methods) >= 20
	untyped = []
	for method in methods:
		signature = inspect.signature(method)
		missing = [p.name for p in signature.parameters.values() if p.annotation is inspect.Parameter.empty]
		if missing or signature.return_annotation is inspect.Signature.empty:
			untyped.append(f"{method.__module__}.{method.__name__}: {missing or 'return'}")
	assert not untyped, untyped
