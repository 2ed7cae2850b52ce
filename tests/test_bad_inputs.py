"""Bad inputs: each is refused with a domain error naming the problem, and the workspace is left as it was."""

from __future__ import annotations

import os
import pickle
import random
import shlex
from pathlib import Path

import pytest

from app.core.errors import InvalidInputError, NotFoundError, StewardError, UntrustedArtifactError
from app.services.register import ModelCard, preview_columns, register_model
from app.services.stages import promote_version
from _store_helpers import audit_rows, snapshot


class _RunsShell:
    """Pickles as a call to os.system: loading the pickle runs the command."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


@pytest.fixture
def ws(workspace, classifier_files):
    """A workspace that already holds one version, so 'unchanged' is not trivially 'empty'."""
    register_model(workspace, "cancer", classifier_files.model, classifier_files.train, "target")
    promote_version(workspace, "cancer", 1, "staging", "baseline")
    return workspace


@pytest.fixture
def bad(tmp_path, classifier_files):
    """Factory for bad files in a folder of their own."""
    import pandas as pd

    folder = tmp_path / "bad"
    folder.mkdir()
    train = pd.read_csv(classifier_files.train)

    class Files:
        root = folder
        frame = train

        @staticmethod
        def write(name: str, data: bytes | str) -> Path:
            path = folder / name
            path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
            return path

        @staticmethod
        def csv(name: str, frame) -> Path:
            path = folder / name
            frame.to_csv(path, index=False)
            return path

    return Files


def _refused(ws, exc_type, match, call):
    """Run `call`, expect `exc_type` whose message matches `match`, and check nothing changed."""
    before = snapshot(ws)
    with pytest.raises(exc_type) as err:
        call()
    assert isinstance(err.value, StewardError)
    assert err.value.message and err.value.message.strip() == err.value.message
    assert match.lower() in str(err.value).lower(), str(err.value)
    assert "Traceback" not in str(err.value)
    assert snapshot(ws) == before
    return err.value


def _register(ws, files, *, model=None, train=None, target="target", **kw):
    return lambda: register_model(ws, "cancer", model or files.model, train or files.train, target, **kw)


# --- data files -------------------------------------------------------------------------------------


def test_missing_target_column(ws, classifier_files):
    err = _refused(ws, InvalidInputError, "no column 'diagnosis'",
                   _register(ws, classifier_files, target="diagnosis"))
    assert "mean_radius" in err.hint  # the hint lists the columns there are


def test_blank_target(ws, classifier_files):
    _refused(ws, InvalidInputError, "target column", _register(ws, classifier_files, target="  "))


def test_target_that_is_a_model_feature(ws, classifier_files):
    _refused(ws, InvalidInputError, "also one of the model's input features",
             _register(ws, classifier_files, target="mean_radius"))


def test_training_data_lacking_a_feature(ws, classifier_files, bad):
    path = bad.csv("lacking.csv", bad.frame.drop(columns=["mean_texture", "mean_area"]))
    _refused(ws, InvalidInputError, "lacks 2 feature(s) the model was trained on: mean_texture, mean_area",
             _register(ws, classifier_files, train=path))


def test_test_data_lacking_a_feature(ws, classifier_files, bad):
    path = bad.csv("test-lacking.csv", bad.frame.drop(columns=["mean_smoothness"]))
    _refused(ws, InvalidInputError, "test data lacks column(s): mean_smoothness",
             _register(ws, classifier_files, test_data=path))


def test_feature_with_values_the_model_cannot_use(ws, classifier_files, bad):
    frame = bad.frame.copy()
    frame["mean_radius"] = "large"
    _refused(ws, InvalidInputError, "could not predict",
             _register(ws, classifier_files, train=bad.csv("words.csv", frame)))


def test_empty_target_column(ws, classifier_files, bad):
    frame = bad.frame.copy()
    frame["target"] = float("nan")
    _refused(ws, InvalidInputError, "target column 'target' is empty",
             _register(ws, classifier_files, train=bad.csv("no-labels.csv", frame)))


@pytest.mark.parametrize("role", ["train", "test_data"])
def test_empty_csv(ws, classifier_files, bad, role):
    path = bad.write("empty.csv", b"")
    kw = {"train": path} if role == "train" else {"test_data": path}
    _refused(ws, InvalidInputError, "'empty.csv' is empty (0 bytes)", _register(ws, classifier_files, **kw))


def test_header_only_csv(ws, classifier_files, bad):
    path = bad.write("header.csv", ",".join([*classifier_files.features, "target"]) + "\n")
    _refused(ws, InvalidInputError, "'header.csv' has a header but no rows", _register(ws, classifier_files, train=path))


def test_blank_lines_only_csv(ws, classifier_files, bad):
    path = bad.write("blank.csv", "\n\n\n")
    _refused(ws, InvalidInputError, "'blank.csv' has no columns or rows", _register(ws, classifier_files, train=path))


def test_non_utf8_csv(ws, classifier_files, bad):
    frame = bad.frame.assign(city="Zürich")
    text = frame.to_csv(index=False)
    path = bad.write("latin1.csv", text.encode("latin-1"))
    _refused(ws, InvalidInputError, "'latin1.csv' is not UTF-8", _register(ws, classifier_files, train=path))


def test_non_utf8_header(ws, classifier_files, bad):
    text = bad.frame.rename(columns={"mean_radius": "rayon_moyen_é"}).to_csv(index=False)
    path = bad.write("latin1-header.csv", text.encode("latin-1"))
    _refused(ws, InvalidInputError, "not UTF-8", _register(ws, classifier_files, train=path))


@pytest.mark.parametrize("content, word", [
    ("a,b,target\n1,2,0\n3,4,5,6,7\n", "well-formed"),  # a row with too many fields
    ('a,b,target\n1,"2,0\n3,4,1\n', "well-formed"),  # a quote that never closes
])
def test_malformed_csv(ws, classifier_files, bad, content, word):
    path = bad.write("malformed.csv", content)
    err = _refused(ws, InvalidInputError, word, _register(ws, classifier_files, train=path))
    assert "malformed.csv" in err.message


def test_duplicate_column_names(ws, classifier_files, bad):
    text = bad.frame.to_csv(index=False)
    header, rest = text.split("\n", 1)
    header = header.replace("mean_perimeter", "mean_radius")
    path = bad.write("dupes.csv", header + "\n" + rest)
    _refused(ws, InvalidInputError, "duplicate column names: mean_radius", _register(ws, classifier_files, train=path))


def test_csv_named_parquet(ws, classifier_files, bad):
    path = bad.write("train.parquet", classifier_files.train.read_bytes())
    _refused(ws, InvalidInputError, "is not a Parquet file", _register(ws, classifier_files, train=path))


# --- model files ------------------------------------------------------------------------------------


def test_csv_renamed_to_joblib(ws, classifier_files, bad):
    path = bad.write("model.joblib", classifier_files.train.read_bytes())
    _refused(ws, InvalidInputError, "'model.joblib' is not a model file", _register(ws, classifier_files, model=path))


def test_random_bytes_as_model(ws, classifier_files, bad):
    path = bad.write("noise.pkl", random.Random(7).randbytes(4096))
    _refused(ws, InvalidInputError, "'noise.pkl' is not a model file", _register(ws, classifier_files, model=path))


def test_empty_model_file(ws, classifier_files, bad):
    path = bad.write("empty.joblib", b"")
    _refused(ws, InvalidInputError, "empty", _register(ws, classifier_files, model=path))


def test_truncated_model_file(ws, classifier_files, bad):
    data = classifier_files.model.read_bytes()
    path = bad.write("truncated.joblib", data[: len(data) // 2])
    _refused(ws, InvalidInputError, "'truncated.joblib'", _register(ws, classifier_files, model=path))


def test_pickle_of_a_dict(ws, classifier_files, bad):
    path = bad.write("dict.pkl", pickle.dumps({"coef": [1.0, 2.0], "intercept": 0.5}))
    _refused(ws, InvalidInputError, "holds a builtins.dict, not a scikit-learn estimator",
             _register(ws, classifier_files, model=path))


def test_unfitted_estimator(ws, classifier_files, bad):
    import joblib
    from sklearn.linear_model import LogisticRegression

    path = bad.root / "unfitted.joblib"
    joblib.dump(LogisticRegression(), path)
    _refused(ws, InvalidInputError, "has not been fitted", _register(ws, classifier_files, model=path))


def test_pickle_that_would_run_a_command_is_refused_unloaded(ws, classifier_files, bad):
    marker = bad.root / "MARKER"
    path = bad.write("evil.pkl", pickle.dumps(_RunsShell(f"touch {shlex.quote(str(marker))}")))
    err = _refused(ws, UntrustedArtifactError, "would import code outside the allowlist",
                   _register(ws, classifier_files, model=path))
    system = f"{os.system.__module__}.system"  # posix.system on Linux and macOS
    assert system in err.offending and system in err.message
    assert "--trust" in err.hint
    assert not marker.exists()


def _evil_estimator(classifier_files, folder: Path, marker: Path) -> Path:
    """The real fitted pipeline, with an extra attribute whose unpickling runs a harmless command."""
    import joblib

    est = joblib.load(classifier_files.model)
    est.extra_ = _RunsShell(f"touch {shlex.quote(str(marker))}")
    path = folder / "looks-fine.joblib"
    joblib.dump(est, path)
    return path


def test_estimator_carrying_a_command_is_refused_unloaded(ws, classifier_files, bad):
    marker = bad.root / "MARKER"
    path = _evil_estimator(classifier_files, bad.root, marker)
    err = _refused(ws, UntrustedArtifactError, "looks-fine.joblib", _register(ws, classifier_files, model=path))
    assert err.offending == [f"{os.system.__module__}.system"]
    assert not marker.exists()


def test_trusting_a_flagged_file_loads_it_and_records_the_decision(ws, classifier_files, bad):
    marker = bad.root / "MARKER"
    path = _evil_estimator(classifier_files, bad.root, marker)
    before = len(audit_rows(ws.paths.db))
    v = register_model(ws, "cancer", path, classifier_files.train, "target", trust=True)
    assert marker.exists()  # trusting means loading, and loading ran the (harmless) command
    system = f"{os.system.__module__}.system"
    assert v.provenance["trusted"] is True and v.provenance["disallowed"] == [system]
    rows = audit_rows(ws.paths.db)[before:]
    assert [r[3] for r in rows] == ["artifact.trusted", "version.registered"]
    import json

    trusted = json.loads(rows[0][6])
    assert trusted["disallowed_globals"] == [system] and trusted["source_file"] == "looks-fine.joblib"
    assert rows[0][4] == f"artifact:{v.artifact_sha256}" and rows[0][2] == "alice"


def test_trusting_a_command_pickle_that_is_no_model_still_writes_nothing(ws, classifier_files, bad):
    marker = bad.root / "MARKER"
    path = bad.write("evil.pkl", pickle.dumps(_RunsShell(f"touch {shlex.quote(str(marker))}")))
    _refused(ws, InvalidInputError, "not a scikit-learn estimator",
             _register(ws, classifier_files, model=path, trust=True))
    assert marker.exists()


def test_trust_is_not_recorded_for_a_clean_file(ws, classifier_files):
    v = register_model(ws, "cancer", classifier_files.model, classifier_files.train, "target", trust=True)
    assert v.provenance["trusted"] is False
    assert "artifact.trusted" not in [r[3] for r in audit_rows(ws.paths.db)]


# --- paths, names, cards, stages ------------------------------------------------------------------


@pytest.mark.parametrize("which", ["model", "train", "test_data"])
def test_nonexistent_paths(ws, classifier_files, tmp_path, which):
    missing = tmp_path / "nowhere" / "file.csv"
    err = _refused(ws, InvalidInputError, "", _register(ws, classifier_files, **{which: missing}))
    assert "does not exist" in err.message or "not found" in err.message
    assert "file.csv" in err.message


@pytest.mark.parametrize("which", ["model", "train", "test_data"])
def test_folder_as_path(ws, classifier_files, tmp_path, which):
    _refused(ws, InvalidInputError, "folder", _register(ws, classifier_files, **{which: tmp_path}))


@pytest.mark.parametrize("name", ["", "   ", "tab\there", "line\nbreak", "bell\x07", "x" * 201])
def test_unusable_model_names(ws, classifier_files, name):
    _refused(ws, InvalidInputError, "not a usable model name",
             lambda: register_model(ws, name, classifier_files.model, classifier_files.train, "target"))


def test_unknown_risk_tier(ws, classifier_files):
    _refused(ws, InvalidInputError, "risk tier",
             _register(ws, classifier_files, card=ModelCard(risk_tier="catastrophic")))


def test_promote_unknown_model(ws):
    _refused(ws, NotFoundError, "no model named 'ghost'", lambda: promote_version(ws, "ghost", 1, "production", "x"))


def test_promote_unknown_version(ws):
    _refused(ws, NotFoundError, "no version 7", lambda: promote_version(ws, "cancer", 7, "production", "x"))


# --- previewing columns -----------------------------------------------------------------------------


def test_preview_columns_reads_the_header(classifier_files):
    assert preview_columns(classifier_files.train) == [*classifier_files.features, "target"]


@pytest.mark.parametrize("content, word", [
    ("café,x\n1,2\n".encode("latin-1"), "not UTF-8"),
    (b"", "could not be read"),
])
def test_preview_columns_refuses_bad_files(bad, content, word):
    path = bad.write("peek.csv", content)
    with pytest.raises(InvalidInputError, match=word):
        preview_columns(path)


def test_preview_columns_refuses_missing_file_and_folder(tmp_path):
    with pytest.raises(InvalidInputError, match="does not exist"):
        preview_columns(tmp_path / "nope.csv")
    with pytest.raises(InvalidInputError, match="folder"):
        preview_columns(tmp_path)
