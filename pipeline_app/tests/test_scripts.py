"""scripts/lib.sh tells a complete bench from one an interrupted first run left (made again) and from a
directory that is not its bench (never removed). Runs lib.sh's functions in bash on scratch
directories, as whichever user runs the tests; the shared bench is only looked at."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

LIB = Path(__file__).resolve().parents[2] / "scripts" / "lib.sh"
REAL_BENCH = Path(sys.prefix).parent if sys.prefix != sys.base_prefix else None  # the bench's env/


def lib(function: str, *args: str) -> subprocess.CompletedProcess:
	return subprocess.run(
		["bash", "-c", 'source "$0"; "$@"', str(LIB), function, *args],
		capture_output=True,
		text=True,
		timeout=60,
		env={**os.environ, "BENCH_USER": os.environ.get("USER") or "frappe"},
	)


class TestBenchState(unittest.TestCase):
	def setUp(self):
		self.root = Path(tempfile.mkdtemp(prefix="pipeline-bench-state-"))
		self.addCleanup(shutil.rmtree, self.root, ignore_errors=True)

	def state(self, path) -> str:
		result = lib("bench_state", str(path))
		self.assertEqual(result.returncode, 0, result.stderr)
		return result.stdout.strip()

	def bench_like(self, name="bench", marker: str | None = None, python=None, sites=()):
		"""A directory laid out as `bench init` makes it; `python` is the env's interpreter."""
		bench = self.root / name
		for folder in ("apps/frappe", "config/pids", "logs", "env/bin"):
			(bench / folder).mkdir(parents=True)
		(bench / "sites").mkdir()
		(bench / "sites" / "apps.txt").write_text("frappe")
		(bench / "Procfile").write_text("")
		(bench / "patches.txt").write_text("")
		for conf in ("redis_cache", "redis_queue"):
			(bench / "config" / f"{conf}.conf").write_text("port 13000\n")
		interpreter = bench / "env" / "bin" / "python"
		interpreter.write_text(f'#!/bin/sh\nexec {python or "/bin/false"} "$@"\n')
		interpreter.chmod(0o755)
		if marker:
			(bench / ".pipeline-bench").write_text(marker + "\n")
		for site in sites:
			(bench / "sites" / site).mkdir()
			(bench / "sites" / site / "site_config.json").write_text("{}")
		return bench

	def test_nothing_there_is_missing(self):
		self.assertEqual(self.state(self.root / "none"), "missing")

	def test_the_shared_bench_is_complete(self):
		"""Made by an older lib.sh (no marker) or marked: either way used as it is, never rebuilt."""
		if REAL_BENCH is None:
			self.skipTest("not run with a bench's Python")
		self.assertEqual(self.state(REAL_BENCH), "complete")

	def test_a_bench_whose_python_imports_frappe_and_is_marked_complete_is_complete(self):
		bench = self.bench_like(marker="complete", python=sys.executable)
		self.assertEqual(self.state(bench), "complete")

	def test_an_interrupted_bench_init_is_partial_and_removed(self):
		bench = self.bench_like(marker="started")
		self.assertEqual(self.state(bench), "partial")
		result = lib("remove_unfinished_bench", str(bench))
		self.assertEqual(result.returncode, 0, result.stderr)
		self.assertFalse(bench.exists())

	def test_an_older_interrupted_bench_without_marker_is_partial(self):
		bench = self.root / "older"
		(bench / "apps").mkdir(parents=True)
		(bench / "env").mkdir()
		self.assertEqual(self.state(bench), "partial")
		self.assertEqual(self.state(self.root), "foreign")  # holds other things: not a bench at all

	def test_a_bench_whose_python_cannot_import_frappe_is_not_complete(self):
		"""The old check (apps/frappe exists) took this one as complete."""
		self.assertEqual(self.state(self.bench_like(marker="complete")), "partial")
		self.assertEqual(self.state(self.bench_like("unmarked")), "partial")

	def test_a_bench_whose_init_succeeded_is_finished_not_rebuilt(self):
		bench = self.bench_like(marker="initialised", python=sys.executable)
		self.assertEqual(self.state(bench), "initialised")

	def test_an_unrelated_directory_is_never_removed(self):
		unrelated = self.root / "unrelated"
		(unrelated / "apps").mkdir(parents=True)
		(unrelated / "thesis.tex").write_text("years of work")
		self.assertEqual(self.state(unrelated), "foreign")
		result = lib("remove_unfinished_bench", str(unrelated))
		self.assertNotEqual(result.returncode, 0)
		self.assertIn("Refusing", result.stderr)
		self.assertEqual((unrelated / "thesis.tex").read_text(), "years of work")

	def test_a_broken_bench_holding_sites_is_never_removed(self):
		bench = self.bench_like(marker="complete", sites=["customer.localhost"])
		self.assertEqual(self.state(bench), "foreign")
		self.assertNotEqual(lib("remove_unfinished_bench", str(bench)).returncode, 0)
		self.assertTrue((bench / "sites" / "customer.localhost" / "site_config.json").exists())

	def test_a_file_or_a_symlink_in_the_bench_place_is_foreign(self):
		(self.root / "file").write_text("")
		(self.root / "link").symlink_to(self.bench_like(marker="started"))
		self.assertEqual(self.state(self.root / "file"), "foreign")
		self.assertEqual(self.state(self.root / "link"), "foreign")
		self.assertNotEqual(lib("remove_unfinished_bench", str(self.root / "link")).returncode, 0)
		self.assertTrue((self.root / "bench").exists())


@unittest.skipUnless(REAL_BENCH, "runs in the bench's Python environment")
class TestLint(unittest.TestCase):
	"""run_lint (scripts/test's first step) fails on a lint error in Python or JavaScript, on a scratch
	bench holding a copy of the app and the real bench's ruff and prettier."""

	def setUp(self):
		self.bench = Path(tempfile.mkdtemp(prefix="pipeline-lint-"))
		self.addCleanup(shutil.rmtree, self.bench, ignore_errors=True)
		source = LIB.parents[1]
		self.app = self.bench / "apps" / "pipeline_app"
		shutil.copytree(
			source,
			self.app,
			ignore=shutil.ignore_patterns(".git", "node_modules", "dist", "__pycache__", "*.egg-info"),
		)
		(self.bench / "env" / "bin").mkdir(parents=True)
		(self.bench / "env" / "bin" / "ruff").symlink_to(REAL_BENCH / "env" / "bin" / "ruff")
		(self.bench / "apps" / "frappe" / "node_modules").mkdir(parents=True)
		(self.bench / "apps" / "frappe" / "node_modules" / ".bin").symlink_to(
			REAL_BENCH / "apps" / "frappe" / "node_modules" / ".bin"
		)

	def lint(self) -> int:
		result = subprocess.run(
			["bash", "-c", 'source "$0"; run_lint', str(LIB)],
			capture_output=True,
			text=True,
			timeout=300,
			env={
				**os.environ,
				"BENCH_USER": os.environ.get("USER") or "frappe",
				"BENCH_DIR": str(self.bench),
			},
		)
		return result.returncode

	def test_the_app_is_clean(self):
		self.assertEqual(self.lint(), 0)

	def test_a_python_lint_error_fails(self):
		with open(self.app / "pipeline_app" / "boot.py", "a") as boot:
			boot.write("import os\n")
		self.assertNotEqual(self.lint(), 0)

	def test_unformatted_javascript_fails(self):
		with open(self.app / "pipeline_app" / "public" / "js" / "pipeline_board" / "api.js", "a") as api:
			api.write("const unformatted = {a:1}\n")
		self.assertNotEqual(self.lint(), 0)
