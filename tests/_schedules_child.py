"""A process for tests/test_schedules.py: import everything, say "ready", wait for the barrier file, then `steward run-due`.

Usage: python _schedules_child.py HOME BARRIER
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def main() -> int:
    from app.cli import main as steward
    from app.cli.automation import cmd_run_due  # noqa: F401 - warm the imports before the race
    from app.services import jobs, recipes, schedules  # noqa: F401

    home, barrier = sys.argv[1], Path(sys.argv[2])
    print("ready", flush=True)
    while not barrier.exists():  # both processes leave this loop within a millisecond of each other
        time.sleep(0.001)
    return steward(["--home", home, "run-due", "--json"])


if __name__ == "__main__":  # the guard spawned workers rely on: they import this file as __mp_main__
    raise SystemExit(main())
