"""Cron due times, schedules (audited), run_due exactly once across processes, alert triggers, the CLI."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from app.core.cron import next_due, parse_cron
from app.core.errors import InvalidInputError, NotFoundError
from app.core.timeutil import utcnow
from app.services.audit import AuditFilter, list_events
from app.services.schedules import get_schedule, list_schedules, run_due, run_due_report, set_schedule

ROOT = Path(__file__).resolve().parents[1]
CHILD = Path(__file__).with_name("_schedules_child.py")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# ----- cron ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cron, after, expected", [
    ("*/15 * * * *", "2024-05-01 10:07", "2024-05-01 10:15"),
    ("*/15 * * * *", "2024-05-01 10:15", "2024-05-01 10:30"),  # strictly after
    ("*/15 * * * *", "2024-05-01 10:14:59.999", "2024-05-01 10:15"),
    ("*/15 * * * *", "2024-05-01 23:50", "2024-05-02 00:00"),
    ("0 6 * * 1", "2024-03-03 12:00", "2024-03-04 06:00"),  # Sunday -> Monday
    ("0 6 * * 1", "2024-03-04 06:00", "2024-03-11 06:00"),
    ("0 6 * * mon", "2024-03-04 05:59", "2024-03-04 06:00"),
    ("0 0 31 * *", "2024-04-01 00:00", "2024-05-31 00:00"),  # April has no 31st
    ("0 0 31 * *", "2024-01-31 00:00", "2024-03-31 00:00"),  # nor February
    ("0 0 1 * *", "2024-01-31 23:59:59", "2024-02-01 00:00"),
    ("59 23 31 12 *", "2024-12-31 23:59", "2025-12-31 23:59"),  # year rollover
    ("0 0 30 * *", "2023-02-01 00:00", "2023-03-30 00:00"),
    ("0 12 29 2 *", "2024-02-28 13:00", "2024-02-29 12:00"),  # leap year
    ("0 12 29 2 *", "2024-03-01 00:00", "2028-02-29 12:00"),
    ("0 12 29 2 *", "2096-03-01 00:00", "2104-02-29 12:00"),  # 2100 is not a leap year
    ("0 0 28-31 2 *", "2023-02-28 00:00", "2024-02-28 00:00"),
    ("0 0 13 * 5", "2024-09-01 00:00", "2024-09-06 00:00"),  # both restricted: the 13th OR a Friday
    ("0 0 13 * 5", "2024-09-12 00:00", "2024-09-13 00:00"),  # Friday the 13th either way
    ("0 0 13 * *", "2024-09-01 00:00", "2024-09-13 00:00"),
    ("0 0 */10 * 5", "2024-09-01 00:00", "2024-10-11 00:00"),  # '*/10' counts as '*': 1st/11th/21st/31st AND Friday
    ("0 0 1,15 * 3", "2024-05-02 00:00", "2024-05-08 00:00"),  # a Wednesday before the 15th
    ("0 0 * * 7", "2024-05-01 00:00", "2024-05-05 00:00"),  # 7 is Sunday too
    ("0 0 * * 0", "2024-05-01 00:00", "2024-05-05 00:00"),
    ("0-30/10 * * * *", "2024-05-01 10:05", "2024-05-01 10:10"),
    ("0-30/10 * * * *", "2024-05-01 10:31", "2024-05-01 11:00"),
    ("5/20 * * * *", "2024-05-01 10:26", "2024-05-01 10:45"),
    ("1,15 * * * *", "2024-05-01 10:02", "2024-05-01 10:15"),
    ("0 9-17 * * mon-fri", "2024-05-03 17:30", "2024-05-06 09:00"),  # Friday evening -> Monday
    ("30 2 * jan,jul *", "2024-02-01 00:00", "2024-07-01 02:30"),
    ("0 0 1 */4 *", "2024-02-10 00:00", "2024-05-01 00:00"),  # months 1, 5, 9
    ("@hourly", "2024-05-01 10:00", "2024-05-01 11:00"),
    ("@weekly", "2024-05-01 10:00", "2024-05-05 00:00"),
    ("  0   6  *  *  1 ", "2024-03-03 12:00", "2024-03-04 06:00"),
])
def test_next_due(cron, after, expected):
    due = next_due(cron, at(after))
    assert due == at(expected) and due.tzinfo is UTC


def test_next_due_is_utc_whatever_the_input_zone():
    eastern = datetime(2024, 3, 3, 23, 30, tzinfo=timezone(timedelta(hours=-5)))  # 04:30 UTC on Monday
    assert next_due("0 6 * * 1", eastern) == at("2024-03-04 06:00")
    assert next_due("0 6 * * 1", datetime(2024, 3, 4, 5, 0)) == at("2024-03-04 06:00")  # naive means UTC


def _matches(spec, t: datetime) -> bool:
    return t.minute in spec.minutes and t.hour in spec.hours and t.month in spec.months and \
        spec.day_matches(t.year, t.month, t.day)


@pytest.mark.parametrize("cron", ["*/7 * * * *", "13 */5 * * *", "0 0 * * 2", "45 23 */3 * *", "0 8 1,15 * 1",
                                  "10-20/5 4 * * 6,0", "0 0 1 * mon", "*/30 1-3 * * *"])
def test_next_due_agrees_with_a_minute_by_minute_search(cron):
    spec = parse_cron(cron)
    start = at("2024-02-27 21:17:30")
    for _ in range(5):
        t = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
        while not _matches(spec, t):
            t += timedelta(minutes=1)
        assert next_due(cron, start) == t
        start = t


@pytest.mark.parametrize("cron, field", [
    ("61 * * * *", "minute"), ("* 24 * * *", "hour"), ("* * 0 * *", "day-of-month"), ("* * 32 * *", "day-of-month"),
    ("* * * 13 *", "month"), ("* * * foo *", "month"), ("* * * * 8", "day-of-week"), ("* * * * funday", "day-of-week"),
    ("*/0 * * * *", "minute"), ("5-1 * * * *", "minute"), ("1,,2 * * * *", "minute"), ("* x * * *", "hour"),
    ("* * * 1-13 *", "month"), ("*/-5 * * * *", "minute"),
])
def test_invalid_expressions_name_the_bad_field(cron, field):
    with pytest.raises(InvalidInputError, match=f"the {field} field"):
        next_due(cron, at("2024-01-01 00:00"))


@pytest.mark.parametrize("cron, message", [
    ("* * * *", "expected 5 fields"), ("* * * * * *", "expected 5 fields"), ("", "expected 5 fields"),
    ("@reboot", "unknown shortcut"), ("0 0 30 2 *", "never matches"), ("0 0 31 4,6,9,11 *", "never matches"),
])
def test_malformed_or_impossible_expressions_are_refused(cron, message):
    with pytest.raises(InvalidInputError, match=message):
        next_due(cron, at("2024-01-01 00:00"))


# ----- schedules ---------------------------------------------------------------------------------------

@pytest.fixture
def cancer(workspace, classifier_files):
    from app.services.register import register_model
    from app.services.stages import promote_version

    f = classifier_files
    register_model(workspace, "cancer", f.model, f.train, f.target, test_data=f.test)
    promote_version(workspace, "cancer", 1, "production", "go live")
    return workspace


def _events(ws, action: str):
    return list_events(ws, AuditFilter(action=action), newest_first=False)


def test_schedule_changes_are_validated_and_audited(cancer):
    now = at("2024-05-01 10:07")
    created = set_schedule(cancer, "cancer", cron="0 6 * * 1", now=now)
    assert created.enabled and created.on_alert_severity is None and created.next_due_at == at("2024-05-06 06:00")
    event = _events(cancer, "schedule.created")[0]
    assert event.actor == "alice" and event.details["changes"]["cron"] == {"from": None, "to": "0 6 * * 1"}
    assert event.details["timezone"] == "UTC"

    changed = set_schedule(cancer, "cancer", on_alert="HIGH", now=now)
    assert changed.cron == "0 6 * * 1" and changed.on_alert_severity == "high"
    assert changed.next_due_at == created.next_due_at  # the pending run is kept
    assert set_schedule(cancer, "cancer", on_alert="high", now=now) == changed  # no change, no event
    off = set_schedule(cancer, "cancer", enabled=False, now=now)
    assert not off.enabled and off.next_due_at is None
    on = set_schedule(cancer, "cancer", enabled=True, cron="*/15 * * * *", now=now)
    assert on.enabled and on.next_due_at == at("2024-05-01 10:15")
    changes = [e.details["changes"] for e in _events(cancer, "schedule.changed")]
    assert changes[0] == {"on_alert_severity": {"from": None, "to": "high"}}
    assert changes[1]["enabled"] == {"from": True, "to": False}
    assert changes[2]["cron"] == {"from": "0 6 * * 1", "to": "*/15 * * * *"}
    assert get_schedule(cancer, "cancer") == on and list_schedules(cancer) == [on]

    for bad in ({"cron": "* * *"}, {"on_alert": "urgent"}, {"cron": None, "on_alert": None}):
        with pytest.raises(InvalidInputError):
            set_schedule(cancer, "cancer", **bad)
    with pytest.raises(NotFoundError):
        set_schedule(cancer, "nope", cron="* * * * *")
    assert len(_events(cancer, "schedule.")) == 4


def test_a_due_schedule_fires_once_and_a_missed_run_does_not_repeat(cancer):
    from app.services.jobs import get_job

    set_schedule(cancer, "cancer", cron="0 * * * *", now=at("2024-05-01 10:07"))  # due 11:00
    assert run_due(cancer, at("2024-05-01 10:59"), start=False) == []
    # The machine was off from 11:00 until three days later: one catch-up run, then the next hour.
    late = at("2024-05-04 08:30")
    [job_id] = run_due(cancer, late, start=False)
    assert run_due(cancer, late, start=False) == []
    schedule = get_schedule(cancer, "cancer")
    assert schedule.next_due_at == at("2024-05-04 09:00") and schedule.last_run_at == late
    assert schedule.last_job_id == job_id
    job = get_job(cancer, job_id)
    assert job.kind == "retrain" and job.params["model"] == "cancer" and job.params["trigger"] == "cron"
    fired = _events(cancer, "schedule.fired")
    assert len(fired) == 1 and fired[0].details["job"] == job_id
    assert fired[0].details["due_at"] == "2024-05-01T11:00:00.000000Z"
    assert fired[0].details["next_due_at"] == "2024-05-04T09:00:00.000000Z"
    assert run_due(cancer, at("2024-05-04 09:00"), start=False) == []  # a retrain is still queued: reused
    assert run_due_report(cancer, at("2024-05-04 10:00"), start=False).reused == (job_id,)

    set_schedule(cancer, "cancer", enabled=False)
    assert run_due(cancer, at("2030-01-01 00:00"), start=False) == []  # a disabled schedule never fires


def test_a_model_without_production_is_skipped_with_an_audited_error(cancer, classifier_files):
    from app.services.register import register_model

    f = classifier_files
    register_model(cancer, "draft", f.model, f.train, f.target)  # no Production version
    set_schedule(cancer, "draft", cron="0 0 * * *", now=at("2024-05-01 10:00"))
    set_schedule(cancer, "cancer", cron="0 0 * * *", now=at("2024-05-01 10:00"))
    report = run_due_report(cancer, at("2024-05-02 00:00"), start=False)
    assert len(report.submitted) == 1 and report.failed[0]["model"] == "draft"
    assert "no Production version" in report.failed[0]["error"]
    failed = _events(cancer, "schedule.failed")
    assert len(failed) == 1 and failed[0].model == "draft" and "no Production version" in failed[0].details["error"]
    assert get_schedule(cancer, "draft").next_due_at == at("2024-05-03 00:00")  # it moved on
    again = run_due_report(cancer, at("2024-05-02 00:00"), start=False)
    assert again.submitted == () and again.failed == ()


def _alerts(ws) -> dict[int, tuple[str, str, int | None]]:
    with sqlite3.connect(ws.paths.db) as conn:
        return {r[0]: r[1:] for r in conn.execute("SELECT id, kind, severity, linked_job_id FROM alerts")}


def test_an_alert_trigger_fires_once_for_alerts_at_least_that_severe(cancer, classifier_files, tmp_path):
    from app.services.batches import score_batch
    from tests.monitoring_helpers import write_batch

    early, _ = write_batch(classifier_files, tmp_path, "early", shift=4.0, seed=1)
    score_batch(cancer, "cancer", early)  # alerts opened before the trigger existed do not fire it
    set_schedule(cancer, "cancer", on_alert="high")
    assert run_due(cancer, start=False) == []
    from app.services.alerts import list_alerts, resolve_alert

    for alert in list_alerts(cancer, "cancer", "open"):
        resolve_alert(cancer, alert.id, "retrain", "handled by hand")
    later, _ = write_batch(classifier_files, tmp_path, "later", shift=4.0, seed=2)
    opened = score_batch(cancer, "cancer", later).alerts
    assert {(a.kind.value, a.severity.value) for a in opened} == {("drift", "high"), ("quality", "medium")}
    [job_id] = run_due(cancer, start=False)
    linked = {a.kind.value: _alerts(cancer)[a.id][2] for a in opened}
    assert linked == {"drift": job_id, "quality": None}  # medium is below the trigger
    assert run_due(cancer, start=False) == []  # fires once
    fired = _events(cancer, "schedule.fired")
    assert len(fired) == 1 and fired[0].details["trigger"] == ["alert"] and fired[0].details["alerts"] == \
        [a.id for a in opened if a.kind.value == "drift"]


def _wait_finished(ws, job_id: int):
    from app.services.jobs import get_job
    from tests.workers_helpers import wait_until

    return wait_until(lambda: (j := get_job(ws, job_id, with_log=False)).state.finished and j, timeout=90,
                      what=f"job #{job_id}")


@pytest.mark.slow
def test_two_processes_running_due_at_the_same_instant_submit_one_job(cancer, tmp_path):
    from app.services.recipes import get_recipe

    get_recipe(cancer, "cancer")
    set_schedule(cancer, "cancer", cron="0 6 * * 1", now=at("2024-01-01 00:00"))  # long overdue
    barrier = tmp_path / "go"
    children = [subprocess.Popen([sys.executable, str(CHILD), str(cancer.root), str(barrier)], cwd=ROOT,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for child in children:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
    barrier.touch()
    outputs = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        outputs.append(json.loads(out))
    submitted = sorted((o["submitted"] for o in outputs), key=len)
    assert submitted[0] == [] and len(submitted[1]) == 1
    job_id = submitted[1][0]
    with sqlite3.connect(cancer.paths.db) as conn:
        assert conn.execute("SELECT id FROM jobs").fetchall() == [(job_id,)]
    assert len(_events(cancer, "schedule.fired")) == 1 and len(_events(cancer, "job.submitted")) == 1
    assert get_schedule(cancer, "cancer").last_job_id == job_id
    job = _wait_finished(cancer, job_id)
    assert job.state.value == "succeeded", job.error


def _cli(ws, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", "--home", str(ws.root), *args],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


def _one_line_error(done: subprocess.CompletedProcess, text: str) -> None:
    assert done.returncode != 0 and "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("error:") and text in lines[0], done.stderr
    assert [line for line in lines if line.startswith("error:")] == [lines[0]]


@pytest.mark.slow
def test_cli_schedule_set_show_list_and_run_due(cancer):
    done = _cli(cancer, "schedule", "set", "cancer", "--cron", "0 6 * * 1", "--on-alert", "medium", "--json")
    assert done.returncode == 0, done.stderr
    created = json.loads(done.stdout)
    assert created["cron"] == "0 6 * * 1" and created["on_alert_severity"] == "medium" and created["enabled"]
    due_at = datetime.fromisoformat(created["next_due_at"].replace("Z", "+00:00"))
    assert due_at.weekday() == 0 and (due_at.hour, due_at.minute) == (6, 0)
    assert timedelta(0) < due_at - utcnow() <= timedelta(days=7)
    shown = _cli(cancer, "schedule", "show", "cancer")
    assert shown.returncode == 0 and "0 6 * * 1" in shown.stdout and "UTC" in shown.stdout
    done = _cli(cancer, "schedule", "set", "cancer", "--disable", "--json")
    assert json.loads(done.stdout)["enabled"] is False
    listed = json.loads(_cli(cancer, "schedule", "list", "--json").stdout)
    assert [(s["model_name"], s["enabled"], s["next_due_at"]) for s in listed] == [("cancer", False, None)]
    text = _cli(cancer, "schedule", "list")
    assert text.returncode == 0 and "disabled" in text.stdout
    due = _cli(cancer, "run-due", "--json")
    assert due.returncode == 0 and json.loads(due.stdout)["submitted"] == []
    assert "Nothing is due" in _cli(cancer, "run-due").stdout
    _one_line_error(_cli(cancer, "schedule", "set", "cancer", "--cron", "0 25 * * *"), "the hour field")
    _one_line_error(_cli(cancer, "schedule", "set", "cancer", "--on-alert", "urgent"), "not an alert severity")
    _one_line_error(_cli(cancer, "schedule", "set", "nope", "--cron", "@daily"), "No model named 'nope'")
    _one_line_error(_cli(cancer, "schedule", "show", "nope"), "No model named 'nope'")
    assert len(_events(cancer, "schedule.")) == 2  # created, disabled: failed calls changed nothing
