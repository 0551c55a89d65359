from setuptools import find_packages, setup

with open("pipeline_app/__init__.py") as f:
	version = next(line.split('"')[1] for line in f if line.startswith("__version__"))

setup(
	name="pipeline_app",
	version=version,
	description="Sales pipeline for Frappe and ERPNext: team funnels, outcomes, appointments, board",
	author="Pipeline App contributors",
	author_email="maintainers@pipeline-app.invalid",
	license="MIT",
	packages=find_packages(exclude=("benchmarks",)),
	include_package_data=True,
	zip_safe=False,
	python_requires=">=3.10",
	install_requires=[],
	extras_require={"test": ["pytest>=7", "requests", "freezegun"], "browser": ["playwright>=1.40"]},
)
