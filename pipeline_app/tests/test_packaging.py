"""The package builds and installs the standard ways (pip, and bench's `get-app`, which clones the app
and runs `uv pip install -e` on it): one source of metadata (pyproject.toml, setuptools), setup.py
its shim."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import zipfile
from pathlib import Path

import frappe

import pipeline_app

APP = Path(pipeline_app.__file__).parent.parent
FRAPPE_APP = Path(frappe.__file__).resolve().parent.parent  # the bench's apps/frappe
BENCH = FRAPPE_APP.parent.parent


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

	def test_bench_get_app_clones_and_installs_the_app_into_a_bench(self):
		"""`bench get-app` as a user runs it, on a scratch bench of its own (its own env, sites, apps:
		the bench running the tests is left as it is): the app's current files committed to a git
		repository, fetched from it by URL."""
		bench_cli = shutil.which("bench") or str(Path.home() / ".bench-cli" / "bin" / "bench")
		self.assertTrue(os.access(bench_cli, os.X_OK), f"no bench CLI at {bench_cli}")
		untouched = self.real_bench_state()
		with tempfile.TemporaryDirectory() as tmp:
			repo = Path(tmp, "src", "pipeline_app")
			shutil.copytree(APP, repo, ignore=self.not_in_the_repository)
			git = ["git", "-c", "user.name=Pipeline Tests", "-c", "user.email=tests@pipeline-app.invalid"]
			for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "pipeline_app"]):
				subprocess.run([*git, *args], cwd=repo, check=True, capture_output=True, timeout=60)

			# what bench needs to call a directory a bench (apps, sites, config, config/pids, logs),
			# Frappe in apps (the app's pyproject asks bench for frappe >=15), apps.txt, an env
			bench = Path(tmp, "bench")
			for folder in ("apps", "sites", "config/pids", "logs"):
				(bench / folder).mkdir(parents=True)
			(bench / "apps" / "frappe").symlink_to(FRAPPE_APP)
			(bench / "sites" / "apps.txt").write_text("frappe")
			subprocess.run([sys.executable, "-m", "venv", str(bench / "env")], check=True, timeout=120)

			got = subprocess.run(
				[bench_cli, "get-app", "--skip-assets", repo.as_uri()],
				cwd=bench,
				env={**os.environ, "PATH": f"{Path(bench_cli).parent}{os.pathsep}{os.environ['PATH']}"},
				capture_output=True,
				text=True,
				timeout=600,
			)
			self.assertEqual(got.returncode, 0, got.stdout[-3000:] + got.stderr[-3000:])

			cloned = bench / "apps" / "pipeline_app"
			self.assertTrue((cloned / ".git").is_dir())
			self.assertTrue((cloned / "pipeline_app" / "hooks.py").is_file())
			self.assertEqual((bench / "sites" / "apps.txt").read_text().split(), ["frappe", "pipeline_app"])
			# the name bench derived from the package (pyproject's project.name) and its version
			states = json.loads((bench / "sites" / "apps.json").read_text())
			self.assertEqual(states["pipeline_app"]["version"], pipeline_app.__version__)

			installed = subprocess.run(
				[
					str(bench / "env" / "bin" / "python"),
					"-c",
					"import importlib.metadata as m, json, pipeline_app; d = m.distribution('pipeline_app');"
					" print(json.dumps([pipeline_app.__version__, pipeline_app.__file__, d.version,"
					" json.loads(d.read_text('direct_url.json'))]))",
				],
				cwd=tmp,  # not the app's directory: the import goes through the installed package
				capture_output=True,
				text=True,
				timeout=60,
			)
			self.assertEqual(installed.returncode, 0, installed.stderr)
			version, module_file, dist_version, direct_url = json.loads(installed.stdout)
			self.assertEqual(version, pipeline_app.__version__)
			self.assertEqual(dist_version, pipeline_app.__version__)
			self.assertEqual(Path(module_file), cloned / "pipeline_app" / "__init__.py")
			self.assertEqual(direct_url, {"dir_info": {"editable": True}, "url": cloned.as_uri()})
		self.assertEqual(self.real_bench_state(), untouched)

	@staticmethod
	def not_in_the_repository(folder: str, names: list[str]) -> set[str]:
		"""What .gitignore leaves out of the app's repository (the bench's copy has it)."""
		left_out = {n for n in names if n in {".git", "node_modules", "__pycache__", ".ruff_cache"}}
		left_out |= {n for n in names if n.endswith((".egg-info", ".pyc"))}
		if Path(folder).parts[-2:] == ("pipeline_app", "public"):
			left_out |= {"dist"} & set(names)
		return left_out

	@staticmethod
	def real_bench_state() -> list:
		paths = [BENCH / "sites" / "apps.txt", BENCH / "sites" / "apps.json"]
		paths += sorted((BENCH / "env").glob("lib/python*/site-packages/*pipeline_app*"))
		paths += sorted((BENCH / "env").glob("lib/python*/site-packages/pipeline_app*/direct_url.json"))
		return [(str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in paths]
