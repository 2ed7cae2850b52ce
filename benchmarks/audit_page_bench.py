"""Time the Audit page on a 1,000,000-event log: open, filter, jump, verify, export (not a test).

Usage: .venv/bin/python benchmarks/audit_page_bench.py [--root /tmp/steward-bench] [--events 1000000]
The workspace is built once (about 20 s) and reused by later runs.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from audit_data import build_big_workspace  # noqa: E402
from PySide6.QtCore import QDate, QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.services.audit import AuditFilter  # noqa: E402
from app.ui.audit_model import PAGE_SIZE  # noqa: E402
from app.ui.audit_page import AuditPage  # noqa: E402
from app.ui.tasks import TaskRunner  # noqa: E402

__all__ = ["main"]


def wait_for(app: QApplication, condition, timeout: float = 120.0) -> float:
    """Process events until `condition()`; returns the seconds it took."""
    heartbeat = QTimer(interval=100)  # wakes the wait below now and then, so the timeout holds
    heartbeat.start()
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > timeout:
            raise TimeoutError("condition not met")
        # Sleep until the next event, as an idle GUI does (a busy loop would steal the workers' CPU).
        app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
    return time.perf_counter() - start


def custom_period(bar, first: QDate, last: QDate) -> None:
    bar.from_edit.setDate(first)
    bar.to_edit.setDate(last)
    bar.period_combo.setCurrentText("Custom")


def settled(page: AuditPage, filt: AuditFilter):
    m = page.model
    return lambda: (m.filter == filt and m.total is not None and m.rowCount() == min(m.total, PAGE_SIZE))


def time_filter(app, page: AuditPage, apply, repeats: int = 3) -> tuple[float, int]:
    """Median ms from applying a filter until its count and first page are shown."""
    times = []
    for _ in range(repeats):
        page.filter_bar.clear()
        wait_for(app, settled(page, AuditFilter()))
        start = time.perf_counter()
        apply()
        filt = page.model.filter  # applied synchronously ("last 30 days" is relative to that moment)
        assert filt != AuditFilter()
        wait_for(app, settled(page, filt))
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, page.model.total or 0


def explain(db: Path, sql: str, params: tuple) -> list[str]:
    con = sqlite3.connect(db)
    try:
        return [row[3] for row in con.execute("EXPLAIN QUERY PLAN " + sql, params)]
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(tempfile.gettempdir()) / "steward-audit-bench")
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()

    start = time.perf_counter()
    ws = build_big_workspace(args.root, args.events)
    print(f"workspace {args.root}: {args.events:,} events ready in {time.perf_counter() - start:.1f} s")

    app = QApplication.instance() or QApplication([])
    runner = TaskRunner()
    rows: list[tuple[str, str]] = []

    start = time.perf_counter()
    page = AuditPage(ws, runner)
    page.resize(1400, 800)
    page.show()
    built = time.perf_counter() - start
    wait_for(app, lambda: page.model.rowCount() == PAGE_SIZE and page.model.total is not None)
    opened = time.perf_counter() - start
    rows += [("page constructed (queries still running)", f"{built * 1000:.1f} ms"),
             ("page opened: count + first page shown", f"{opened * 1000:.1f} ms")]
    wait_for(app, lambda: page.filter_bar.model_combo.count() > 1)

    bar = page.filter_bar
    cases = [
        ("model filter", lambda: page.set_model_filter("model-042")),
        ("action group filter version.*", lambda: bar.action_combo.setCurrentText("version.*")),
        ("action filter model.created", lambda: bar.action_combo.setCurrentText("model.created")),
        ("actor filter", lambda: bar.actor_combo.setCurrentText("bob")),
        ("period: custom, June 2025", lambda: custom_period(bar, QDate(2025, 6, 1), QDate(2025, 6, 30))),
        ("period: custom, whole log", lambda: custom_period(bar, QDate(2024, 1, 2), QDate(2026, 12, 31))),
        ("text filter, rare ('nightly retrain #5000')", lambda: (bar.search_edit.setText("nightly retrain #5000"),
                                                               bar.flush())),
        ("text filter, common ('replaced by v')", lambda: (bar.search_edit.setText("replaced by v"), bar.flush())),
        ("text filter, no match ('zzzz')", lambda: (bar.search_edit.setText("zzzz"), bar.flush())),
    ]
    for label, apply in cases:
        ms, total = time_filter(app, page, apply)
        flag = "  > 150 ms" if ms > 150 else ""
        rows.append((f"{label} ({total:,} events)", f"{ms:.1f} ms{flag}"))

    page.filter_bar.clear()
    wait_for(app, settled(page, AuditFilter()))
    start = time.perf_counter()
    page.model.fetchMore()
    wait_for(app, lambda: page.model.rowCount() == 2 * PAGE_SIZE)
    rows.append(("fetchMore: second page appended", f"{(time.perf_counter() - start) * 1000:.1f} ms"))
    start = time.perf_counter()
    page.go_to_event(1000)  # deep in the log: row 999,000
    wait_for(app, lambda: page.current_event() is not None and page.current_event().seq == 1000)
    rows.append(("go to event #1000 (row 999,000)", f"{(time.perf_counter() - start) * 1000:.1f} ms"))

    results = []
    page.verify_finished.connect(results.append)
    start = time.perf_counter()
    page.verify()
    wait_for(app, lambda: results)
    wall = time.perf_counter() - start
    result = results[0]
    rows.append((f"verify_log ({'ok' if result.ok else 'BROKEN'}, {result.events:,} events)",
                 f"{wall:.2f} s wall = {result.events / wall:,.0f} events/s"))

    out = args.root / "bench-export.csv"
    page.set_model_filter("model-042")
    wait_for(app, settled(page, page.model.filter))
    done = []
    page.export_finished.connect(done.append)
    start = time.perf_counter()
    page.export_csv(out)
    wait_for(app, lambda: done)
    took = (time.perf_counter() - start) * 1000
    rows.append((f"CSV export of model filter ({done[0][1]:,} events)", f"{took:.0f} ms"))
    out.unlink(missing_ok=True)
    runner.wait()

    width = max(len(label) for label, _ in rows)
    print()
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    like = "%nightly retrain #5000%"
    print("\nEXPLAIN QUERY PLAN, text filter:",
          explain(ws.paths.db, "SELECT count(*) FROM audit_events WHERE object LIKE ? OR details LIKE ?", (like, like)))
    ws.close()


if __name__ == "__main__":
    main()
