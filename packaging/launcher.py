"""Entry of the bundled executable: `steward` is the command line, `steward-gui` (a link to it) the window."""

from __future__ import annotations

import multiprocessing
import os
import sys

__all__ = ["main"]


def main() -> int:
    # First of all: a worker process of a frozen build is this same executable started with
    # multiprocessing's arguments; freeze_support() runs the job there and exits.
    multiprocessing.freeze_support()
    if os.path.basename(sys.argv[0] if sys.argv else "").startswith("steward-gui"):
        from app.ui.main import main as gui_main

        return gui_main()
    from app.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    raise SystemExit(main())
