# The standard shim: the package's metadata lives in pyproject.toml, which setuptools reads; this
# file serves the tools that still run setup.py (`python setup.py develop`, older pip).
from setuptools import setup

setup()
