"""Plain-text tables and JSON output for the command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from app.core.entities import to_jsonable

__all__ = ["print_json", "print_table", "short_time", "fmt_metrics", "open_ws", "progress"]


def print_json(value: Any) -> None:
    json.dump(to_jsonable(value), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, empty: str = "(none)") -> None:
    if not rows:
        print(empty)
        return
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())


def short_time(moment: datetime | str | None) -> str:
    if moment is None:
        return ""
    if isinstance(moment, str):
        from app.core.timeutil import from_iso

        moment = from_iso(moment)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def fmt_metrics(metrics: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in metrics.items())


def open_ws(args):
    """The workspace a command works on (--home, STEWARD_HOME or the default), tidied and migrated."""
    from app.services.workspaces import open_home

    return open_home(args.home)


def progress(fraction: float, message: str) -> None:
    """A one-line progress display on a terminal's stderr (nothing when piped); ends its line at 100 %."""
    if sys.stderr.isatty():
        print(f"\r{int(fraction * 100):3d}%  {message:<40}", end="" if fraction < 1 else "\n", file=sys.stderr)
