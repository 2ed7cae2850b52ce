"""A process for tests/test_workers.py that calls start_queued when told "go" on stdin, then prints the ids it started.

Usage: python _workers_child.py HOME
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> int:
    from app.core.settings import WorkspacePaths
    from app.services.jobs import start_queued
    from app.store.workspace import open_workspace

    ws = open_workspace(WorkspacePaths(Path(sys.argv[1])))
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return 2
    started = start_queued(ws)
    ws.close()
    print(json.dumps(started), flush=True)
    return 0


if __name__ == "__main__":  # the guard spawned workers rely on: they import this file as __mp_main__
    raise SystemExit(main())
