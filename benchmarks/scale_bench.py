"""Scale benchmark: a workspace of 1,000 models × 10 versions, 10,000 batches and 1,000,000 audit events.

Measures, each against a small-workspace baseline run in the same process (and against the aim):
start to first paint of the window, opening the Models page, filtering the Audit page,
`audit verify`, and a whole-inventory report (PDF, HTML, JSON).

    .venv/bin/python benchmarks/scale_bench.py [--root /tmp/steward-scale] [--skip-report]

The big workspace is built once (about 30 s, benchmarks/scale_data.py) and reused.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from audit_page_bench import settled, wait_for  # noqa: E402
from scale_data import build_scale_workspace  # noqa: E402

__all__ = ["main"]


def first_paint(home: Path, repeats: int = 3) -> float:
    """Median seconds from process start to the window's first paint (a fresh interpreter each time)."""
    times = []
    for _ in range(repeats):
        done = subprocess.run([sys.executable, "-m", "app", "--home", str(home), "gui", "--quit-after-paint"],
                              capture_output=True, text=True, timeout=300, cwd=ROOT,
                              env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
        found = re.search(r"first paint after ([0-9.]+) s", done.stdout + done.stderr)
        if not found:
            raise SystemExit(f"no first-paint line from the window:\n{done.stdout}\n{done.stderr}")
        times.append(float(found.group(1)))
    return statistics.median(times)


def models_page_open(app, ws, repeats: int = 5) -> float:
    """Median ms from showing a new Models page until its table holds every model."""
    from app.services.queries import list_models
    from app.ui.models_page import ModelsPage
    from app.ui.tasks import TaskRunner

    expected = len(list_models(ws))
    runner = TaskRunner()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        page = ModelsPage(ws, runner)
        page.resize(1400, 900)
        page.show()
        wait_for(app, lambda p=page: p.source.rowCount() == expected)
        times.append(time.perf_counter() - start)
        page.close()
        page.deleteLater()
        runner.wait()
    return statistics.median(times) * 1000


def audit_filters(app, ws, model: str) -> dict[str, float]:
    """Median ms from applying a filter until the count and the first page are shown."""
    from app.services.audit import AuditFilter
    from app.ui.audit_page import AuditPage
    from app.ui.tasks import TaskRunner

    from audit_page_bench import time_filter

    runner = TaskRunner()
    page = AuditPage(ws, runner)
    page.resize(1400, 800)
    page.show()
    wait_for(app, settled(page, AuditFilter()))
    wait_for(app, lambda: page.filter_bar.model_combo.count() > 1)
    bar = page.filter_bar
    cases = {
        "model": lambda: page.set_model_filter(model),
        "action version.*": lambda: bar.action_combo.setCurrentText("version.*"),
        "actor": lambda: bar.actor_combo.setCurrentText("bob"),
        "text (rare)": lambda: (bar.search_edit.setText("batch:4242"), bar.flush()),
        "text (none)": lambda: (bar.search_edit.setText("zzzz-nothing"), bar.flush()),
    }
    out = {label: time_filter(app, page, apply)[0] for label, apply in cases.items()}
    runner.wait()
    page.close()
    return out


def verify_rate(ws) -> tuple[float, int]:
    from app.services.audit import verify_log

    start = time.perf_counter()
    result = verify_log(ws)
    assert result.ok, result.summary
    return result.events / (time.perf_counter() - start), result.events


def report_time(ws, out: Path) -> dict[str, float]:
    from app.services.report_data import ReportScope
    from app.services.reports import export_report

    times = {}
    for formats in (["json"], ["html"], ["pdf"]):
        start = time.perf_counter()
        export_report(ws, ReportScope(), formats, out)
        times["+".join(formats)] = time.perf_counter() - start
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(tempfile.gettempdir()) / "steward-scale")
    parser.add_argument("--skip-report", action="store_true", help="skip the whole-inventory PDF (about a minute)")
    args = parser.parse_args()

    big = args.root / "big"
    small = args.root / "small"
    start = time.perf_counter()
    build_scale_workspace(big, quiet=True)
    build_scale_workspace(small, models=4, versions=3, batches=40, events=400, quiet=True)
    print(f"workspaces ready in {time.perf_counter() - start:.0f} s ({big}, {small})")

    from PySide6.QtWidgets import QApplication

    from app.store.workspace import open_workspace
    from app.core.settings import WorkspacePaths

    app = QApplication.instance() or QApplication([])
    ws_big, ws_small = open_workspace(WorkspacePaths(big)), open_workspace(WorkspacePaths(small))
    rows = []

    def row(label: str, value: float, base: float, unit: str, aim: str, ok: bool) -> None:
        rows.append((label, f"{value:,.2f} {unit}", f"{base:,.2f} {unit}", f"{value / base:,.1f}×" if base else "-",
                     aim, "ok" if ok else "MISSED"))

    paint_big, paint_small = first_paint(big), first_paint(small)
    row("start → first paint", paint_big, paint_small, "s", "≤ 1 s", paint_big <= 1.0)
    open_big, open_small = models_page_open(app, ws_big), models_page_open(app, ws_small)
    row("Models page open (all rows)", open_big, open_small, "ms", "≤ 200 ms", open_big <= 200)
    filters_big = audit_filters(app, ws_big, "model-0042")
    filters_small = audit_filters(app, ws_small, "model-0002")
    for label, ms in filters_big.items():
        row(f"Audit filter: {label}", ms, filters_small[label], "ms", "≤ 150 ms", ms <= 150)
    rate_big, events = verify_rate(ws_big)
    rate_small, _ = verify_rate(ws_small)
    row(f"audit verify ({events:,} events)", rate_big / 1000, rate_small / 1000, "k ev/s", "≥ 500 k/s",
        rate_big >= 500_000)
    if not args.skip_report:
        out = args.root / "reports"
        big_times, small_times = report_time(ws_big, out), report_time(ws_small, out)
        for fmt, seconds in big_times.items():
            row(f"whole-inventory report, {fmt}", seconds, small_times[fmt], "s", "(measured)", True)

    widths = [max(len(r[i]) for r in rows + [("measure", "1,000 models", "baseline", "ratio", "aim", "")])
              for i in range(6)]
    header = ("measure", "1,000 models", "baseline", "ratio", "aim", "")
    for r in [header] + rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths)))
    ws_big.close()
    ws_small.close()


if __name__ == "__main__":
    main()
