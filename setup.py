from setuptools import setup  # shim for tools that still call setup.py; settings live in pyproject.toml
setup()
