"""Read tabular files (CSV, Parquet) into DataFrames, turning every failure into a clear message."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from app.core.errors import InvalidInputError
from app.core.files import open_input

__all__ = ["read_table", "read_columns", "table_format", "dtype_kind", "first_line"]

_PARQUET_MAGIC = b"PAR1"
# Compressed or archived files: pandas would decompress some by suffix only, and the stored copy (kept
# without a suffix) could then never be read back, so they are refused by their first bytes instead.
_PACKED = ((b"PK\x03\x04", "a zip archive"), (b"\x1f\x8b", "gzip-compressed"), (b"BZh", "bzip2-compressed"),
           (b"\xfd7zXZ\x00", "xz-compressed"), (b"\x28\xb5\x2f\xfd", "zstd-compressed"))
_TAIL_BYTES = 1 << 16


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first line of an exception's text, shortened: library messages can run to many lines."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 1] + "…"


def table_format(path: Path, what: str = "data file") -> str:
    """'parquet' or 'csv', judged by the file's first bytes (then its suffix), not trusted blindly."""
    with open_input(path, what) as fh:
        head = fh.read(8)
    if head[:4] == _PARQUET_MAGIC:
        return "parquet"
    packed = next((label for magic, label in _PACKED if head.startswith(magic)), None)
    if packed:
        raise InvalidInputError(f"The {what} '{path.name}' is {packed}, not a CSV or Parquet file.",
                                hint="Extract or decompress it and choose the CSV or Parquet file inside.")
    if path.suffix.lower() in (".parquet", ".pq"):
        raise InvalidInputError(f"'{path.name}' is named .parquet but is not a Parquet file.")
    return "csv"


def read_table(path: Path | str, *, what: str = "data file"):
    """Load `path` as a DataFrame; raise InvalidInputError naming the file and the problem."""
    import pandas as pd

    path = Path(path)
    fmt = table_format(path, what)
    if path.stat().st_size == 0:
        raise InvalidInputError(f"The {what} '{path.name}' is empty (0 bytes).")
    try:
        if fmt == "parquet":
            _parquet_duplicates(path, what)
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, encoding="utf-8", low_memory=False)
    except InvalidInputError:
        raise
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"The {what} '{path.name}' is not UTF-8 text (bad byte at position {exc.start}).",
            hint="Save it as UTF-8 CSV and try again.",
        ) from None
    except pd.errors.EmptyDataError:
        raise InvalidInputError(f"The {what} '{path.name}' has no columns or rows.") from None
    except pd.errors.ParserError as exc:
        first = first_line(exc) if str(exc).strip() else "malformed CSV"
        raise InvalidInputError(f"The {what} '{path.name}' is not a well-formed CSV file: {first}") from None
    except Exception as exc:  # OSError, ValueError, and pyarrow's own hierarchy for corrupt Parquet
        raise InvalidInputError(f"The {what} '{path.name}' could not be read: {_reason(exc, path)}",
                                hint="It may be truncated or damaged; export it again.") from None
    if frame.shape[1] == 0 or frame.shape[0] == 0:
        raise InvalidInputError(f"The {what} '{path.name}' has a header but no rows.")
    if fmt == "csv":
        _refuse_other_separator(list(frame.columns), path, what)
        header = _csv_header(path)
        duplicated = sorted({name for name in header if header.count(name) > 1})
        if duplicated:
            raise InvalidInputError(
                f"The {what} '{path.name}' has duplicate column names: {', '.join(duplicated)}."
            )
        _refuse_truncated(path, what, len(header))
    frame.columns = [str(c) for c in frame.columns]
    return frame


def read_columns(path: Path | str, *, what: str = "data file") -> list[str]:
    """Column names from the header (and first rows) only, refused with read_table's messages."""
    import pandas as pd

    path = Path(path)
    fmt = table_format(path, what)
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return [str(c) for c in pq.read_schema(path).names]
        head = pd.read_csv(path, nrows=20, encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"The {what} '{path.name}' is not UTF-8 text (bad byte at position {exc.start}).",
                                hint="Save it as UTF-8 CSV and try again.") from None
    except pd.errors.EmptyDataError:
        raise InvalidInputError(f"The {what} '{path.name}' could not be read: it is empty.") from None
    except Exception as exc:
        raise InvalidInputError(f"The {what} '{path.name}' could not be read: {_reason(exc, path)}",
                                hint="It may be truncated or damaged; export it again.") from None
    if head.empty:
        raise InvalidInputError(f"The {what} '{path.name}' has a header but no rows.")
    columns = [str(c) for c in head.columns]
    _refuse_other_separator(columns, path, what)
    return columns


def _refuse_other_separator(columns: list, path: Path, what: str) -> None:
    """One column whose name holds the real header: the file is separated by something else than commas."""
    sep = next((c for c in ";\t|" if c in str(columns[0])), None) if len(columns) == 1 else None
    if sep:
        raise InvalidInputError(
            f"The {what} '{path.name}' has a single column: its lines look separated by "
            f"{'tabs' if sep == chr(9) else repr(sep)}, not commas.", hint="Save it as comma-separated CSV.")


def _reason(exc: BaseException, path: Path) -> str:
    # pyarrow names the whole path and can append its schema; the file's name is already in the message.
    text = first_line(exc).replace(f"'{path}'", "it").replace(str(path), "it")
    if "magic bytes" in text or "footer" in text:
        return "it is not a complete Parquet file."
    return text


def _parquet_duplicates(path: Path, what: str) -> None:
    """pandas refuses a Parquet file with repeated column names with a schema dump; say it plainly."""
    import pyarrow.parquet as pq

    names = [str(n) for n in pq.read_schema(path).names]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise InvalidInputError(f"The {what} '{path.name}' has duplicate column names: {', '.join(duplicated)}.")


def _csv_header(path: Path) -> list[str]:
    """The header as written (pandas renames repeated names, so it cannot tell us); read by pandas
    too, because the csv module stops at 128 KiB per field and keeps a byte order mark."""
    import pandas as pd

    row = pd.read_csv(path, header=None, nrows=1, dtype=str, encoding="utf-8", keep_default_na=False)
    return [str(name).strip() for name in row.iloc[0]] if len(row) else []


def _refuse_truncated(path: Path, what: str, width: int) -> None:
    """A file cut off mid-row (a copy or download stopped early) parses with its last row padded
    with empty values; the sign is a last line without a line break that has too few fields."""
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        fh.seek(max(0, size - _TAIL_BYTES))
        tail = fh.read()
    last = re.split(rb"[\r\n]", tail)[-1]
    if not last or b'"' in last or len(last) >= _TAIL_BYTES:  # ends with a line break, or cannot tell
        return
    try:
        fields = len(next(csv.reader([last.decode("utf-8", errors="replace")]), []))
    except csv.Error:
        return
    if 0 < fields < width:
        raise InvalidInputError(
            f"The {what} '{path.name}' ends in the middle of a row: its last line has {fields} of "
            f"{width} fields and no line break. It looks truncated.",
            hint="Copy or export the file again.",
        )


def dtype_kind(dtype) -> str:
    """'numeric' for numbers and booleans, 'categorical' for everything else."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    return "categorical"
