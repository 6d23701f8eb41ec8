"""Lets Beam runners that want a setup file (Dataflow --setup_file) install this package."""

from setuptools import setup

setup()
