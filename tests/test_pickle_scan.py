"""Pickle/joblib scanner: real estimators pass, crafted payloads are listed and never run, junk is refused."""

from __future__ import annotations

import importlib
import os
import pickle
import shutil
import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from app.core.errors import InvalidInputError
from app.ml.pickle_scan import is_allowed, scan_bytes, scan_file

SYSTEM = f"{os.system.__module__}.system"  # posix.system on Linux/macOS, nt.system on Windows


def some_func(x):
    """A user-module function: pickled by reference to this test module."""
    return x


# --- payloads: each __reduce__ makes unpickling run a command that creates `marker` ---


class SystemPayload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class EvalPayload(SystemPayload):
    def __reduce__(self):
        return (eval, (f"__import__('os').system('touch {self.marker}')",))


class _ImportOs:
    def __reduce__(self):
        return (importlib.import_module, ("os",))


class _OsSystem:
    """Pickles as getattr(import_module('os'), 'system'); callable only so pickle accepts it as a reducer."""

    def __call__(self, *args):
        raise AssertionError("never called at dump time")

    def __reduce__(self):
        return (getattr, (_ImportOs(), "system"))


class GetattrPayload(SystemPayload):
    def __reduce__(self):
        return (_OsSystem(), (f"touch {self.marker}",))


class PopenPayload(SystemPayload):
    def __reduce__(self):
        return (subprocess.Popen, (["touch", self.marker],))


PAYLOADS = {
    "os.system": (SystemPayload, {SYSTEM}),
    "eval": (EvalPayload, {"builtins.eval"}),
    "getattr": (GetattrPayload, {"builtins.getattr", "importlib.import_module"}),
    "popen": (PopenPayload, {"subprocess.Popen"}),
}


def _dump(obj, path, how):
    """Write obj with one of the supported writers; return the format the scanner should report."""
    if how.startswith("pickle"):
        with open(path, "wb") as f:
            pickle.dump(obj, f, protocol=int(how[-1]))
        return "pickle"
    compress = {"joblib": 0, "zlib": 3, "gzip": ("gzip", 3), "bz2": ("bz2", 3), "xz": ("xz", 3), "lzma": ("lzma", 3)}
    joblib.dump(obj, path, compress=compress[how])
    return "joblib" if how == "joblib" else f"joblib+{how}"


# --- real estimators ---


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "colour": rng.choice(["red", "green", "blue"], 80)})
    column = ColumnTransformer([
        ("cat", Pipeline([("onehot", OneHotEncoder(handle_unknown="ignore"))]), ["colour"]),
        ("num", StandardScaler(), ["a", "b"]),
    ])
    return {
        "logistic": (LogisticRegression().fit(X, y), X, "sklearn.linear_model._logistic.LogisticRegression"),
        "forest": (
            Pipeline([("scale", StandardScaler()), ("rf", RandomForestClassifier(n_estimators=4, random_state=0))]).fit(X, y),
            X,
            "sklearn.ensemble._forest.RandomForestClassifier",
        ),
        "hgb": (
            HistGradientBoostingRegressor(max_iter=10).fit(X, X[:, 2]),
            X,
            "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingRegressor",
        ),
        "columns": (
            Pipeline([("prep", column), ("lr", LogisticRegression())]).fit(frame, y),
            frame,
            "sklearn.compose._column_transformer.ColumnTransformer",
        ),
    }


WRITERS = ["pickle2", "pickle4", "pickle5", "joblib", "zlib", "gzip", "bz2", "xz", "lzma"]


@pytest.mark.parametrize("how", WRITERS)
@pytest.mark.parametrize("name", ["logistic", "forest", "hgb", "columns"])
def test_real_estimators_are_safe(fitted, tmp_path, name, how):
    estimator, X, class_name = fitted[name]
    path = tmp_path / f"{name}.bin"
    expected_format = _dump(estimator, path, how)

    result = scan_file(path)

    assert result.safe and result.disallowed == ()
    assert class_name in result.globals
    assert result.format == expected_format
    assert list(result.globals) == sorted(set(result.globals))
    loaded = joblib.load(path)  # the file is a real, loadable model
    np.testing.assert_array_equal(loaded.predict(X), estimator.predict(X))


def test_scan_bytes_matches_scan_file(fitted, tmp_path):
    estimator = fitted["forest"][0]
    path = tmp_path / "m.joblib"
    joblib.dump(estimator, path)
    assert scan_bytes(path.read_bytes()) == scan_file(path)
    assert scan_bytes(pickle.dumps(estimator)).format == "pickle"


# --- malicious files: listed as disallowed, and nothing runs ---


@pytest.mark.parametrize("how", ["pickle0", "pickle5", "joblib", "zlib"])
@pytest.mark.parametrize("payload", list(PAYLOADS))
def test_payloads_are_listed_and_not_run(fitted, tmp_path, payload, how):
    cls, expected = PAYLOADS[payload]
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.bin"
    _dump({"model": fitted["logistic"][0], "x": cls(marker)}, path, how)

    result = scan_file(path)

    assert not result.safe
    assert expected <= set(result.disallowed)
    assert "sklearn.linear_model._logistic.LogisticRegression" not in result.disallowed
    assert not marker.exists()


@pytest.mark.parametrize("how", ["joblib", "zlib", "xz"])
def test_payload_inside_object_array_is_found(fitted, tmp_path, how):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.joblib"
    hidden = np.array([1.5, "text", SystemPayload(marker)], dtype=object)  # joblib writes a nested pickle stream
    _dump({"model": fitted["forest"][0], "extra": hidden}, path, how)

    result = scan_file(path)

    assert result.disallowed == (SYSTEM,)
    assert not marker.exists()


def test_payload_after_raw_array_bytes_is_found(tmp_path):
    # The payload sits after megabytes of raw array data: found only if those bytes are skipped exactly.
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.joblib"
    joblib.dump([np.arange(300_000, dtype=">f8"), np.ones((7, 3), dtype="f4", order="F"), SystemPayload(marker)], path)

    assert scan_file(path).disallowed == (SYSTEM,)
    assert not marker.exists()


@pytest.mark.skipif(shutil.which("touch") is None, reason="payload uses the touch command")
def test_payload_is_live_when_actually_loaded(tmp_path):
    # Control: the same kind of file really runs its command under joblib.load, so the checks above mean something.
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.joblib"
    joblib.dump(SystemPayload(marker), path)
    assert SYSTEM in scan_file(path).disallowed and not marker.exists()

    subprocess.run([sys.executable, "-c", f"import joblib; joblib.load({str(path)!r})"], check=True)
    assert marker.exists()


def test_user_module_function_is_disallowed(tmp_path):
    path = tmp_path / "ft.pkl"
    with open(path, "wb") as f:
        pickle.dump(FunctionTransformer(func=some_func), f)

    result = scan_file(path)

    assert result.disallowed == (f"{some_func.__module__}.some_func",)
    assert "sklearn.preprocessing._function_transformer.FunctionTransformer" in result.globals


def test_main_module_reference_is_disallowed():
    result = scan_bytes(b"c__main__\nmy_func\n(tR.")  # protocol 0: my_func() from __main__
    assert result.disallowed == ("__main__.my_func",)


def test_overwriting_an_allowed_class_is_disallowed():
    # BUILD straight onto an imported class would set attributes on sklearn itself at load time.
    result = scan_bytes(b"csklearn.base\nBaseEstimator\n(dS'x'\nI1\nsb.")
    assert result.disallowed == ("sklearn.base.BaseEstimator.__setstate__",)


def test_persistent_ids_are_disallowed():
    assert scan_bytes(b"Pany-id\n.").disallowed == ("pickle.persistent_load",)


def test_wrapper_changing_its_class_is_refused():
    # Would make joblib stop treating the next bytes as array data, while a scanner still skipped them.
    data = (b"\x80\x02cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81N}X\x09\x00\x00\x00__class__"
            b"csklearn.base\nBaseEstimator\ns\x86b.")
    with pytest.raises(InvalidInputError, match="reassigns an object's class"):
        scan_bytes(data)


# --- files that are not pickles at all ---


def _refused(path) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as info:
        scan_file(path)
    assert info.value.hint
    err = info.value
    assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)  # no raw traceback shown
    return err


def test_csv_is_not_a_model(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a,b,target\n1,2,0\n3,4,1\n")
    err = _refused(path)
    assert "'data.csv' is not a model file" in err.message and "not a pickle or joblib file" in err.message


def test_random_bytes_are_not_a_model(tmp_path):
    path = tmp_path / "noise.bin"
    path.write_bytes(np.random.default_rng(7).bytes(4096))
    assert "'noise.bin' is not a model file" in _refused(path).message


def test_empty_file_is_not_a_model(tmp_path):
    path = tmp_path / "empty.joblib"
    path.write_bytes(b"")
    assert "'empty.joblib'" in _refused(path).message


@pytest.mark.parametrize("how", ["joblib", "zlib", "pickle5"])
def test_truncated_file_is_not_a_model(fitted, tmp_path, how):
    full = tmp_path / "full.bin"
    _dump(fitted["forest"][0], full, how)
    half = tmp_path / "half.joblib"
    half.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    assert "'half.joblib' is not a model file" in _refused(half).message


def test_directory_and_missing_path(tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    assert "'models'" in _refused(folder).message
    assert "'nope.joblib'" in _refused(tmp_path / "nope.joblib").message


def test_unsupported_joblib_variants_are_refused(tmp_path):
    old = tmp_path / "old.pkl"
    old.write_bytes(b"ZF0x1f            " + b"\x00" * 16)  # joblib < 0.10 header
    assert "older than 0.10" in _refused(old).message
    lz4 = tmp_path / "model.lz4"
    lz4.write_bytes(b"\x04\x22\x4d\x18" + b"\x00" * 32)
    err = _refused(lz4)
    assert "'model.lz4'" in err.message


def test_scan_bytes_errors():
    with pytest.raises(InvalidInputError, match="empty"):
        scan_bytes(b"")
    with pytest.raises(InvalidInputError, match="not a pickle or joblib file"):
        scan_bytes(b"id,value\n1,2\n")


# --- policy ---


@pytest.mark.parametrize("name", [
    "numpy.load", "numpy.testing._private.utils.runstring", "pandas.read_pickle", "sklearn.datasets.fetch_openml",
    "numpy.memmap", "numpy._core.memmap.memmap", "numpy.lib._npyio_impl.load", "pandas.io.pickle.read_pickle",
    "pandas.eval", "scipy.io.loadmat", "sklearn.utils._testing.assert_run_python_script_without_output",
    "builtins.eval", "builtins.getattr", "builtins.exec", "os.system", "posix.system", "nt.system",
    "subprocess.Popen", "sys.modules", "importlib.import_module", "runpy.run_path", "shutil.rmtree",
    "socket.socket", "__main__.my_func", "functools.partial", "joblib.load", "joblib.numpy_pickle_compat.NDArrayWrapper",
    "sklearn.base.os.system", "sklearn.utils.fixes.np.load", "pandas.DataFrame.to_pickle", "numpy.ndarray.tofile",
    "sklearn.base.BaseEstimator.__setstate__", "numpy.__dict__", "scipy.sparse.getattr", "",
])
def test_denied_names(name):
    assert not is_allowed(name)


@pytest.mark.parametrize("name", [
    "sklearn.linear_model._logistic.LogisticRegression", "numpy._core.multiarray._reconstruct", "numpy.dtype",
    "scipy.sparse._csr.csr_matrix", "joblib.numpy_pickle.NumpyArrayWrapper", "copyreg._reconstructor",
    "builtins.slice", "_codecs.encode", "collections.OrderedDict", "datetime.datetime",
    "numpy.random._pickle.__randomstate_ctor", "sklearn._loss._loss.__pyx_unpickle_CyHalfSquaredError",
    "pandas.core.internals.managers.BlockManager",
])
def test_allowed_names(name):
    assert is_allowed(name)
