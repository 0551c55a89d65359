"""The package builds and installs the standard ways (pip, and so bench, which runs `pip install -e`
on an app it gets): one source of metadata (pyproject.toml, setuptools), setup.py its shim."""

import os
import subprocess
import sys
import tempfile
import unittest
import zipfile
from pathlib import Path

import pipeline_app

APP = Path(pipeline_app.__file__).parent.parent


class TestPackaging(unittest.TestCase):
	def pip(self, python: str, *args: str, cwd: str | None = None) -> subprocess.CompletedProcess:
		return subprocess.run(
			[python, "-m", "pip", "--disable-pip-version-check", *args],
			cwd=cwd,
			capture_output=True,
			text=True,
			timeout=600,
		)

	def test_the_wheel_holds_the_app_its_files_and_its_version(self):
		with tempfile.TemporaryDirectory() as out:
			built = self.pip(
				sys.executable, "wheel", "--no-deps", "--no-build-isolation", "-w", out, str(APP)
			)
			self.assertEqual(built.returncode, 0, built.stderr[-2000:])
			(wheel,) = Path(out).glob("pipeline_app-*.whl")
			self.assertIn(f"pipeline_app-{pipeline_app.__version__}-", wheel.name)
			names = set(zipfile.ZipFile(wheel).namelist())
		for path in (
			"pipeline_app/hooks.py",
			"pipeline_app/modules.txt",
			"pipeline_app/patches.txt",
			"pipeline_app/pipeline_app/doctype/pipeline_opportunity/pipeline_opportunity.json",
			"pipeline_app/pipeline_app/workspace/pipeline/pipeline.json",
			"pipeline_app/public/js/pipeline_board.bundle.js",
			"pipeline_app/public/js/pipeline_board/board.js",
		):
			self.assertIn(path, names)
		self.assertFalse([n for n in names if "__pycache__" in n or n.startswith("pipeline_app/public/dist")])
		self.assertFalse([n for n in names if n.startswith(("benchmarks/", "scripts/"))])

	def test_an_editable_install_into_a_fresh_environment_imports_the_app(self):
		with tempfile.TemporaryDirectory() as env:
			subprocess.run([sys.executable, "-m", "venv", env], check=True, timeout=120)
			python = os.path.join(env, "bin", "python")
			# a copy: an editable install writes build metadata next to the sources
			source = os.path.join(env, "src")
			subprocess.run(
				["cp", "-r", str(APP), source], check=True, timeout=120
			)  # includes pyproject.toml, setup.py, MANIFEST.in
			installed = self.pip(python, "install", "--no-deps", "-e", source)
			self.assertEqual(installed.returncode, 0, installed.stderr[-2000:])
			version = subprocess.run(
				[python, "-c", "import pipeline_app; print(pipeline_app.__version__, pipeline_app.__file__)"],
				cwd=env,
				capture_output=True,
				text=True,
				timeout=60,
			)
			self.assertEqual(version.returncode, 0, version.stderr)
			self.assertEqual(version.stdout.split()[0], pipeline_app.__version__)
			self.assertTrue(version.stdout.split()[1].startswith(source))
