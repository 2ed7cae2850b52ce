"""The job kinds a worker can run: kind name to the dotted path of a plain domain function."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from app.core.errors import InvalidInputError

__all__ = ["JOB_KINDS", "resolve"]

# Dotted paths, not function objects: a spawned worker imports its function by name (nothing else of
# the parent crosses over), and the functions live in app.services, a layer above app.workers.
# Each function is `fn(ws, params, progress, is_cancelled, finalize=None) -> dict` (the result
# JSON); `finalize(session, result)`, when the function calls it, runs inside the function's own
# final write transaction so that the job's success commits together with what the job recorded.
# Later kinds (reproduce, shadow evaluation, scheduled runs) are one line each here.
JOB_KINDS: dict[str, str] = {
    "retrain": "app.services.retrain:retrain",
    "reproduce": "app.services.reproduce:reproduce",
}


def resolve(kind: str) -> Callable:
    try:
        target = JOB_KINDS[kind]
    except KeyError:
        raise InvalidInputError(f"Unknown job kind '{kind}'.") from None
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)
