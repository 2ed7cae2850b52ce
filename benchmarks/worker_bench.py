"""Worker benchmark: submit → worker running (spawn + imports), and a retrain of the demo churn model.

Run:  .venv/bin/python benchmarks/worker_bench.py [--repeat 5] [--keep DIR]

Baselines measured in the same run: a bare `python -c pass` started as a process (the floor of
any child process), and the same retrain called in-process (the floor of any retrain through a
worker). Figures are medians. This is a script, not a timed test.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

__all__ = ["main"]


def _bare_interpreter(repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _follow(ws, job_id: int) -> dict[str, float]:
    """Poll the job row every 2 ms; seconds from submit to each milestone."""
    from app.services import jobs

    start = time.perf_counter()
    jobs.start_queued(ws)
    marks = {"claimed": time.perf_counter() - start}
    while True:
        job = jobs.get_job(ws, job_id, with_log=False)
        now = time.perf_counter() - start
        if job.pid and job.heartbeat_at and "attached" not in marks:
            marks["attached"] = now  # the worker process runs our code and has opened the workspace
        if job.progress > 0 and "running" not in marks:
            marks["running"] = now  # the job function was imported and called
        if job.message.startswith("Fitting") and "fitting" not in marks:
            marks["fitting"] = now  # pandas, sklearn, recipe and data are loaded
        if job.state.finished:
            marks["finished"] = now
            assert job.state.value == "succeeded", jobs.get_job(ws, job_id).log
            return marks
        time.sleep(0.002)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", metavar="DIR", help="build the workspace here and keep it")
    args = parser.parse_args()

    from app.core.settings import WorkspacePaths
    from app.services import jobs
    from app.services.demo import create_demo
    from app.services.retrain import retrain
    from app.store.workspace import open_workspace

    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="worker-bench-"))
    try:
        print("building the demo workspace ...", flush=True)
        ws = open_workspace(WorkspacePaths(folder / "ws"))
        create_demo(ws)
        name = "customer-churn"
        jobs.get_job  # noqa: B018 - imported before timing
        bare = _bare_interpreter(args.repeat)
        direct = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            retrain(ws, {"model": name}, lambda f, m: None, lambda: False)
            direct.append(time.perf_counter() - start)
        runs = [_follow(ws, jobs.submit_retrain(ws, name)) for _ in range(args.repeat)]
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        in_process = statistics.median(direct)
        print(f"\nmedians of {args.repeat} runs, demo model '{name}':")
        print(f"  bare interpreter process (baseline)        {bare * 1000:8.0f} ms")
        print(f"  submit → claimed                           {med['claimed'] * 1000:8.0f} ms")
        print(f"  submit → worker attached (spawn)           {med['attached'] * 1000:8.0f} ms"
              f"   {med['attached'] / bare:.1f}× bare interpreter")
        print(f"  submit → job function running             {med['running'] * 1000:8.0f} ms")
        print(f"  submit → fitting (pandas+sklearn+data in)  {med['fitting'] * 1000:8.0f} ms")
        print(f"  submit → succeeded (whole retrain)         {med['finished'] * 1000:8.0f} ms"
              f"   {med['finished'] / in_process:.1f}× in-process")
        print(f"  same retrain in-process (baseline)         {in_process * 1000:8.0f} ms")
        ws.close()
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":  # spawned workers import this file as __mp_main__: nothing may run then
    raise SystemExit(main())
