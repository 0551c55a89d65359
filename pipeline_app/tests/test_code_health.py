"""The app's modules import in one direction: no cycle among their module-level imports (an import
inside a function is kept for optional apps and the few places Frappe loads late)."""

import ast
from pathlib import Path

import pipeline_app

PACKAGE = Path(pipeline_app.__file__).parent


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
