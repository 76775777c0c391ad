"""Which input and output names are fsspec URLs: asked on every run, so this needs nothing
else (`mapper.io.remote`, which reads and writes them, is imported only when one is used)."""

from __future__ import annotations

import re

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")


def is_url(name: str) -> bool:
    """Is `name` an fsspec URL (`scheme://...`) rather than a local path?"""
    return bool(_URL.match(name))
