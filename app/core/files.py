"""Opening files a person named, with one clear message for each way that can fail."""

from __future__ import annotations

import os
from typing import BinaryIO

from app.core.errors import InvalidInputError

__all__ = ["open_input"]


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
