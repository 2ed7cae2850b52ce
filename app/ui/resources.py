"""Locate bundled resources (styles, icons) in a dev checkout and in a PyInstaller bundle."""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

__all__ = ["resources_dir", "resource_path", "read_text"]


@lru_cache(maxsize=1)
def resources_dir() -> Path:
    """`resources/` next to the `app` package, or inside the unpacked PyInstaller bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    import app

    return Path(app.__file__).resolve().parents[1] / "resources"


def resource_path(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)


def read_text(*parts: str) -> str:
    """A resource file's text, or "" when it is missing (the window still works, only plainer)."""
    try:
        return resource_path(*parts).read_text(encoding="utf-8")
    except OSError:
        return ""
