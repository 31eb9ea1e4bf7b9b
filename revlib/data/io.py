"""Files: reading a data directory of tables, writing tables, JSON and report artifacts,
and reading YAML and the simulator's ground truth.

This is the only module that reads or writes files. Everything else works on the in-memory
DataFrames it returns.
"""

from __future__ import annotations

import codecs
import csv
import errno
import json
import math
import os
import stat
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from revlib.data.contract import CONTRACT, MAX_EXAMPLES, TABLE_NAMES, format_value
from revlib.data.validate import DataValidationError, Problem, _validate

# ----------------------------------------------------------------------------- reading


def find_table_file(data_dir: str | os.PathLike, name: str) -> Path | None:
    """The file holding table ``name`` in ``data_dir`` (``.parquet`` preferred over ``.csv``).

    Anything of that name counts (also a directory or a broken link, which :func:`load_tables`
    then reports), so a table is never silently taken as missing."""
    for ext in (".parquet", ".csv"):
        path = Path(data_dir) / f"{name}{ext}"
        if os.path.lexists(path):
            return path
    return None


def available_tables(data_dir: str | os.PathLike) -> list[str]:
    """Contract tables present in ``data_dir``, in contract order."""
    return [t for t in TABLE_NAMES if find_table_file(data_dir, t) is not None]


def path_problem(path: str | os.PathLike, *, want_dir: bool = False) -> str | None:
    """Why ``path`` is not a readable file (``want_dir``: directory), or None when it is."""
    path = Path(path)
    what = "directory" if want_dir else "file"
    try:
        mode = path.stat().st_mode  # follows symbolic links
    except OSError as err:
        if err.errno == errno.ELOOP:
            return f"{path} is a symbolic link loop, not a {what}"
        if path.is_symlink():
            return f"{path} is a symbolic link to a missing {what} ({os.readlink(path)})"
        if err.errno == errno.ENOENT:
            return f"not found: {path}"
        return f"{path} cannot be opened: {err.strerror}"
    if want_dir and not stat.S_ISDIR(mode):
        return f"{path} is a file, not a directory"
    if not want_dir and stat.S_ISDIR(mode):
        return f"{path} is a directory, not a table file"
    if not want_dir and not stat.S_ISREG(mode):
        return f"{path} is not a regular file"
    if not os.access(path, os.R_OK | (os.X_OK if want_dir else 0)):
        return f"{path} cannot be read (permission denied)"
    return None


def _first_bad_utf8(path: Path) -> str:
    """Where a file first fails to decode as UTF-8: ``byte N: reason``."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as err:
                return f"byte {offset + err.start}: {err.reason}"
            offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as err:
        return f"byte {offset + err.start}: {err.reason}"
    return "unknown position"


def _csv_header(path: Path, table: str) -> list[str]:
    """The column names of a CSV file; duplicates, an empty file or bad UTF-8 are errors."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            header = next(csv.reader(f), None)
    except UnicodeDecodeError:
        header = []  # reported below with its position in the whole file
        raise DataValidationError(
            [Problem(table, None, f"{path.name} is not UTF-8 text ({_first_bad_utf8(path)})")]
        ) from None
    if not header:
        raise DataValidationError([Problem(table, None, f"{path.name} is empty (no header row)")])
    counts = Counter(header)
    dups = [
        Problem(table, name, f"column name appears {n} times in the header of {path.name}")
        for name, n in counts.items()
        if n > 1
    ]
    if dups:
        raise DataValidationError(dups)
    return header


def _read_csv(path: Path, table: str) -> pa.Table:
    """A CSV file as an Arrow table of text: no per-cell Python objects, so a table takes
    about its file size in memory. Every row must have as many fields as the header."""
    header = _csv_header(path, table)
    ragged: list[str] = []
    count = 0

    def on_invalid(row: Any) -> str:
        nonlocal count
        count += 1
        if len(ragged) < MAX_EXAMPLES:
            ragged.append(f"line {row.number}: {row.actual_columns} fields")
        return "skip"

    try:
        arrow = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=False, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=True, invalid_row_handler=on_invalid
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as err:
        if "UTF8" in str(err) or "UTF-8" in str(err):
            where = _first_bad_utf8(path)
            raise DataValidationError(
                [Problem(table, None, f"{path.name} is not UTF-8 text ({where})")]
            ) from None
        raise DataValidationError(
            [Problem(table, None, f"{path.name} cannot be read: {str(err).strip()}")]
        ) from None
    if count:
        raise DataValidationError(
            [
                Problem(
                    table,
                    None,
                    f"{path.name}: every row must have {len(header)} fields like its header",
                    count,
                    ragged,
                )
            ]
        )
    return arrow


def _read_table(path: Path) -> pd.DataFrame | pa.Table:
    """One table file as read: Parquet as a frame, CSV as an Arrow table of text."""
    table = path.stem
    problem = path_problem(path)
    if problem:
        raise DataValidationError([Problem(table, None, problem)])
    if path.suffix == ".parquet":
        try:
            return pd.read_parquet(path)
        except (OSError, ValueError) as err:
            raise DataValidationError(
                [Problem(table, None, f"{path.name} cannot be read: {str(err).strip()}")]
            ) from None
    return _read_csv(path, table)


def read_raw(path: str | os.PathLike) -> pd.DataFrame:
    """Read one table file as text columns (Parquet as stored), before contract parsing.

    CSV: UTF-8, every column as text, empty cells null, the text ``NA`` kept as a value; a
    row with more or fewer fields than the header, a repeated column name or an unreadable
    file raise :class:`DataValidationError` naming the file (table = file name stem).
    """
    raw = _read_table(Path(path))
    if isinstance(raw, pd.DataFrame):
        return raw
    return raw.to_pandas(split_blocks=True, self_destruct=True)


def load_tables(
    data_dir: str | os.PathLike,
    tables: Iterable[str] | None = None,
    *,
    required: Iterable[str] = (),
) -> dict[str, pd.DataFrame]:
    """Read and validate tables from ``data_dir``.

    ``tables``: which tables to read (default: every contract table present). ``required``:
    tables that must be present. Foreign keys are checked against the referenced tables, which
    are read for the purpose when present. Raises :class:`DataValidationError` listing every
    problem (missing directory or tables, unreadable files, types, rules, orphans).
    """
    data_dir = Path(data_dir)
    required = list(required)
    problem = path_problem(data_dir, want_dir=True)
    if problem:
        raise DataValidationError([Problem("(data directory)", None, problem)], data_dir)
    wanted = list(tables) if tables is not None else available_tables(data_dir)
    unknown = [t for t in [*wanted, *required] if t not in CONTRACT]
    if unknown:
        rule = (
            f"unknown table(s) {', '.join(map(repr, unknown))}; the data contract's tables: "
            + ", ".join(TABLE_NAMES)
        )
        raise DataValidationError([Problem("(tables)", None, rule)], data_dir)  # a ValueError
    wanted = list(dict.fromkeys([*required, *wanted]))
    # Referenced tables are read too, so foreign keys (and currencies) can be checked.
    for name in wanted:  # grows while iterating: references of references are followed
        refs = [c.ref.split(".")[0] for c in CONTRACT[name].columns if c.ref]
        if CONTRACT[name].col("currency") is not None:
            refs.append("fx_rates")
        for ref in refs:
            if ref not in wanted and find_table_file(data_dir, ref) is not None:
                wanted.append(ref)
    problems: list[Problem] = []
    raw: dict[str, pd.DataFrame | pa.Table] = {}
    sources: dict[str, str] = {}
    for name in wanted:
        path = find_table_file(data_dir, name)
        if path is None:
            if name in required:
                problems.append(
                    Problem(
                        name, None, f"required table is missing (no {name}.csv or {name}.parquet)"
                    )
                )
            continue
        try:
            raw[name] = _read_table(path)
            sources[name] = "csv" if path.suffix == ".csv" else "parquet"
        except DataValidationError as err:
            problems += err.problems
    try:
        parsed = _validate(raw, sources=sources, data_dir=data_dir)  # empties raw: frees text
    except DataValidationError as err:
        raise DataValidationError(problems + err.problems, data_dir) from None
    if problems:
        raise DataValidationError(problems, data_dir)
    return parsed


# ----------------------------------------------------------------------------- writing


def _csv_ready(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for name in out.columns:
        col = out[name]
        if pd.api.types.is_datetime64_any_dtype(col):
            is_date = bool((col.dropna() == col.dropna().dt.normalize()).all())
            out[name] = col.dt.strftime("%Y-%m-%d" if is_date else "%Y-%m-%dT%H:%M:%S")
    return out


def compact_csv_text(df: pd.DataFrame) -> pd.DataFrame:
    """Compact text form of a table for CSV, built with numpy (fast at 10^7 rows): dates
    ``YYYY-MM-DD``, timestamps ``YYYY-MM-DDTHH:MM:SS``, whole-number floats as integers, other
    floats in their shortest round-trip form; nulls empty (``write_csv(..., compact=True)``)."""
    out = {}
    for name in df.columns:
        col = df[name]
        if pd.api.types.is_datetime64_any_dtype(col):
            codes, uniques = pd.factorize(col.to_numpy("datetime64[s]"))  # NaT -> code -1
            u = uniques.to_numpy("datetime64[s]") if hasattr(uniques, "to_numpy") else uniques
            whole_days = bool(np.all(u == u.astype("datetime64[D]")))
            labels = np.datetime_as_string(u, unit="D" if whole_days else "s").astype(object)
            labels_or_null = np.append(labels, np.array([None], dtype=object))
            out[name] = labels_or_null[codes]  # one string object per distinct date
        elif pd.api.types.is_float_dtype(col):
            a = col.to_numpy(float)
            nan = np.isnan(a)
            if np.all(a[~nan] == np.round(a[~nan])) and np.all(np.abs(a[~nan]) < 2**53):
                whole = np.where(nan, 0, a).astype(np.int64)
                text = whole.astype(str).astype(object) if nan.any() else whole
            else:
                text = a.astype(str).astype(object) if nan.any() else a
            if nan.any():
                text[nan] = np.array(None, dtype=object)
            out[name] = text
        else:
            out[name] = col.to_numpy()
    return pd.DataFrame(
        {k: pd.Series(v, dtype=object) if v.dtype == object else v for k, v in out.items()}
    )


def write_csv(
    df: pd.DataFrame,
    path: str | os.PathLike,
    *,
    float_format: str | None = None,
    compact: bool = False,
) -> Path:
    """Write a table as deterministic CSV (ISO dates, ``\\n`` line ends, no index).
    ``compact``: whole-number floats as integers, the fast text of :func:`compact_csv_text`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = compact_csv_text(df) if compact else _csv_ready(df)
    text.to_csv(path, index=False, lineterminator="\n", float_format=float_format)
    return path


def write_tables(
    tables: Mapping[str, pd.DataFrame],
    out_dir: str | os.PathLike,
    *,
    fmt: str = "csv",
    float_format: str | None = None,
    compact: bool = False,
) -> list[Path]:
    """Write each table as ``<out_dir>/<name>.csv`` (deterministic text; ``compact``: see
    :func:`write_csv`) or ``.parquet`` (``fmt="parquet"``: several times faster to write and
    read for large data)."""
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
    out = Path(out_dir)
    if fmt == "csv":
        return [
            write_csv(df, out / f"{name}.csv", float_format=float_format, compact=compact)
            for name, df in tables.items()
        ]
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, df in tables.items():
        df.to_parquet(out / f"{name}.parquet", index=False)
        paths.append(out / f"{name}.parquet")
    return paths


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return _json_float(float(obj))
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (pd.Timestamp,)):
        return format_value(obj)
    if isinstance(obj, (pd.Series,)):
        return obj.to_dict()
    if obj is pd.NA or obj is pd.NaT:
        return None
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def _json_float(x: float) -> float | None:
    return None if math.isnan(x) or math.isinf(x) else x


def _clean_json(obj: Any) -> Any:
    if isinstance(obj, float):
        return _json_float(obj)
    if isinstance(obj, dict):
        return {str(k): _clean_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean_json(v) for v in obj]
    return obj


def write_json(obj: Any, path: str | os.PathLike) -> Path:
    """Write JSON deterministically (sorted keys, 2-space indent, NaN -> null)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(
        _clean_json(obj), indent=2, sort_keys=True, default=_json_default, allow_nan=False
    )
    path.write_text(text + "\n", encoding="utf-8")
    return path


def read_json(path: str | os.PathLike) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_artifacts(output_dir: str | os.PathLike, artifacts: Mapping[str, Any]) -> list[Path]:
    """Write a report's machine-readable artifacts into ``output_dir``.

    Keys are file names: ``.csv`` takes a DataFrame, ``.json`` any JSON-able object, ``.txt``
    a string. Returns the paths written.
    """
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, obj in artifacts.items():
        path = out / name
        if name.endswith(".csv"):
            if not isinstance(obj, pd.DataFrame):
                raise TypeError(f"artifact {name} must be a DataFrame, got {type(obj).__name__}")
            written.append(write_csv(obj, path))
        elif name.endswith(".json"):
            written.append(write_json(obj, path))
        elif name.endswith(".txt"):
            path.write_text(str(obj), encoding="utf-8")
            written.append(path)
        else:
            raise ValueError(f"artifact {name}: extension must be .csv, .json or .txt")
    return written


def round_floats(
    frame: pd.DataFrame, digits: int = 6, *, columns: Iterable[str] | None = None
) -> pd.DataFrame:
    """A copy with its float columns (or the named ``columns`` present, taken as float) rounded
    to ``digits`` decimals: the one rounding of report artifacts, stable across platforms."""
    out = frame.copy()
    if columns is None:
        names = [c for c in out.columns if pd.api.types.is_float_dtype(out[c])]
    else:
        names = [c for c in columns if c in out.columns]
    for c in names:
        out[c] = out[c].astype(float).round(digits)
    return out


def read_artifact(output_dir: str | os.PathLike, name: str) -> Any:
    """Read back an artifact written by :func:`write_artifacts`."""
    path = Path(output_dir) / name
    return read_json(path) if name.endswith(".json") else pd.read_csv(path)


def read_yaml(path: str | os.PathLike) -> Any:
    """Read a YAML file (rubrics, rule tables, parameter sets)."""
    import yaml

    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def bundled_path(name: str) -> Path:
    """Path of a file shipped inside the package (``revlib/<name>``, e.g. ``health_rubric.yaml``);
    raises ``FileNotFoundError`` naming the bundled files when there is none."""
    from importlib import resources

    path = Path(str(resources.files("revlib").joinpath(name)))
    if not path.is_file():
        shipped = sorted(p.name for p in path.parent.glob("*.yaml"))
        raise FileNotFoundError(f"no bundled file {name!r} in revlib; bundled YAML: {shipped}")
    return path


def read_bundled_yaml(name: str) -> Any:
    """Read a YAML file shipped inside the package (``revlib/<name>``): the rubric, pricing
    rules and risk register."""
    return read_yaml(bundled_path(name))


def read_ground_truth(data_dir: str | os.PathLike) -> dict | None:
    """The simulator's ``ground_truth.json`` in ``data_dir``, or None for real data."""
    path = Path(data_dir) / "ground_truth.json"
    return read_json(path) if path.is_file() else None


def real_data_dir(name: str = "") -> Path:
    """Folder of the shared real data sets (``$REVLIB_REAL_DATA``, else ``../shared/data/real``
    beside the workspace), or one data set in it. Never copied into the repo."""
    env = os.environ.get("REVLIB_REAL_DATA")
    base = Path(env) if env else Path(__file__).resolve().parents[3] / "shared" / "data" / "real"
    return base / name if name else base
