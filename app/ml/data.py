"""Read tabular files (CSV, Parquet) into DataFrames, turning every failure into a clear message."""

from __future__ import annotations

from pathlib import Path

from app.core.errors import InvalidInputError
from app.core.files import open_input

__all__ = ["read_table", "table_format", "dtype_kind"]

_PARQUET_MAGIC = b"PAR1"


def table_format(path: Path) -> str:
    """'parquet' or 'csv', judged by the file's first bytes (then its suffix), not trusted blindly."""
    with open_input(path, "data file") as fh:
        head = fh.read(4)
    if head == _PARQUET_MAGIC:
        return "parquet"
    if path.suffix.lower() in (".parquet", ".pq"):
        raise InvalidInputError(f"'{path.name}' is named .parquet but is not a Parquet file.")
    return "csv"


def read_table(path: Path | str, *, what: str = "data file"):
    """Load `path` as a DataFrame; raise InvalidInputError naming the file and the problem."""
    import pandas as pd

    path = Path(path)
    fmt = table_format(path)
    if path.stat().st_size == 0:
        raise InvalidInputError(f"The {what} '{path.name}' is empty (0 bytes).")
    try:
        if fmt == "parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, encoding="utf-8", low_memory=False)
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"The {what} '{path.name}' is not UTF-8 text (bad byte at position {exc.start}).",
            hint="Save it as UTF-8 CSV and try again.",
        ) from None
    except pd.errors.EmptyDataError:
        raise InvalidInputError(f"The {what} '{path.name}' has no columns or rows.") from None
    except pd.errors.ParserError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "malformed CSV"
        raise InvalidInputError(f"The {what} '{path.name}' is not a well-formed CSV file: {first}") from None
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"The {what} '{path.name}' could not be read: {exc}") from None
    except Exception as exc:  # pyarrow raises its own hierarchy for corrupt Parquet
        raise InvalidInputError(f"The {what} '{path.name}' could not be read: {exc}") from None
    if frame.shape[1] == 0 or frame.shape[0] == 0:
        raise InvalidInputError(f"The {what} '{path.name}' has a header but no rows.")
    if fmt == "csv":
        header = _csv_header(path)
        duplicated = sorted({name for name in header if header.count(name) > 1})
        if duplicated:
            raise InvalidInputError(
                f"The {what} '{path.name}' has duplicate column names: {', '.join(duplicated)}."
            )
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _csv_header(path: Path) -> list[str]:
    import csv

    with open(path, newline="", encoding="utf-8") as fh:
        return [name.strip() for name in next(csv.reader(fh), [])]


def dtype_kind(dtype) -> str:
    """'numeric' for numbers and booleans, 'categorical' for everything else."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    return "categorical"
