"""scripts/lib.sh tells a bench with ERPNext (fetched, listed, importable) from one an interrupted
get-app left behind (fetched again). Runs lib.sh's function in bash on scratch directories."""

import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

LIB = Path(__file__).resolve().parents[2] / "scripts" / "lib.sh"


class TestBenchHasErpnext(unittest.TestCase):
	def setUp(self):
		self.bench = Path(tempfile.mkdtemp(prefix="pipeline-bench-erpnext-"))
		self.addCleanup(shutil.rmtree, self.bench, ignore_errors=True)
		(self.bench / "apps" / "erpnext").mkdir(parents=True)
		(self.bench / "sites").mkdir()
		(self.bench / "env" / "bin").mkdir(parents=True)
		(self.bench / "sites" / "apps.txt").write_text("frappe\npipeline_app\nerpnext\n")
		self.python("/bin/true")

	def python(self, interpreter: str):
		path = self.bench / "env" / "bin" / "python"
		path.write_text(f'#!/bin/sh\nexec {interpreter} "$@"\n')
		path.chmod(0o755)

	def has_erpnext(self) -> bool:
		result = subprocess.run(
			["bash", "-c", 'source "$0"; bench_has_erpnext', str(LIB)],
			capture_output=True,
			text=True,
			timeout=60,
			env={
				**os.environ,
				"BENCH_USER": os.environ.get("USER") or "frappe",
				"BENCH_DIR": str(self.bench),
			},
		)
		return result.returncode == 0

	def test_fetched_listed_and_importable_is_there(self):
		self.assertTrue(self.has_erpnext())

	def test_not_listed_in_apps_txt_is_fetched_again(self):
		(self.bench / "sites" / "apps.txt").write_text("frappe\npipeline_app\n")
		self.assertFalse(self.has_erpnext())

	def test_not_importable_is_fetched_again(self):
		self.python("/bin/false")
		self.assertFalse(self.has_erpnext())

	def test_no_directory_is_fetched(self):
		shutil.rmtree(self.bench / "apps" / "erpnext")
		self.assertFalse(self.has_erpnext())
