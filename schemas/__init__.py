"""Data contracts as files: JSON Schemas of the configurations users write.

Installed with the package (as package data), so the container image and a wheel carry them.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any


def load_schema(name: str) -> dict[str, Any]:
    """The JSON Schema `schemas/<name>.schema.json` as a dict."""
    text = resources.files(__name__).joinpath(f'{name}.schema.json').read_text()
    return json.loads(text)
