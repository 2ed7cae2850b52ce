"""How long does the window's event loop stall while the Monitoring page scores a 1,000,000-row batch?

Opens the real main window (offscreen unless QT_QPA_PLATFORM says otherwise) on a demo workspace, writes a
churn batch of --rows rows, starts scoring through the page's own Score batch dialog (TaskRunner, throttled
progress, cancel event) and records the gaps between the ticks of a 5 ms QTimer until the batch is recorded
and the page has redrawn. Prints the longest gap, the 99th percentile, the gaps over 100 ms with the phase
they fell in, and the total scoring time.

    .venv/bin/python benchmarks/gui_stall_bench.py [--rows 1000000] [--home DEMO_WORKSPACE] [--runs 2]
        [--no-gc-freeze] [--trace] [--json]

--home copies an existing demo workspace (`steward --home DIR demo`) so scikit-learn is first imported by the
scoring itself, as in a freshly opened window; --trace prints where the other threads were at each gap.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

MODEL = "customer-churn"
TICK_MS = 5
STALL_MS = 100.0


class StallMeter:
    """A 5 ms precise timer; every tick records the time since the previous one and the phase it ended in."""

    def __init__(self, trace: bool = False) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.trace = trace
        self.traces: list[tuple[float, str]] = []  # (gap ms, where the other threads were when it ended)
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.gaps: list[tuple[float, str]] = []  # (milliseconds, phase)
        self.phase = "starting"
        self._last = 0.0

    def start(self) -> None:
        self.gaps.clear()
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        gap = (now - self._last) * 1000.0
        self.gaps.append((gap, self.phase))
        if self.trace and gap > STALL_MS / 2:
            self.traces.append((gap, _other_stacks()))
        self._last = now

    def summary(self) -> dict:
        import numpy as np

        ms = np.array([g for g, _ in self.gaps]) if self.gaps else np.array([0.0])
        worst: dict[str, float] = {}
        for gap, phase in self.gaps:
            if gap > STALL_MS:
                worst[phase] = max(worst.get(phase, 0.0), gap)
        ranked = sorted(worst.items(), key=lambda kv: -kv[1])
        return {"ticks": len(self.gaps), "max_ms": round(float(ms.max()), 1),
                "p99_ms": round(float(np.percentile(ms, 99)), 1), "p50_ms": round(float(np.median(ms)), 1),
                "over_100ms": int((ms > STALL_MS).sum()), "worst_by_phase": {k: round(v, 1) for k, v in ranked}}


def _other_stacks() -> str:
    """The innermost frames of every other thread: what held the interpreter while the GUI waited."""
    import threading
    import traceback

    names = {t.ident: t.name for t in threading.enumerate()}
    lines = []
    for ident, frame in sys._current_frames().items():
        if ident == threading.get_ident():
            continue
        stack = traceback.extract_stack(frame)[-3:]
        lines.append(f"    [{names.get(ident, ident)}] " + " <- ".join(
            f"{Path(s.filename).name}:{s.lineno} {s.name}" for s in reversed(stack)))
    return "\n".join(lines)


def _pump(ms: int) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def _wait(signal_list, timeout_s: float) -> str:
    """Run the event loop until one of the (name, signal) pairs fires; returns its name."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop, fired = QEventLoop(), []
    for name, signal in signal_list:
        signal.connect(lambda *_a, n=name: (fired.append(n), loop.quit()))
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    return fired[0] if fired else "timeout"


def _write_batch(path: Path, rows: int) -> float:
    from app.services.demo import _churn_frame

    started = time.perf_counter()
    frame = _churn_frame(2026, n=rows).drop(columns=["churned"])
    frame["monthly_charges"] = (frame["monthly_charges"] * 1.15).round(2)  # a drift worth recording
    frame.to_csv(path, index=False)
    return time.perf_counter() - started


def _score_once(page, batch: Path, meter: StallMeter, run: int) -> dict:
    """Score `batch` through the page's Score batch dialog while the meter runs; returns the figures."""
    dialog = page.batch_actions.open_batch_dialog("score")
    dialog.input_edit.setText(str(batch))
    dialog.label_edit.setText(f"stall-bench-{run}")
    updates: list[float] = []

    def progressed(_value: int) -> None:
        updates.append(time.perf_counter())
        meter.phase = dialog.status_label.text() or "progress"

    dialog.progress_bar.valueChanged.connect(progressed)
    meter.phase = "starting (reading the file, loading the model)"
    meter.traces.clear()
    meter.start()
    started = time.perf_counter()
    dialog.start()
    result = _wait([("recorded", dialog.batch_recorded), ("failed", dialog.run_failed)], timeout_s=900)
    scored_s = time.perf_counter() - started
    meter.phase = "page redraw"
    redraw = _wait([("loaded", page.data_loaded)], timeout_s=120) if result == "recorded" else "skipped"
    total_s = time.perf_counter() - started
    meter.stop()
    figures = {"run": run, "result": result, "scoring_s": round(scored_s, 2), "until_redrawn_s": round(total_s, 2),
               "redraw": redraw, "progress_updates": len(updates),
               "while_scoring": meter.summary(), "traces": list(meter.traces)}
    if result == "failed":
        figures["error"] = dialog.result_label.text()
    if dialog.outcome is not None:
        figures["batch"] = dialog.outcome.batch.id
        figures["drifted"] = [f["name"] for f in dialog.outcome.batch.drift["features"] if f["drifted"]]
    dialog.close()
    _pump(200)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--home", help="a demo workspace to copy (default: build one in this process, which "
                                       "imports scikit-learn: the first scoring is then warm)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--trace", action="store_true", help="print other threads' stacks at gaps over 50 ms")
    parser.add_argument("--runs", type=int, default=2,
                        help="scorings in one process: the first pays the one-off imports, later ones do not")
    parser.add_argument("--no-gc-freeze", action="store_true",
                        help="skip the gc.freeze() that app.ui.main.run_gui does once the window is up, to compare")
    args = parser.parse_args(argv)

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from app.core.settings import WorkspacePaths
    from app.services.demo import create_demo
    from app.store.workspace import open_workspace
    from app.ui import theme
    from app.ui.main_window import MainWindow

    tmp = Path(tempfile.mkdtemp(prefix="steward-stall-"))
    try:
        root = tmp / "workspace"
        if args.home:
            shutil.copytree(args.home, root)
            ws = open_workspace(WorkspacePaths(root))
        else:
            ws = open_workspace(WorkspacePaths(root))
            print("building the demo workspace…", file=sys.stderr)
            create_demo(ws)
        batch = tmp / "churn-1m.csv"
        write_s = _write_batch(batch, args.rows)
        print(f"wrote {args.rows:,} rows ({batch.stat().st_size / 1e6:.0f} MB) in {write_s:.1f} s", file=sys.stderr)

        app = QApplication.instance() or QApplication([sys.argv[0]])
        theme.apply_theme("light")
        window = MainWindow(ws, settings=QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat))
        window.resize(1400, 900)
        window.show()
        window.open_monitoring(MODEL)
        while window.runner.active:
            _pump(50)
        _pump(300)
        page = window.monitoring_page
        if not args.no_gc_freeze:
            import gc

            gc.collect()
            gc.freeze()  # start-up objects leave the collector's view: full collections get short

        meter = StallMeter(trace=args.trace)
        meter.phase = "idle"
        meter.start()
        _pump(1000)
        meter.stop()
        idle = meter.summary()
        runs = [_score_once(page, batch, meter, run) for run in range(1, args.runs + 1)]
        figures = {"rows": args.rows, "idle_1s": idle, "runs": runs, "python": sys.version.split()[0],
                   "platform": os.environ.get("QT_QPA_PLATFORM"), "cpus": os.cpu_count()}
        if args.json:
            print(json.dumps(figures, indent=2))
        else:
            print(f"idle 1 s: max {idle['max_ms']} ms, p99 {idle['p99_ms']} ms (the timer's own jitter)")
            for fig in runs:
                during = fig["while_scoring"]
                if fig["result"] != "recorded":
                    print(f"run {fig['run']}: {fig['result']} {fig.get('error', '')}")
                state = ("warm" if fig["run"] > 1 or not args.home else
                         "cold: first scoring in this process, scikit-learn not yet imported")
                print(f"run {fig['run']} ({state}): "
                      f"{args.rows:,} rows {fig['result']} in {fig['scoring_s']:.1f} s, page redrawn after "
                      f"{fig['until_redrawn_s']:.1f} s; {fig['progress_updates']} progress updates")
                print(f"  event-loop gaps: max {during['max_ms']} ms, p99 {during['p99_ms']} ms, median "
                      f"{during['p50_ms']} ms; {during['over_100ms']} of {during['ticks']} gaps over 100 ms")
                for phase, gap in during["worst_by_phase"].items():
                    print(f"  worst gap {gap:7.1f} ms during: {phase}")
                for gap, stacks in fig.get("traces", []):
                    print(f"  gap {gap:.1f} ms; other threads:\n{stacks}")
        window.close()
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
