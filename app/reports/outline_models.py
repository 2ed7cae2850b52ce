"""Blocks of the per-model sections 3–8: history, data provenance, validation, monitoring, decisions, findings.

Each section has one numbered subsection per model. Tables stop at ROW_CAP rows per model (the JSON has
the rest). With a large inventory, models with nothing to show in sections 7 and 8 are named in one
sentence instead of one empty subsection each, so a 1,000-model report stays readable.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from app.reports.blocks import Block, Chart, Heading, KeyValues, Para, Table
from app.reports.charts import ChartSpec
from app.reports.text import (Badge, Hash, Lines, Strong, cap_rows, dash, fmt_bytes, fmt_int, fmt_num, fmt_time,
                              plural, severity_badge, status_badge)

__all__ = ["model_sections", "METRIC_LABELS", "COMPACT_ABOVE"]

COMPACT_ABOVE = 25  # models; above this, empty per-model subsections of sections 7–8 collapse into a sentence
METRIC_LABELS = {"accuracy": "Accuracy", "f1": "F1", "roc_auc": "ROC AUC", "mae": "MAE", "rmse": "RMSE", "r2": "R²"}
_PLAN_LABELS = {
    "psi": "PSI ≥ {}", "js_distance": "Jensen–Shannon distance ≥ {}",
    "wasserstein_norm": "normalised Wasserstein ≥ {}",
    "alpha": "test significance α = {}", "drift_share": "dataset drift when ≥ {} of features drift",
    "medium_ratio": "medium severity at {}× a threshold", "high_ratio": "high severity at {}× a threshold",
    "min_rows": "tests need ≥ {} rows", "missing_increase": "missing-rate increase > {}",
    "out_of_range": "out-of-range share > {}", "unseen": "unseen-category share > {}",
    "unparsable": "unparsable share > {}", "max_drop": "metric drop > {}", "max_error_increase": "error increase > {}",
}

_AT_MOST_ONE = frozenset({"accuracy", "f1", "roc_auc", "r2", "precision", "recall", "balanced_accuracy"})

SectionHeading = Callable[[int], Heading]


def model_sections(evidence: dict[str, Any], section_heading: SectionHeading) -> list[Block]:
    models = evidence.get("models") or []
    compact = len(models) > COMPACT_ABOVE
    out: list[Block] = []
    parts = ((3, _history, False), (4, _provenance, False), (5, _validation, False), (6, _monitoring, False),
             (7, _decisions, compact), (8, _findings, compact))
    for number, build, skip_empty in parts:
        out.append(section_heading(number))
        if not models:
            out.append(Para("No models in scope.", "empty"))
            continue
        skipped = []
        for i, m in enumerate(models, 1):
            if skip_empty and not _has_content(number, m):
                skipped.append(m.get("name") or "?")
                continue
            out.append(Heading(2, f"{number}.{i}", dash(m.get("name")), f"s{number}-{i}"))
            build(out, m)
        if skipped:
            what = "batches in the period" if number == 7 else "findings"
            names = ", ".join(skipped[:30]) + (f", and {len(skipped) - 30:,} more" if len(skipped) > 30 else "")
            out.append(Para(f"No {what} for {plural(len(skipped), 'model')}: {names}.", "empty"))
    return out


def _has_content(number: int, m: dict[str, Any]) -> bool:
    return bool(m.get("decisions")) if number == 7 else bool(m.get("findings"))


def _v(number: Any) -> str:
    return f"v{number}" if number is not None else "—"


def _at_by(at: str | None, by: str | None) -> Lines:
    return Lines((fmt_time(at), dash(by)))


# -- 3 Version and change history --------------------------------------------------------------------
def _history(out: list[Block], m: dict[str, Any]) -> None:
    out.append(Heading(3, "", "Versions"))
    versions = m.get("versions") or []
    if versions:
        shown, more = cap_rows(versions)
        out.append(Table(("Version", "Stage", "Created", "Parent", "Artifact SHA-256", "Estimator", "Change summary"),
                         [(_v(v.get("number")), status_badge(v.get("stage")), _at_by(v.get("created_at"),
                           v.get("created_by")), _v(v.get("parent")),
                           Lines((Hash(v.get("artifact_sha256") or ""), fmt_bytes(v.get("artifact_size")))),
                           _estimator(v), dash(v.get("change_summary"))) for v in shown],
                         more, "versions", widths=(8, 11, 14, 7, 16, 22, 22)))
    else:
        out.append(Para("No versions registered by the end of the period.", "empty"))
    out.append(Heading(3, "", "Stage changes"))
    changes = m.get("stage_changes") or []
    if changes:
        shown, more = cap_rows(changes)
        out.append(Table(("When", "Version", "Move", "Kind", "Actor", "Reason", "Gate"),
                         [(fmt_time(c.get("at")), _v(c.get("version")), f"{dash(c.get('from'))} → {dash(c.get('to'))}",
                           status_badge(c.get("kind")), dash(c.get("actor")), dash(c.get("reason")), _gate_cell(c))
                          for c in shown], more, "stage changes", widths=(12, 7, 17, 14, 11, 23, 16)))
    else:
        out.append(Para("No stage changes in the period.", "empty"))
    out.append(Heading(3, "", "Approval requests"))
    approvals = m.get("approvals") or []
    if approvals:
        shown, more = cap_rows(approvals)
        out.append(Table(("#", "Version", "Status", "Requested", "Decided", "Reason", "Rationale / override"),
                         [(str(a.get("id")), _v(a.get("version")), status_badge(a.get("status")),
                           _at_by(a.get("requested_at"), a.get("requested_by")),
                           _at_by(a.get("decided_at"), a.get("decided_by")) if a.get("decided_at") else "—",
                           dash(a.get("reason")), _rationale(a)) for a in shown],
                         more, "approval requests", widths=(5, 8, 11, 15, 15, 22, 24)))
    else:
        out.append(Para("No approval requests in the period.", "empty"))


def _estimator(v: dict[str, Any]) -> Lines:
    env = v.get("environment") or {}
    name = (v.get("estimator") or "—").rsplit(".", 1)[-1]
    lib = f"scikit-learn {env['scikit-learn']}" if env.get("scikit-learn") else ""
    py = f"Python {env['python']}" if env.get("python") else ""
    return Lines(tuple(x for x in (name, lib, py) if x))


def _gate_cell(c: dict[str, Any]) -> Any:
    gate = c.get("gate")
    items: list[Any] = [status_badge(gate) if gate else "—"]
    if c.get("override"):
        items.append(f"Override: {c['override']}")
    if c.get("approval"):
        items.append(f"Approval #{c['approval']}")
    if c.get("policy"):
        items.append(f"Policy: {c['policy']}")
    return Lines(tuple(items)) if len(items) > 1 else items[0]


def _rationale(a: dict[str, Any]) -> Any:
    items = [dash(a.get("rationale"))]
    if a.get("override"):
        items.append(f"Override: {a['override']}" if isinstance(a["override"], str) else "gate override requested")
    return Lines(tuple(items)) if len(items) > 1 else items[0]


# -- 4 Training-data provenance ----------------------------------------------------------------------
def _provenance(out: list[Block], m: dict[str, Any]) -> None:
    datasets = m.get("datasets") or []
    if not datasets:
        out.append(Para("No datasets: the model has no versions.", "empty"))
        return
    shown, more = cap_rows(datasets)
    rows = []
    for d in shown:
        used = []
        if d.get("train_for_versions"):
            used.append("training: " + ", ".join(_v(n) for n in d["train_for_versions"]))
        if d.get("test_for_versions"):
            used.append("testing: " + ", ".join(_v(n) for n in d["test_for_versions"]))
        sheet = tuple(f"{label}: {dash(d.get(key))}" if (d.get(key) or "").strip()
                      else Badge(f"no {label.lower()}", "bad")
                      for label, key in (("Description", "description"), ("Source", "source")))
        sheet += (f"Limitations: {dash(d.get('limitations'))}",)
        rows.append((Lines((Strong(dash(d.get("name"))), Hash(d.get("sha256") or ""))),
                     Lines((f"{fmt_int(d.get('rows'))} rows", f"{fmt_int(d.get('columns'))} columns",
                            fmt_bytes(d.get("size_bytes")))),
                     Lines(tuple(used) or ("—",)), _at_by(d.get("registered_at"), d.get("registered_by")),
                     Lines(sheet)))
    out.append(Table(("Dataset", "Size", "Used for", "Registered", "Datasheet"), rows, more, "datasets",
                     widths=(27, 13, 15, 14, 31)))


# -- 5 Validation ------------------------------------------------------------------------------------
def _validation(out: list[Block], m: dict[str, Any]) -> None:
    validation = m.get("validation") or []
    out.append(Heading(3, "", "Metrics per version"))
    if not validation:
        out.append(Para("No validation results: the model has no versions.", "empty"))
    else:
        metrics = list(dict.fromkeys(k for v in validation for k in (v.get("metrics") or {})))[:6]
        shown, more = cap_rows(validation)
        rows = []
        for v in shown:
            values, errors = v.get("metrics") or {}, v.get("standard_errors") or {}
            cells = [fmt_num(values.get(k)) + (f" ± {fmt_num(errors[k])}" if isinstance(errors.get(k), float) else "")
                     for k in metrics]
            rows.append((_v(v.get("version")), dash(v.get("method")), fmt_int(v.get("rows")), *cells,
                         Hash(v.get("test_dataset_sha256") or "")))
        out.append(Table(("Version", "Method", "Rows", *(METRIC_LABELS.get(k, k) for k in metrics), "Test data"),
                         rows, more, "versions", numeric=tuple(range(2, 3 + len(metrics)))))
        if metrics:
            out.append(Para("± one standard error of the estimate on the held-out rows.", "muted"))
            out.append(_metric_chart(validation, metrics[0]))
    out.append(Heading(3, "", "Promotion gates"))
    gated = [v for v in validation if v.get("gate")]
    if not gated:
        out.append(Para("No promotion gate was evaluated for these versions.", "empty"))
    for v in gated[-20:]:
        gate = v["gate"]
        verdict = "passed" if gate.get("passed") else "failed"
        summary = (gate.get("summary") or "").strip()
        # The summary usually starts with the verdict ("failed: accuracy 0.91 vs …"); say it once.
        text = summary if summary.startswith(("passed", "failed")) else f"{verdict}. {summary}".rstrip(". ")
        out.append(Para(f"Version {v.get('version')} gate {text}"))
        if gate.get("caution"):
            out.append(Para(f"Caution: {gate['caution']}", "warn"))
        criteria = gate.get("criteria") or []
        if criteria:
            out.append(Table(("Criterion", "Metric", "Threshold / tolerance", "Challenger", "Champion", "Change",
                              "Result"),
                             [(_criterion(c), METRIC_LABELS.get(c.get("metric"), dash(c.get("metric"))),
                               fmt_num(c.get("threshold", c.get("tolerance"))), fmt_num(c.get("challenger")),
                               fmt_num(c.get("champion")), fmt_num(c.get("change")),
                               Badge("skipped", "neutral") if c.get("skipped") else
                               Badge("pass", "good") if c.get("passed") else Badge("fail", "bad"))
                              for c in criteria], numeric=(2, 3, 4, 5)))
    if len(gated) > 20:
        out.append(Para(f"Gates of {len(gated) - 20:,} earlier versions are in the JSON evidence.", "muted"))
    out.append(Heading(3, "", "Independent reviews"))
    reviews = m.get("reviews") or []
    if not reviews:
        out.append(Para("No reviews recorded.", "empty"))
    else:
        shown, more = cap_rows(reviews)
        out.append(Table(("Date", "Role", "Reviewer", "Outcome", "Version", "Note"),
                         [(fmt_time(r.get("at")), dash(r.get("role")), dash(r.get("reviewer")),
                           status_badge(r.get("outcome")), _v(r.get("version")), dash(r.get("note")))
                          for r in shown], more, "reviews", widths=(15, 11, 14, 12, 8, 40)))


def _criterion(c: dict[str, Any]) -> str:
    kind = c.get("criterion")
    return {"min": "minimum", "max_regression": "no regression vs champion"}.get(kind, dash(kind))


def _metric_chart(validation: list[dict[str, Any]], metric: str) -> Chart:
    points = [v for v in validation if isinstance((v.get("metrics") or {}).get(metric), (int, float))]
    label = METRIC_LABELS.get(metric, metric)
    errors = tuple(1.96 * se if isinstance(se := (v.get("standard_errors") or {}).get(metric), (int, float)) else None
                   for v in points)
    spec = ChartSpec(title=f"{label} per version (validation)", y_label=label,
                     xs=tuple(float(i) for i in range(len(points))),
                     ys=tuple(float(v["metrics"][metric]) for v in points),
                     x_labels=tuple(_v(v.get("version")) for v in points), series_label=label,
                     errors=errors, errors_label="95% interval",
                     y_ceiling=1.0 if metric in _AT_MOST_ONE else None)
    return Chart(spec, f"{label} of each version on its validation rows.")


# -- 6 Monitoring and drift --------------------------------------------------------------------------
def _monitoring(out: list[Block], m: dict[str, Any]) -> None:
    mon = m.get("monitoring") or {}
    plan = mon.get("plan") or {}
    out += [Heading(3, "", "Monitoring plan"),
            KeyValues((("Frequency", dash(mon.get("frequency"))),
                       *((group.capitalize(), _plan_text(plan[group])) for group in ("drift", "quality", "performance")
                         if plan.get(group))))]
    batches = mon.get("batches") or []
    out.append(Heading(3, "", "Drift over time"))
    if not batches:
        out.append(Para("No batches in the period.", "empty"))
    else:
        threshold = (plan.get("drift") or {}).get("drift_share")
        out.append(_drift_chart(batches, threshold))
        shown, more = cap_rows(batches)
        out.append(Table(("Batch", "Time", "Ver.", "Label", "Rows", "Drift share", "Dataset drift",
                          "Drifted features", "Performance"),
                         [(f"#{b.get('id')}", fmt_time(b.get("at")), _v(b.get("version")), dash(b.get("label")),
                           fmt_int(b.get("rows")), fmt_num(b.get("drift_share")),
                           Badge("drift", "bad") if b.get("dataset_drift") else Badge("no", "good"),
                           _drifted(b.get("drifted_features") or []), _performance(b.get("performance")))
                          for b in shown], more, "batches", numeric=(4, 5),
                         widths=(6, 11, 5, 8, 6, 7, 8, 22, 27)))
    out.append(Heading(3, "", "Breaches and decisions"))
    breaches = mon.get("breaches") or []
    if not breaches:
        out.append(Para("No breaches in the period.", "empty"))
        return
    shown, more = cap_rows(breaches)
    out.append(Table(("#", "Breach", "Opened / due", "Status", "Decision", "Rationale", "Decided"),
                     [(str(b.get("id")), Lines((severity_badge(b.get("severity")), f"{dash(b.get('kind'))}: "
                                                f"{dash(b.get('title'))}")),
                       Lines((fmt_time(b.get("opened_at")), f"due {fmt_date_short(b.get('due_at'))}",
                              *((_late(b),) if b.get("overdue") else ()))),
                       status_badge(b.get("status")), _decision(b), dash(b.get("rationale")),
                       _at_by(b.get("resolved_at"), b.get("decided_by")) if b.get("resolved_at") else "—")
                      for b in shown], more, "breaches", widths=(5, 24, 14, 11, 13, 20, 13)))


def _late(b: dict[str, Any]) -> Badge:
    # The evidence's "overdue" covers both an alert still open past its due date and one resolved late.
    return Badge("resolved late", "warn") if b.get("resolved_at") else Badge("overdue", "bad")


def fmt_date_short(iso: str | None) -> str:
    return iso[:10] if iso else "—"


def _plan_text(values: dict[str, Any]) -> str:
    return "; ".join(_PLAN_LABELS.get(k, k + " = {}").format(fmt_plain(v)) for k, v in values.items())


def fmt_plain(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _decision(b: dict[str, Any]) -> Any:
    decision = b.get("decision")
    if not decision:
        return "—"
    items: list[Any] = [decision.replace("_", " ")]
    if b.get("expires_at"):
        items.append(f"until {fmt_date_short(b['expires_at'])}")
    if b.get("linked_version"):
        items.append(f"→ {_v(b['linked_version'])}")
    return Lines(tuple(items)) if len(items) > 1 else items[0]


def _drifted(features: list[dict[str, Any]]) -> str:
    if not features:
        return "—"
    text = ", ".join(f"{f.get('feature')} ({f.get('severity') or '?'})" for f in features[:5])
    return text + (f", and {len(features) - 5} more" if len(features) > 5 else "")


def _performance(perf: dict[str, Any] | None) -> str:
    if not perf:
        return "—"
    parts = [f"{METRIC_LABELS.get(k, k)} {fmt_num(v)}" for k, v in perf.items() if k != "labelled_rows"][:4]
    if perf.get("labelled_rows") is not None:
        parts.append(f"{fmt_int(perf['labelled_rows'])} labelled")
    return ", ".join(parts)


def _epoch(iso: str | None) -> float:
    try:
        return datetime.fromisoformat(iso).timestamp() if iso else math.nan
    except ValueError:
        return math.nan


def _drift_chart(batches: list[dict[str, Any]], threshold: Any) -> Chart:
    rows = [(_epoch(b.get("at")), b) for b in batches]
    rows = [(x, b) for x, b in rows if math.isfinite(x)]
    spec = ChartSpec(
        title="Share of drifted features per batch", y_label="drift share",
        xs=tuple(x for x, _b in rows),
        ys=tuple(float(b["drift_share"]) if isinstance(b.get("drift_share"), (int, float)) else math.nan
                 for _x, b in rows),
        series_label="drift share", marked=tuple(bool(b.get("dataset_drift")) for _x, b in rows),
        marked_label="dataset drift", threshold=float(threshold) if isinstance(threshold, (int, float)) else None,
        threshold_label=f"threshold {fmt_plain(threshold)}" if threshold is not None else "", y_range=(0.0, 1.0))
    return Chart(spec, "Each point is a scored or recorded batch; red points are batches with dataset drift; "
                       "the dashed line is the plan's dataset-drift threshold.")


# -- 7 Decisions made with the model -----------------------------------------------------------------
def _decisions(out: list[Block], m: dict[str, Any]) -> None:
    decisions = m.get("decisions") or []
    if not decisions:
        out.append(Para("No batches in the period.", "empty"))
        return
    shown, more = cap_rows(decisions)
    out.append(Table(("Batch", "Time", "Ver.", "Input", "Rows", "Input SHA-256", "Output SHA-256",
                      "Labels SHA-256", "By"),
                     [(Lines((f"#{d.get('batch')}", dash(d.get("kind")))), fmt_time(d.get("at")), _v(d.get("version")),
                       Lines((dash(d.get("input_name")), dash(d.get("label")))), fmt_int(d.get("rows")),
                       Hash(d.get("input_sha256") or ""), Hash(d.get("output_sha256") or ""),
                       Hash(d.get("labels_sha256") or ""), dash(d.get("actor"))) for d in shown],
                     more, "batches", numeric=(4,), widths=(7, 10, 5, 16, 6, 15, 15, 15, 11)))


# -- 8 Findings and incidents ------------------------------------------------------------------------
def _findings(out: list[Block], m: dict[str, Any]) -> None:
    findings = m.get("findings") or []
    if not findings:
        out.append(Para("No findings recorded.", "empty"))
        return
    shown, more = cap_rows(findings)
    out.append(Table(("#", "Finding", "Severity", "Status", "Opened", "Due", "Closed", "Root cause / action"),
                     [(str(f.get("id")), Lines((Strong(dash(f.get("title"))), dash(f.get("description")),
                                                *(("versions " + ", ".join(_v(n) for n in f["versions"]),)
                                                  if f.get("versions") else ()))),
                       severity_badge(f.get("severity")), status_badge(f.get("status")),
                       _at_by(f.get("opened_at"), f.get("opened_by")), fmt_date_short(f.get("due_at")),
                       _at_by(f.get("closed_at"), f.get("closed_by")) if f.get("closed_at") else "—",
                       Lines((f"Root cause: {dash(f.get('root_cause'))}",
                              f"Action: {dash(f.get('corrective_action'))}")))
                      for f in shown], more, "findings", widths=(5, 25, 9, 9, 13, 11, 13, 15)))
