"""Register a fitted model with its training data as a new, fully described version."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.entities import RiskTier, Version
from app.core.errors import InvalidInputError, StewardError, UntrustedArtifactError
from app.core.files import open_input
from app.core.identity import current_actor
from app.core.timeutil import utcnow
from app.services.audit import append_event
from app.services.convert import version_entity
from app.services.versions import PreparedVersion, dataset_record, record_version
from app.store.orm import SqlModel, SqlVersion
from app.store.workspace import Workspace

__all__ = ["ModelCard", "register_model", "validate_model_name", "preview_columns", "update_model_card", "Progress"]

Progress = Callable[[float, str], None]
MIN_ROWS = 10  # as many as a retrain needs (app.ml.training.split_frame)
_NAME = re.compile(r"^[^\x00-\x1f\x7f]{1,200}$")


def _no_progress(_fraction: float, _message: str) -> None:
    pass


@dataclass(frozen=True, slots=True)
class ModelCard:
    """Descriptive fields of a model; empty strings mean "leave as it is" for an existing model."""

    description: str = ""
    owner: str = ""
    intended_use: str = ""
    out_of_scope_use: str = ""
    risk_tier: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)
    limitations: str = ""
    ethical_considerations: str = ""
    validator: str = ""


def validate_model_name(name: str) -> str:
    name = (name or "").strip()
    if not _NAME.match(name):
        raise InvalidInputError(
            f"'{name}' is not a usable model name.",
            hint="Use 1–200 characters without control characters (tabs, line breaks).",
        )
    return name


def register_model(
    ws: Workspace,
    name: str,
    model_file: str | Path,
    train_data: str | Path,
    target: str,
    *,
    test_data: str | Path | None = None,
    card: ModelCard | None = None,
    note: str = "",
    trust: bool = False,
    progress: Progress | None = None,
    actor: str | None = None,
) -> Version:
    """Scan, load and check the model against its data, evaluate it, then record it in one transaction."""
    from app.ml.data import dtype_kind, first_line, read_table
    from app.ml.estimator import describe_estimator, expected_features, library_versions, load_estimator
    from app.ml.metrics import HOLDOUT_FRACTION, SEED, evaluate, holdout_split
    from app.ml.pickle_scan import scan_bytes

    progress = progress or _no_progress
    name = validate_model_name(name)
    card = card or ModelCard()
    if card.risk_tier and card.risk_tier not in {t.value for t in RiskTier}:
        raise InvalidInputError(f"Risk tier must be low, medium or high, not '{card.risk_tier}'.")
    actor = actor or current_actor()
    model_file, train_data = Path(model_file), Path(train_data)
    target = (target or "").strip()
    if not target:
        raise InvalidInputError("Choose the target column (the value the model predicts).")

    progress(0.05, "Scanning model file")
    model_bytes = _read_file(model_file, "model file")
    try:
        scan = scan_bytes(model_bytes, f"'{model_file.name}'")
    except InvalidInputError as exc:
        raise InvalidInputError(
            exc.message,
            hint="Expected a fitted scikit-learn estimator saved with joblib.dump or pickle.dump.",
        ) from None
    if not scan.safe and not trust:
        raise UntrustedArtifactError(
            f"'{model_file.name}' would import code outside the allowlist: {', '.join(scan.disallowed)}. "
            "It was not loaded.",
            list(scan.disallowed),
            hint="Only if you know where this file comes from, register it again with --trust "
            "(the decision is recorded in the audit log).",
        )
    progress(0.15, "Loading model")
    estimator = load_estimator(model_bytes, source=model_file.name)
    described = describe_estimator(estimator)

    progress(0.3, "Reading training data")
    train = read_table(train_data, what="training data")
    _require_rows(train, "training data", train_data)
    if target not in train.columns:
        raise InvalidInputError(
            f"The training data has no column '{target}'.",
            hint=f"Its columns are: {', '.join(map(str, train.columns[:30]))}.",
        )
    features = expected_features(estimator, list(train.columns), target)
    if train[target].isna().all():
        raise InvalidInputError(f"The target column '{target}' is empty in the training data.")

    progress(0.45, "Evaluating on held-out data")
    if test_data is not None:
        test = read_table(Path(test_data), what="test data")
        _require_rows(test, "test data", Path(test_data))
        lacking = [c for c in [*features, target] if c not in test.columns]
        if lacking:
            raise InvalidInputError(f"The test data lacks column(s): {', '.join(lacking)}.")
        held_out = test
        evaluation = {"method": "test file", "rows": int(len(test))}
    else:
        _, held_out = holdout_split(train, target, described["task"])
        evaluation = {"method": "hold-out split of the training data", "fraction": HOLDOUT_FRACTION,
                      "seed": SEED, "rows": int(len(held_out)),
                      "caution": "optimistic if the model was fitted on all of the training data"}
    held_out = held_out[held_out[target].notna()]
    if held_out.empty:
        raise InvalidInputError(f"The target column '{target}' is empty in the "
                                f"{'test data' if test_data is not None else 'held-out rows'}.")
    try:
        metrics, errors = evaluate(estimator, held_out[features], held_out[target], described["task"],
                                   with_errors=True)
    except Exception as exc:
        raise InvalidInputError(
            f"The model could not predict on the data: {type(exc).__name__}: {first_line(exc)}",
            hint="Check that the columns hold the same kinds of values the model was trained on.",
        ) from None

    evaluation["standard_errors"] = errors
    progress(0.6, "Building the drift reference profile")
    from app.services.profiles import build_version_profile

    feature_records = [{"name": f, "dtype": str(train[f].dtype), "kind": dtype_kind(train[f].dtype)} for f in features]
    try:
        profile_blob, profile_rows = build_version_profile(estimator, train, feature_records, described["task"])
    except StewardError:
        raise
    except Exception as exc:
        raise InvalidInputError(f"The model could not predict on its training data: {type(exc).__name__}: "
                                f"{first_line(exc)}") from None

    progress(0.7, "Storing artifacts")
    model_sha, model_size = ws.artifacts.put_bytes(model_bytes)
    profile_sha, profile_size = ws.artifacts.put_bytes(profile_blob)
    datasets = [dataset_record(ws, train_data, train, "training data")]
    if test_data is not None:
        datasets.append(dataset_record(ws, Path(test_data), test, "test data"))
    if test_data is not None:
        evaluation["dataset_sha256"] = datasets[1]["sha256"]
    prepared = PreparedVersion(
        model_bytes_sha=model_sha, model_size=model_size, description=described,
        features=feature_records, profile_sha=profile_sha, profile_size=profile_size, profile_rows=profile_rows,
        metrics=metrics, evaluation=evaluation, environment=library_versions(),
        provenance={"source_file": model_file.name, "scan_format": scan.format,
                    "globals": list(scan.globals), "disallowed": list(scan.disallowed),
                    "trusted": bool(trust and not scan.safe)},
        datasets=datasets,
    )
    progress(0.85, "Recording version")
    version_id = ws.db.write(lambda s: _record(s, name, card, target, note, actor, prepared))
    progress(1.0, "Registered")
    with ws.db.read() as session:
        return version_entity(session.get(SqlVersion, version_id))


def _require_rows(frame, what: str, path: Path) -> None:
    """Metrics and the drift reference need a minimum of rows; one or two rows only look like evidence."""
    if len(frame) < MIN_ROWS:
        raise InvalidInputError(
            f"The {what} '{path.name}' has only {len(frame)} row(s); at least {MIN_ROWS} are needed to "
            "evaluate the model and describe its data.", hint="Choose the full data file.")


def _read_file(path: Path, what: str) -> bytes:
    with open_input(path, what) as fh:
        data = fh.read()
    if not data:
        raise InvalidInputError(f"The {what} '{path.name}' is empty (0 bytes).")
    return data


def _record(session: Session, name: str, card: ModelCard, target: str, note: str, actor: str,
            p: PreparedVersion) -> int:
    now = utcnow()
    model = session.scalars(select(SqlModel).where(SqlModel.name == name)).first()
    if model is None:
        model = SqlModel(
            name=name, description=card.description, owner=card.owner or actor,
            intended_use=card.intended_use, out_of_scope_use=card.out_of_scope_use,
            risk_tier=card.risk_tier or RiskTier.MEDIUM.value, tags=list(card.tags),
            limitations=card.limitations, ethical_considerations=card.ethical_considerations,
            validator=card.validator,
            created_at=now, created_by=actor, updated_at=now, updated_by=actor,
        )
        session.add(model)
        session.flush()
        append_event(session, "model.created", f"model:{name}", model=name, actor=actor, details={
            "description": model.description, "owner": model.owner, "intended_use": model.intended_use,
            "out_of_scope_use": model.out_of_scope_use, "risk_tier": model.risk_tier, "tags": model.tags})
    return record_version(session, model, p, target=target, note=note, actor=actor).id


def preview_columns(path: str | Path) -> list[str]:
    """Column names of a data file, read from its first rows only (for target choosers)."""
    from app.ml.data import read_columns

    return read_columns(Path(path))


def update_model_card(ws: Workspace, name: str, card: ModelCard, *, actor: str | None = None) -> None:
    """Change a model's descriptive fields; the old and new values go into the audit event."""
    from app.core.errors import NotFoundError

    actor = actor or current_actor()
    if card.risk_tier and card.risk_tier not in {t.value for t in RiskTier}:
        raise InvalidInputError(f"Risk tier must be low, medium or high, not '{card.risk_tier}'.")

    def work(session: Session) -> None:
        model = session.scalars(select(SqlModel).where(SqlModel.name == name)).first()
        if model is None:
            raise NotFoundError(f"No model named '{name}'.")
        changes = {}
        for key in ("description", "owner", "intended_use", "out_of_scope_use", "risk_tier", "limitations",
                    "ethical_considerations", "validator"):
            new = getattr(card, key)
            if new and new != getattr(model, key):
                changes[key] = {"from": getattr(model, key), "to": new}
                setattr(model, key, new)
        if card.tags and list(card.tags) != list(model.tags or []):
            changes["tags"] = {"from": model.tags, "to": list(card.tags)}
            model.tags = list(card.tags)
        if not changes:
            return
        model.updated_at, model.updated_by = utcnow(), actor
        append_event(session, "model.updated", f"model:{name}", model=name, actor=actor, details=changes)

    ws.db.write(work)
