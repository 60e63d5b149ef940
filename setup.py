"""Package discovery: pyproject.toml can either list packages or find them, not both.

Every package under opsdoc/ is found, so a new one can never be left out of the wheel; the
bundled templates are added under the names pyproject.toml's package-dir maps them to.
"""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["opsdoc", "opsdoc.*"]), "opsdoc.word_templates", "opsdoc.workbook_templates"])
