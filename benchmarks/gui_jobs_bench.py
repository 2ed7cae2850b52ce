"""How long does the window's event loop stall while two retrain jobs run at once, and how soon does a retrain start?

Opens the real main window (offscreen unless QT_QPA_PLATFORM says otherwise) on a demo workspace, makes two models'
recipes slow (more trees / boosting stages: each job fits for several seconds), allows two jobs at once, and starts
both retrains through the Retrain… buttons and dialog (one from the Models page, one from the Monitoring page); the
window then shows the Jobs page, which polls once a second, follows the log and draws the outcome. A 5 ms QTimer
records the gaps between its ticks from the first click until both jobs have ended and the page has shown them.

Prints the longest gap, the 99th percentile and the gaps over 50 ms with the phase they fell in; and per job the
time from the dialog's accept to: the job claimed (state running), its worker process reporting in (pid, first log
line), its first progress update (from the job's own timestamps and log), and when the window first showed it
running with a pid and with progress (that view polls once a second).

    .venv/bin/python benchmarks/gui_jobs_bench.py [--trees 6000] [--stages 800] [--home DEMO_WORKSPACE] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

# Worker processes are spawned: each re-imports this file as __mp_main__, so nothing but this runs at import.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

FOREST = "breast-cancer-screening"  # Production v2 is a random forest: --trees sets its size
BOOSTED = "customer-churn"  # v2 is a gradient-boosting pipeline: its recipe is rebuilt from it, --stages sets it
STALL_MS = 50.0
_LOG_TIME = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) ")


def _summary(gaps: list[tuple[float, str]]) -> dict:
    import numpy as np

    ms = np.array([g for g, _ in gaps]) if gaps else np.array([0.0])
    return {"ticks": len(gaps), "max_ms": round(float(ms.max()), 1), "p99_ms": round(float(np.percentile(ms, 99)), 1),
            "p50_ms": round(float(np.median(ms)), 1), "over": int((ms > STALL_MS).sum())}


def _log_moments(job) -> tuple[float | None, float | None]:
    """Epoch seconds of the worker's first log line (it reported in) and of its first progress line."""
    day = job.started_at.astimezone() if job.started_at else datetime.now().astimezone()
    first = progress = None
    for line in job.log.splitlines():
        match = _LOG_TIME.match(line)
        if not match:
            continue
        h, m, s, ms = (int(g) for g in match.groups())
        moment = day.replace(hour=h, minute=m, second=s, microsecond=ms * 1000).timestamp()
        if first is None:
            first = moment
        if progress is None and re.search(r"INFO\s+\d+% ", line):
            progress = moment
            break
    return first, progress


class _MainSampler:
    """--trace: samples the GUI thread's stack every few ms, to name what it was doing during a long gap."""

    def __init__(self) -> None:
        import threading

        self.main = threading.get_ident()
        self.samples: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="sampler", daemon=True)

    def _run(self) -> None:
        import traceback

        while not self._stop.wait(0.004):
            frame = sys._current_frames().get(self.main)
            if frame is not None:
                stack = traceback.extract_stack(frame)[-6:]
                self.samples.append((time.perf_counter(), " <- ".join(
                    f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(stack))))

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()

    def during(self, end: float, gap_ms: float) -> list[tuple[int, str]]:
        from collections import Counter

        inside = [s for t, s in self.samples if end - gap_ms / 1000 <= t <= end]
        return Counter(inside).most_common(3)


class _Seen:
    """What the Jobs page showed, and when (epoch seconds), per job id."""

    def __init__(self) -> None:
        self.running_with_pid: dict[int, float] = {}
        self.progress: dict[int, float] = {}
        self.finished: dict[int, float] = {}

    def update(self, view) -> None:
        now = time.time()
        for job in view.jobs:
            if job.state.value == "running" and job.pid:
                self.running_with_pid.setdefault(job.id, now)
            if job.progress > 0 and job.state.value == "running":
                self.progress.setdefault(job.id, now)
            if job.state.finished:
                self.finished.setdefault(job.id, now)


def _retrain(window, dialog, meter, label: str, wait_idle) -> tuple[int, float]:
    """Accept `dialog` once its recipe is read; returns (job id, epoch of the accept)."""
    from PySide6.QtCore import QEventLoop, QTimer

    meter.phase = f"retrain dialog {label}: reading the recipe"
    deadline = time.monotonic() + 60
    while not dialog.start_button.isEnabled() and time.monotonic() < deadline:
        wait_idle(20)
    loop, got = QEventLoop(), []
    dialog.job_submitted.connect(lambda job: (got.append(job), loop.quit()))
    QTimer.singleShot(60_000, loop.quit)
    meter.phase = f"retrain {label}: submitting, starting the worker"
    accepted = time.time()
    dialog.start_button.click()
    loop.exec()
    if not got:
        raise SystemExit(f"the {label} retrain was not submitted: {dialog.error_label.text()}")
    return got[0].id, accepted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", type=int, default=6000, help=f"trees of {FOREST}'s retrained forest")
    parser.add_argument("--stages", type=int, default=800, help=f"boosting stages of {BOOSTED}'s retrain")
    parser.add_argument("--home", help="a demo workspace to copy (default: build one)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--trace", action="store_true", help="name the GUI thread's work at gaps over 50 ms")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from gui_stall_bench import StallMeter, _pump

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from app.core.settings import WorkspacePaths
    from app.services import jobs as job_service
    from app.services.demo import create_demo
    from app.services.recipes import set_recipe
    from app.services.settings import set_settings
    from app.store.workspace import open_workspace
    from app.ui import theme
    from app.ui.main_window import MODELS, MainWindow

    tmp = Path(tempfile.mkdtemp(prefix="steward-jobs-bench-"))
    try:
        root = tmp / "workspace"
        if args.home:
            shutil.copytree(args.home, root)
            ws = open_workspace(WorkspacePaths(root))
        else:
            ws = open_workspace(WorkspacePaths(root))
            print("building the demo workspace…", file=sys.stderr)
            create_demo(ws)
        set_settings(ws, "workers", {"max_jobs": 2})  # both at once, whatever the number of cores
        set_recipe(ws, FOREST, params={"n_estimators": args.trees})
        set_recipe(ws, BOOSTED, from_version=2)
        set_recipe(ws, BOOSTED, params={"gradientboostingclassifier__n_estimators": args.stages})

        app = QApplication.instance() or QApplication([sys.argv[0]])
        theme.apply_theme("light")
        window = MainWindow(ws, settings=QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat))
        window.resize(1400, 900)
        window.show()

        def wait_idle(ms: int = 50) -> None:
            _pump(ms)

        while window.runner.active:
            _pump(50)
        _pump(500)
        import gc

        gc.collect()
        gc.freeze()  # as run_gui does once the window is up
        meter = StallMeter()
        meter.phase = "idle"
        meter.start()
        _pump(1000)
        meter.stop()
        idle = meter.summary()

        sampler = _MainSampler() if args.trace else None
        ends: list[float] = []
        if sampler is not None:
            meter.timer.timeout.connect(lambda: ends.append(time.perf_counter()))
            sampler.start()
        seen = _Seen()
        page = window.jobs_page
        page.view_loaded.connect(seen.update)
        meter.start()
        meter.phase = "clicks: Models page, Retrain… (nothing running yet)"
        window.show_page(MODELS)
        window.models_page.select_model(FOREST)
        window.models_page.details.retrain_button.click()
        first_id, first_at = _retrain(window, window.retrain_dialog, meter, FOREST, wait_idle)
        meter.phase = "clicks: Monitoring page while job 1 runs"
        window.open_monitoring(BOOSTED)
        while window.monitoring_page.data is None or window.monitoring_page.data.model != BOOSTED:
            _pump(20)
        window.monitoring_page.retrain_button.click()
        second_id, second_at = _retrain(window, window.retrain_dialog, meter, BOOSTED, wait_idle)
        split = len(meter.gaps)  # from here on both jobs run: the figure this benchmark is for
        meter.phase = "two jobs running; Jobs page polling, log following"
        started = time.monotonic()
        while time.monotonic() - started < 900:
            jobs = [page.model.job(first_id), page.model.job(second_id)]
            done = [j is not None and j.state.finished for j in jobs]
            if all(done):
                break
            if any(done):
                meter.phase = "one job left; the other's end noticed, pages marked for reload"
            _pump(50)
        meter.phase = "after both: outcome drawn on the Jobs page"
        _pump(1500)
        meter.stop()
        from app.ui.jobs_close import CloseChoice
        from app.ui.jobs_data import active_jobs, cancel_jobs

        cancel_jobs(ws, [j.id for j in active_jobs(ws)])  # only after a timeout: no worker outlives the run
        window.close_with(CloseChoice.LEAVE)

        rows = []
        for job_id, accepted in ((first_id, first_at), (second_id, second_at)):
            job = job_service.get_job(ws, job_id)
            reported, progress = _log_moments(job)

            def since(moment, accepted=accepted):
                return None if moment is None else round(moment - accepted, 3)

            rows.append({
                "job": job_id, "model": job.model_name, "state": job.state.value,
                "fit_and_record_s": round((job.finished_at - job.started_at).total_seconds(), 1)
                if job.finished_at and job.started_at else None,
                "accept_to_claimed_s": since(job.started_at.timestamp() if job.started_at else None),
                "accept_to_worker_reported_s": since(reported),
                "accept_to_first_progress_s": since(progress),
                "accept_to_window_shows_running_pid_s": since(seen.running_with_pid.get(job_id)),
                "accept_to_window_shows_progress_s": since(seen.progress.get(job_id)),
                "summary": (job.result or {}).get("summary") or job.error,
            })
        clicks, jobs_part = _summary(meter.gaps[:split]), _summary(meter.gaps[split:])
        over = sorted(((round(g, 1), p) for g, p in meter.gaps if g > STALL_MS), reverse=True)[:10]
        if sampler is not None:
            sampler.stop()
            for (gap, phase), end in zip(meter.gaps[-len(ends):], ends, strict=False):
                if gap > STALL_MS:
                    print(f"gap {gap:.1f} ms ({phase}); the GUI thread was in:", file=sys.stderr)
                    for stack, count in sampler.during(end, gap):
                        print(f"  {count:3d}× {stack}", file=sys.stderr)
        figures = {"idle_1s": idle, "while_two_jobs_run": jobs_part, "while_clicking": clicks,
                   "gaps_over_50ms": over, "jobs": rows,
                   "trees": args.trees, "stages": args.stages, "cpus": os.cpu_count(),
                   "platform": os.environ.get("QT_QPA_PLATFORM"), "python": sys.version.split()[0]}
        if args.json:
            print(json.dumps(figures, indent=2))
            return 0
        print(f"idle 1 s: max {idle['max_ms']} ms, p99 {idle['p99_ms']} ms (the timer's own jitter)")
        for title, part in ((f"while two retrains run at once ({os.cpu_count()} cores)", jobs_part),
                            ("while clicking through pages and dialogs to start them", clicks)):
            print(f"{title}: event-loop gaps max {part['max_ms']} ms, p99 {part['p99_ms']} ms, median "
                  f"{part['p50_ms']} ms; {part['over']} of {part['ticks']} gaps over {STALL_MS:.0f} ms")
        for gap, phase in over:
            print(f"  gap {gap:7.1f} ms during: {phase}")
        for r in rows:
            print(f"job #{r['job']} {r['model']}: {r['state']}, ran {r['fit_and_record_s']} s — {r['summary']}")
            print(f"  accept → claimed {r['accept_to_claimed_s']} s → worker reported in "
                  f"{r['accept_to_worker_reported_s']} s → first progress {r['accept_to_first_progress_s']} s")
            print(f"  window showed it running with a pid after {r['accept_to_window_shows_running_pid_s']} s, "
                  f"with progress after {r['accept_to_window_shows_progress_s']} s (1 s polls)")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
