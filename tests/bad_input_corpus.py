"""Write a corpus of broken inputs (data, model, labels, checkpoint files and bad paths) into a folder."""

from __future__ import annotations

import gzip
import io
import json
import os
import pickle
import random
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Item", "write_corpus", "CATALOG", "KINDS", "ID_COLUMN", "CORPUS_ROWS", "HUGE_FIELD_BYTES"]

# Kinds: what an item pretends to be. Every item is offered to every command that takes a file anyway.
KINDS = ("csv", "parquet", "model", "path", "labels", "json", "output")
ID_COLUMN = "id"  # the id column of the sweep's scored batch (labels are matched by it)
CORPUS_ROWS = 40  # rows in most data items: never the scored batch's row count
HUGE_FIELD_BYTES = 1 << 20  # one 1 MiB field: far over csv's 128 KiB field limit, still quick to parse


# Every item's (name, kind), known without writing anything (tests are parametrized from it);
# write_corpus checks that it writes exactly these.
CATALOG: tuple[tuple[str, str], ...] = (
    ("csv_truncated_mid_row", "csv"),
    ("csv_unbalanced_quote", "csv"),
    ("csv_too_many_fields", "csv"),
    ("csv_header_only", "csv"),
    ("csv_header_only_bom", "csv"),
    ("csv_utf16", "csv"),
    ("csv_latin1", "csv"),
    ("csv_nul_bytes", "csv"),
    ("csv_huge_field", "csv"),
    ("csv_huge_header", "csv"),
    ("csv_duplicate_columns", "csv"),
    ("csv_missing_target", "csv"),
    ("csv_missing_feature", "csv"),
    ("csv_extra_columns", "csv"),
    ("csv_non_numeric", "csv"),
    ("csv_all_nan_column", "csv"),
    ("csv_inf_values", "csv"),
    ("csv_mixed_types", "csv"),
    ("csv_one_row", "csv"),
    ("csv_target_all_nan", "csv"),
    ("csv_zero_byte", "csv"),
    ("csv_whitespace_only", "csv"),
    ("csv_binary", "csv"),
    ("csv_really_zip", "csv"),
    ("csv_really_gzip", "csv"),
    ("csv_gzip_named_gz", "csv"),
    ("csv_semicolons", "csv"),
    ("parquet_truncated", "parquet"),
    ("parquet_wrong_magic", "parquet"),
    ("parquet_magic_only", "parquet"),
    ("parquet_wrong_types", "parquet"),
    ("parquet_schema_only", "parquet"),
    ("parquet_is_csv", "parquet"),
    ("parquet_duplicate_columns", "parquet"),
    ("parquet_list_column", "parquet"),
    ("model_pickle_dict", "model"),
    ("model_pickle_list", "model"),
    ("model_pickle_int", "model"),
    ("model_numpy_array", "model"),
    ("model_transformer", "model"),
    ("model_unfitted", "model"),
    ("model_os_system", "model"),
    ("model_os_system_proto0", "model"),
    ("model_subprocess", "model"),
    ("model_builtins_eval", "model"),
    ("model_evil_compressed", "model"),
    ("model_truncated", "model"),
    ("model_zero_byte", "model"),
    ("model_text", "model"),
    ("model_random_bytes", "model"),
    ("model_other_features", "model"),
    ("model_wrong_width", "model"),
    ("path_nonexistent", "path"),
    ("path_in_missing_folder", "path"),
    ("path_directory", "path"),
    ("path_no_permission", "path"),
    ("path_dangling_symlink", "path"),
    ("labels_wrong_id_column", "labels"),
    ("labels_duplicate_ids", "labels"),
    ("labels_unknown_ids", "labels"),
    ("labels_missing_target", "labels"),
    ("labels_target_all_nan", "labels"),
    ("labels_too_few_rows", "labels"),
    ("labels_wrong_values", "labels"),
    ("json_not_json", "json"),
    ("json_empty", "json"),
    ("json_list", "json"),
    ("json_wrong_object", "json"),
    ("json_huge_number", "json"),
    ("json_deeply_nested", "json"),
    ("json_binary", "json"),
    ("json_checkpoint_missing", "json"),
    ("json_checkpoint_wrong_types", "json"),
    ("json_report_bad_integrity", "json"),
    ("json_nan_events", "json"),
    ("output_is_folder", "output"),
    ("output_in_missing_folder", "output"),
    ("output_under_a_file", "output"),
    ("output_read_only_folder", "output"),
)


@dataclass(frozen=True)
class Item:
    name: str
    path: Path
    kind: str
    note: str = ""
    needs_non_root: bool = False  # root can read anything: the item proves nothing then


class _Runs:
    """Pickles as a call to `func(*args)`: loading the pickle calls it."""

    def __init__(self, func, *args) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)


def _shell_touch(marker: Path) -> str:
    return f"touch '{marker}'"


def write_corpus(folder: Path, files, marker: Path) -> list[Item]:
    """Write every broken input under `folder`; `files` is a ModelFiles (model, train, test, features,
    target); `marker` is the file a malicious pickle would create if it were ever loaded."""
    folder.mkdir(parents=True, exist_ok=True)
    items: list[Item] = []
    items += _csv_items(folder / "csv", files)
    items += _parquet_items(folder / "parquet", files)
    items += _model_items(folder / "model", files, marker)
    items += _path_items(folder / "path")
    items += _labels_items(folder / "labels", files)
    items += _json_items(folder / "json")
    items += _output_items(folder / "output", items)
    assert [(i.name, i.kind) for i in items] == list(CATALOG), "CATALOG is out of date"
    return items


def _base(files):
    import pandas as pd

    return pd.read_csv(files.test).head(CORPUS_ROWS).reset_index(drop=True)


def _put(folder: Path, name: str, data: bytes | str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def _csv_items(folder: Path, files) -> list[Item]:
    base = _base(files)
    text = base.to_csv(index=False)
    header = text.split("\n", 1)[0]
    feature = files.features[0]
    out: list[Item] = []

    def add(name: str, data: bytes | str, note: str) -> None:
        out.append(Item(name, _put(folder, f"{name}.csv", data), "csv", note))

    def frame(name: str, f, note: str) -> None:
        add(name, f.to_csv(index=False), note)

    cut = text.rstrip("\n").rfind(",") - 3  # inside the last row's last-but-one value
    add("csv_truncated_mid_row", text[:cut], "the file ends in the middle of its last row")
    add("csv_unbalanced_quote", header + "\n" + '"1.0,' + text.split("\n", 2)[1] + "\n" + text.split("\n", 2)[2],
        "a quote that never closes")
    add("csv_too_many_fields", text + ",".join(["1"] * (len(base.columns) + 3)) + "\n",
        "a row with more fields than the header")
    add("csv_header_only", header + "\n", "a header and no rows")
    add("csv_header_only_bom", "\ufeff" + header + "\n", "a UTF-8 byte order mark and a header, no rows")
    add("csv_utf16", text.encode("utf-16"), "UTF-16 text (with BOM)")
    add("csv_latin1", base.assign(city="Zürich").to_csv(index=False).encode("latin-1"), "Latin-1 bytes")
    add("csv_nul_bytes", text.replace("\n", "\n\x00", 5), "NUL bytes at the start of rows")
    huge = "9" * HUGE_FIELD_BYTES
    frame("csv_huge_field", base.astype({feature: object}).assign(**{feature: [huge] + list(base[feature][1:])}),
          "one 1 MiB value in a numeric column")
    add("csv_huge_header", header.replace(feature, "x" * HUGE_FIELD_BYTES, 1) + "\n" + text.split("\n", 1)[1],
        "a 1 MiB column name")
    add("csv_duplicate_columns", header.replace(files.features[1], feature, 1) + "\n" + text.split("\n", 1)[1],
        "two columns with the same name")
    frame("csv_missing_target", base.drop(columns=[files.target]), "no target column")
    frame("csv_missing_feature", base.drop(columns=[files.features[2]]), "a model feature is missing")
    frame("csv_extra_columns", base.assign(extra_a=1, extra_b="x"), "two columns the model does not use")
    frame("csv_non_numeric", base.astype({feature: object}).assign(**{feature: "large"}),
          "words in a numeric feature")
    frame("csv_all_nan_column", base.assign(**{files.features[1]: float("nan")}), "a feature that is all empty")
    frame("csv_inf_values", base.assign(**{feature: float("inf")}), "infinite values in a feature")
    mixed = base.astype({feature: object})
    mixed.loc[::3, feature] = "n/a?"
    frame("csv_mixed_types", mixed, "numbers and words mixed in a numeric feature")
    frame("csv_one_row", base.head(1), "a single row")
    frame("csv_target_all_nan", base.assign(**{files.target: float("nan")}), "the target column is empty")
    add("csv_zero_byte", b"", "an empty file")
    add("csv_whitespace_only", "   \n \t \n\n   ", "blanks and line breaks only")
    add("csv_binary", random.Random(11).randbytes(8192), "random bytes renamed .csv")
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("data.csv", text)
    add("csv_really_zip", zipped.getvalue(), "a zip archive named .csv")
    add("csv_really_gzip", gzip.compress(text.encode()), "a gzip stream named .csv")
    out.append(Item("csv_gzip_named_gz", _put(folder, "csv_gzip_named_gz.csv.gz", gzip.compress(text.encode())),
                    "csv", "a gzip-compressed CSV named .csv.gz (pandas would open it; the stored copy could not)"))
    add("csv_semicolons", text.replace(",", ";"), "semicolon-separated: one column per row")
    return out


def _parquet_items(folder: Path, files) -> list[Item]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    base = _base(files)
    folder.mkdir(parents=True, exist_ok=True)
    good = io.BytesIO()
    base.to_parquet(good, index=False)
    data = good.getvalue()
    out: list[Item] = []

    def add(name: str, raw: bytes, note: str) -> None:
        out.append(Item(name, _put(folder, f"{name}.parquet", raw), "parquet", note))

    add("parquet_truncated", data[: len(data) // 2], "the first half of a Parquet file")
    add("parquet_wrong_magic", b"PAR0" + data[4:], "a Parquet body with the wrong magic number")
    add("parquet_magic_only", b"PAR1", "the magic number and nothing else")
    buf = io.BytesIO()
    text = base.astype(str)
    text[files.features] = text[files.features] + " mm"
    text.to_parquet(buf, index=False)
    add("parquet_wrong_types", buf.getvalue(), "features stored as text with a unit, e.g. '11.87 mm'")
    buf = io.BytesIO()
    base.head(0).to_parquet(buf, index=False)
    add("parquet_schema_only", buf.getvalue(), "the schema and no rows")
    add("parquet_is_csv", base.to_csv(index=False).encode(), "a CSV renamed .parquet")
    table = pa.Table.from_pandas(base, preserve_index=False)
    dup = pa.table(table.columns + [table.column(0)], names=table.column_names + [table.column_names[0]])
    buf = io.BytesIO()
    pq.write_table(dup, buf)
    add("parquet_duplicate_columns", buf.getvalue(), "two columns with the same name")
    nested = table.set_column(0, table.column_names[0],
                              pa.array([[float(v), 1.0] for v in base[files.features[0]]]))
    buf = io.BytesIO()
    pq.write_table(nested, buf)
    add("parquet_list_column", buf.getvalue(), "a numeric feature stored as lists")
    return out


def _model_items(folder: Path, files, marker: Path) -> list[Item]:
    import joblib
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    train = pd.read_csv(files.train)
    X, y = train[files.features], train[files.target]
    out: list[Item] = []

    def add(name: str, suffix: str, raw: bytes, note: str) -> None:
        out.append(Item(name, _put(folder, f"{name}{suffix}", raw), "model", note))

    def dumped(obj, **kw) -> bytes:
        buf = io.BytesIO()
        joblib.dump(obj, buf, **kw)
        return buf.getvalue()

    add("model_pickle_dict", ".pkl", pickle.dumps({"coef": [1.0, 2.0], "intercept": 0.5}), "a pickled dict")
    add("model_pickle_list", ".pkl", pickle.dumps([1, 2, 3]), "a pickled list")
    add("model_pickle_int", ".pkl", pickle.dumps(42), "a pickled int")
    add("model_numpy_array", ".joblib", dumped(np.arange(10.0)), "a joblib'd numpy array")
    add("model_transformer", ".joblib", dumped(StandardScaler().fit(X)), "a fitted StandardScaler: cannot predict")
    add("model_unfitted", ".joblib", dumped(LogisticRegression()), "an estimator that was never fitted")
    add("model_os_system", ".pkl", pickle.dumps(_Runs(os.system, _shell_touch(marker))), "runs a shell command")
    add("model_os_system_proto0", ".pkl", pickle.dumps(_Runs(os.system, _shell_touch(marker)), protocol=0),
        "runs a shell command (text protocol 0)")
    add("model_subprocess", ".pkl", pickle.dumps(_Runs(subprocess.call, ["touch", str(marker)])),
        "runs subprocess.call")
    add("model_builtins_eval", ".pkl",
        pickle.dumps(_Runs(eval, f"open({str(marker)!r}, 'w').close()")), "evaluates a string")
    add("model_evil_compressed", ".joblib",
        dumped(_Runs(os.system, _shell_touch(marker)), compress=3), "a zlib-compressed joblib running a command")
    real = files.model.read_bytes()
    add("model_truncated", ".joblib", real[: len(real) // 2], "the first half of a real model file")
    add("model_zero_byte", ".joblib", b"", "an empty model file")
    add("model_text", ".pkl", b"this is not a model, just some notes\n", "a text file renamed .pkl")
    add("model_random_bytes", ".pkl", random.Random(7).randbytes(4096), "random bytes")
    other = X.rename(columns={c: f"other_{c}" for c in X.columns})
    add("model_other_features", ".joblib", dumped(LogisticRegression(max_iter=2000).fit(other, y)),
        "fitted on columns the data does not have")
    fewer = LogisticRegression(max_iter=2000).fit(X.iloc[:, :3].to_numpy(), y)
    add("model_wrong_width", ".joblib", dumped(fewer), "fitted on 3 unnamed columns; the data has 8")
    return out


def _path_items(folder: Path) -> list[Item]:
    folder.mkdir(parents=True, exist_ok=True)
    out = [
        Item("path_nonexistent", folder / "no-such-file.csv", "path", "a file that does not exist"),
        Item("path_in_missing_folder", folder / "no-such-folder" / "x.csv", "path", "a folder that does not exist"),
        Item("path_directory", folder, "path", "a folder"),
    ]
    locked = _put(folder, "locked.csv", "a,b\n1,2\n")
    locked.chmod(0)
    out.append(Item("path_no_permission", locked, "path", "a file nobody may read", needs_non_root=True))
    link = folder / "dangling.csv"
    if not link.is_symlink():
        link.symlink_to(folder / "gone.csv")
    out.append(Item("path_dangling_symlink", link, "path", "a symlink to nothing"))
    return out


def _output_items(folder: Path, items: list[Item]) -> list[Item]:
    """Places a predictions file cannot be written to (also offered as inputs, like every item)."""
    folder.mkdir(parents=True, exist_ok=True)
    a_file = next(i.path for i in items if i.kind == "csv")
    locked = folder / "read-only"
    locked.mkdir(exist_ok=True)
    locked.chmod(0o555)
    return [
        Item("output_is_folder", folder, "output", "an existing folder"),
        Item("output_in_missing_folder", folder / "missing" / "predictions.csv", "output",
             "a folder that does not exist"),
        Item("output_under_a_file", a_file / "predictions.csv", "output", "a 'folder' that is a file"),
        Item("output_read_only_folder", locked / "predictions.csv", "output", "a folder nobody may write to",
             needs_non_root=True),
    ]


def _labels_items(folder: Path, files) -> list[Item]:
    """Labels for the sweep's scored batch, which is the test file's rows with ids r0, r1, ..."""
    import pandas as pd

    test = pd.read_csv(files.test)
    ids = [f"r{i}" for i in range(len(test))]
    good = pd.DataFrame({ID_COLUMN: ids, files.target: test[files.target]})
    out: list[Item] = []

    def add(name: str, f, note: str) -> None:
        path = folder / f"{name}.csv"
        folder.mkdir(parents=True, exist_ok=True)
        f.to_csv(path, index=False)
        out.append(Item(name, path, "labels", note))

    add("labels_wrong_id_column", good.rename(columns={ID_COLUMN: "row_id"}), "the id column has another name")
    dup = good.copy()
    dup.loc[1, ID_COLUMN] = dup.loc[0, ID_COLUMN]
    add("labels_duplicate_ids", dup, "an id appears twice")
    add("labels_unknown_ids", good.assign(**{ID_COLUMN: [f"zz{i}" for i in range(len(good))]}),
        "ids of rows the batch does not have")
    add("labels_missing_target", good.drop(columns=[files.target]), "ids but no label column")
    add("labels_target_all_nan", good.assign(**{files.target: float("nan")}), "the label column is empty")
    add("labels_too_few_rows", good.head(10), "fewer rows than the batch (matched by row order)")
    add("labels_wrong_values", good.assign(**{files.target: ["yes" if v else "no" for v in good[files.target]]}),
        "labels 'yes'/'no' for a model whose classes are 0/1")
    return out


def _json_items(folder: Path) -> list[Item]:
    out: list[Item] = []

    def add(name: str, data: bytes | str, note: str) -> None:
        out.append(Item(name, _put(folder, f"{name}.json", data), "json", note))

    add("json_not_json", "this is not JSON {", "text that is not JSON")
    add("json_empty", b"", "an empty file")
    add("json_list", "[1, 2, 3]", "JSON of the wrong shape: a list")
    add("json_wrong_object", json.dumps({"hello": "world"}), "a JSON object that is neither report nor checkpoint")
    add("json_huge_number", '{"checkpoint": {"events": ' + "9" * 5000 + "}}",
        "a 5000-digit number (over Python's int conversion limit)")
    add("json_deeply_nested", "[" * 100_000 + "]" * 100_000, "arrays nested 100,000 deep")
    add("json_binary", random.Random(5).randbytes(2048), "random bytes")
    add("json_checkpoint_missing", json.dumps({"checkpoint": {"events": 3}}), "a checkpoint missing its fields")
    wrong = {"events": 3, "root": 5, "head_hash": None, "log_id": [], "at": {}, "key_fingerprint": 7,
             "public_key": 12345, "signature": ["x"]}
    add("json_checkpoint_wrong_types", json.dumps({"checkpoint": wrong}), "checkpoint fields of the wrong types")
    add("json_report_bad_integrity", json.dumps({"schema": "model-steward/report/1", "integrity": [1, 2],
                                                 "metadata": "x"}),
        "a report whose integrity section is a list")
    add("json_nan_events", '{"checkpoint": {"events": NaN}}', "NaN where a count belongs")
    return out
