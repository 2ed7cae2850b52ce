"""Opening files a person named, with one clear message for each way that can fail."""

from __future__ import annotations

import os
from typing import BinaryIO

from app.core.errors import InvalidInputError

__all__ = ["open_input", "read_json_file", "json_problem"]


def open_input(path: str | os.PathLike[str], what: str = "file") -> BinaryIO:
    """Open `path` for binary reading, or raise InvalidInputError saying what is wrong with it."""
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise InvalidInputError(f"The {what} {path} does not exist.") from None
    except IsADirectoryError:
        raise InvalidInputError(f"The {what} {path} is a folder, not a file.") from None
    except PermissionError:
        raise InvalidInputError(f"No permission to read the {what} {path}.") from None
    except OSError as exc:
        raise InvalidInputError(f"The {what} {path} cannot be read: {exc.strerror or exc}.") from None


def json_problem(exc: BaseException) -> str:
    """Why json.loads refused a file, in words (Python's own advice on its number limit does not apply)."""
    if isinstance(exc, RecursionError):
        return "it is nested too deeply"
    text = str(exc) or type(exc).__name__
    if "integer string conversion" in text:
        return "it holds a number with thousands of digits"
    return text if len(text) <= 200 else text[:199] + "…"


def read_json_file(path: str | os.PathLike[str], *, what: str, hint: str):
    """Parse a JSON file a person pointed at, or raise InvalidInputError saying what is wrong with it
    (`what` names the file in messages, e.g. "a JSON report"; `hint` says what to give instead)."""
    import json
    from pathlib import Path

    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise InvalidInputError(f"No file '{path}'.") from None
    except IsADirectoryError:
        raise InvalidInputError(f"'{path}' is a folder, not {what}.", hint=hint) from None
    except PermissionError:
        raise InvalidInputError(f"No permission to read '{path}'.") from None
    except (ValueError, RecursionError) as exc:  # not UTF-8 or not JSON; a number too long; nested too deep
        raise InvalidInputError(f"'{path.name}' is not {what} ({json_problem(exc)}).", hint=hint) from None
    except OSError as exc:
        raise InvalidInputError(f"'{path}' cannot be read: {exc.strerror or exc}.") from None
