"""Parsing and validating in-memory tables against the contract.

Parsed types: ids and labels are ``str`` (pandas string dtype), money and quantities ``float64``,
counts ``Int64``, dates ``datetime64[ns]`` (midnight), timestamps ``datetime64[ns]``, flags
``bool`` (``boolean`` when nullable). Extra columns are kept: numeric when every value parses,
text otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from revlib.data.contract import (
    CONTRACT,
    MAX_ABS_NUMBER,
    MAX_EXAMPLES,
    REPORTING_CURRENCY,
    Col,
    Kind,
    Table,
    format_value,
)

# ----------------------------------------------------------------------------- problems


@dataclass
class Problem:
    """One failed rule: where, what, how many rows, and a few examples."""

    table: str
    column: str | None
    rule: str
    count: int = 0
    examples: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        text = f"{where}: {self.rule}"
        if self.count:
            text += f" ({self.count} row{'s' if self.count != 1 else ''}"
            if self.examples:
                text += "; e.g. " + ", ".join(self.examples)
            text += ")"
        return text


class DataValidationError(ValueError):
    """Input data break the contract. ``problems`` lists every failed rule."""

    def __init__(self, problems: list[Problem], data_dir: str | os.PathLike | None = None):
        self.problems = problems
        self.data_dir = str(data_dir) if data_dir is not None else None
        super().__init__(self.report())

    def report(self) -> str:
        head = f"Input data in {self.data_dir} " if self.data_dir else "Input data "
        lines = [head + f"failed validation: {len(self.problems)} problem(s)"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


def _row_label(index: Any, source: str) -> str:
    # CSV: the line in the file (header is line 1); Parquet / in-memory: the 0-based row.
    if source == "csv" and isinstance(index, (int, np.integer)):
        return f"line {int(index) + 2}"
    return f"row {index}"


def _examples(values: pd.Series, source: str) -> list[str]:
    out = []
    for idx, val in values.head(MAX_EXAMPLES).items():
        shown = (
            "null" if _isnull(val) else repr(val if not isinstance(val, np.generic) else val.item())
        )
        out.append(f"{_row_label(idx, source)}: {shown}")
    return out


def _isnull(val: Any) -> bool:
    try:
        return bool(pd.isna(val))
    except (TypeError, ValueError):
        return False


_TRUE = {"true", "t", "1", "yes", "y"}
_FALSE = {"false", "f", "0", "no", "n"}

# The text forms the contract accepts (RE2 syntax, matched after trimming whitespace).
NUMBER_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^(?i:[+-]?(inf|infinity|nan))$"
DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
TIMESTAMP_RE = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$"
OPEN_END = np.datetime64("9999-12-31", "D")  # "no end" in billing exports: null when nullable
# pandas' datetime64[ns] range, whole days
FIRST_DATE = np.datetime64("1677-09-22", "D")
LAST_DATE = np.datetime64("2262-04-11", "D")


@dataclass
class Parsed:
    """A parsed column and, per failed rule, the rows (boolean mask) that broke it."""

    values: pd.Series
    failed: dict[str, np.ndarray] = field(default_factory=dict)

    def fail(self, rule: str, mask: np.ndarray) -> None:
        if mask.any():
            self.failed[rule] = self.failed.get(rule, np.zeros(len(mask), bool)) | mask


BLOCK_ROWS = 1 << 18  # text is parsed in blocks of rows: temporaries stay a block's size


def _arrow_text(raw: pd.Series) -> pa.ChunkedArray:
    """A column's text as Arrow strings, zero-copy when it already is (a CSV column)."""
    if not (
        pd.api.types.is_string_dtype(raw) and isinstance(raw.array, pd.arrays.ArrowStringArray)
    ):
        raw = raw.astype("string[pyarrow]")
    arr = pa.array(raw.array)  # an Array, or a ChunkedArray when read in blocks
    return arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr])


def _text_blocks(raw: pd.Series) -> Iterator[pa.ChunkedArray]:
    """Trimmed text of a column, ``BLOCK_ROWS`` rows at a time; "" is null."""
    arr = _arrow_text(raw)
    for start in range(0, len(arr), BLOCK_ROWS):
        text = pc.utf8_trim_whitespace(arr.slice(start, BLOCK_ROWS))
        yield pc.if_else(pc.equal(text, ""), pa.scalar(None, text.type), text)


def _mask(arr: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A boolean Arrow array as numpy, null as False."""
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def _is_text(raw: pd.Series) -> bool:
    return raw.dtype == object or pd.api.types.is_string_dtype(raw)


def _number_block(text: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Numbers of one block of trimmed text (null: NaN; the text ``nan``: inf, so it is
    reported as not finite) and the mask of cells that are not number text."""
    ok = pc.match_substring_regex(text, NUMBER_RE)
    not_number = _mask(pc.invert(ok)) & _mask(pc.is_valid(text))
    num = pc.cast(pc.if_else(ok, text, pa.scalar(None, text.type)), pa.float64())
    num = np.array(num.to_numpy(), dtype="float64")  # nulls become NaN; writable
    num[_mask(ok) & np.isnan(num)] = np.inf
    return num, not_number


def _parse_number(raw: pd.Series, kind: Kind) -> Parsed:
    """Numbers from text (decimal, optional exponent) or numeric storage; booleans are not
    numbers. Non-finite values and magnitudes above ``MAX_ABS_NUMBER`` are rejected."""
    shown = f"a {'whole ' if kind == 'int' else ''}number"
    if pd.api.types.is_bool_dtype(raw) or (
        raw.dtype == object and raw.map(lambda v: isinstance(v, (bool, np.bool_))).any()
    ):
        out = Parsed(pd.Series(np.nan, index=raw.index))
        out.fail(f"must be {shown} (true/false is not)", raw.notna().to_numpy())
        return out
    if pd.api.types.is_numeric_dtype(raw):
        num = raw.to_numpy(dtype="float64", na_value=np.nan)
        out = Parsed(pd.Series(num, index=raw.index))
    else:
        blocks = [_number_block(text) for text in _text_blocks(raw)]
        num = np.concatenate([b[0] for b in blocks]) if blocks else np.zeros(0)
        out = Parsed(pd.Series(np.nan, index=raw.index))
        bad = np.concatenate([b[1] for b in blocks]) if blocks else np.zeros(0, bool)
        out.fail(f"must be {_KIND_TEXT[kind]}", bad)
    big = ~np.isnan(num) & ~(np.abs(num) <= MAX_ABS_NUMBER)
    out.fail(f"must be a finite number between -{MAX_ABS_NUMBER:g} and {MAX_ABS_NUMBER:g}", big)
    num = np.where(big, np.nan, num)
    if kind == "int":
        frac = ~np.isnan(num) & (num != np.floor(num))
        out.fail(f"must be {_KIND_TEXT[kind]}", frac)
        num = np.where(frac, np.nan, num)
        out.values = pd.Series(num, index=raw.index).astype("Int64")
    else:
        out.values = pd.Series(num, index=raw.index, dtype="float64")
    return out


_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _days_from_text(text: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """``YYYY-MM-DD`` prefixes (already checked by ``DATE_RE`` or ``TIMESTAMP_RE``) as numpy
    days (``datetime64[D]``, any year) and a mask of the rows that are real calendar dates.
    Integer arithmetic on whole columns (days from civil, H. Hinnant), no per-cell objects."""
    ymd = pc.replace_substring(pc.utf8_slice_codeunits(text, 0, 10), "-", "")
    v = pc.cast(ymd, pa.int64()).to_numpy()
    y, m, d = v // 10000, v // 100 % 100, v % 100
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    month_ok = (m >= 1) & (m <= 12)
    length = _MONTH_DAYS[np.where(month_ok, m, 1)] + (leap & (m == 2))
    real = month_ok & (d >= 1) & (d <= length)
    yy = y - (m <= 2)
    era = yy // 400
    yoe = yy - era * 400
    doy = (153 * ((m + 9) % 12) + 2) // 5 + d - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    return days.view("datetime64[D]"), real


def _date_block(text: pa.ChunkedArray, pattern: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Days of one block of trimmed text, the mask of real dates in ``pattern``'s form and
    the mask of non-null cells."""
    ok = pc.fill_null(pc.match_substring_regex(text, pattern), False)
    days, real = _days_from_text(pc.if_else(ok, text, "0000-01-01"))
    return days, _mask(ok) & real, _mask(pc.is_valid(text))


def _parse_datetime(raw: pd.Series, kind: Kind, nullable: bool) -> Parsed:
    """Dates (``YYYY-MM-DD``, midnight) and ISO-8601 timestamps (a zone is converted to UTC)
    from text, or datetime storage (a date column takes the calendar date in the value's own
    zone). ``9999-12-31`` (any time that day) is null in a nullable column (open-ended);
    other dates outside ``FIRST_DATE`` .. ``LAST_DATE`` are rejected."""
    failed: dict[str, np.ndarray] = {}
    if pd.api.types.is_datetime64_any_dtype(raw):
        values = raw
        if getattr(values.dt, "tz", None) is not None:
            values = (
                values.dt.tz_localize(None)
                if kind == "date"
                else (values.dt.tz_convert("UTC").dt.tz_localize(None))
            )
        loaded = np.array(values.to_numpy(), copy=True)  # own unit (any range); ours to edit
        valid = ~np.isnat(loaded)
        days = loaded.astype("datetime64[D]")  # a new array
        stamps: np.ndarray | None = days if kind == "date" else loaded  # a date: its calendar day
    else:
        pattern = DATE_RE if kind == "date" else TIMESTAMP_RE
        blocks = [_date_block(text, pattern) for text in _text_blocks(raw)] or [
            (np.zeros(0, "datetime64[D]"), np.zeros(0, bool), np.zeros(0, bool))
        ]
        days = np.concatenate([b[0] for b in blocks])
        valid = np.concatenate([b[1] for b in blocks])
        failed[f"must be {_KIND_TEXT[kind]}"] = np.concatenate([b[2] for b in blocks]) & ~valid
        del blocks
        stamps = days if kind == "date" else None
    if nullable:
        valid &= days != OPEN_END
    outside = valid & ((days < FIRST_DATE) | (days > LAST_DATE))
    failed[
        f"must be between {FIRST_DATE} and {LAST_DATE}"
        + ("" if not nullable else f" ({OPEN_END} means no date: null)")
    ] = outside
    valid &= ~outside
    del outside
    if stamps is None:  # timestamp text: pandas' ISO-8601 parser, only for rows already checked
        result = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
        if valid.any():
            kept = raw[valid].astype("string").str.strip()
            parsed = pd.to_datetime(kept, errors="coerce", format="ISO8601", utc=True)
            result[valid] = parsed.dt.tz_localize(None).astype("datetime64[ns]")
            failed[f"must be {_KIND_TEXT[kind]}"] = failed[f"must be {_KIND_TEXT[kind]}"] | (
                valid & result.isna().to_numpy()
            )
    else:
        stamps[~valid] = np.datetime64("NaT")  # stamps is this function's own array
        result = pd.Series(stamps.astype("datetime64[ns]"), index=raw.index)
    out = Parsed(result)
    for rule, mask in failed.items():
        out.fail(rule, mask)
    return out


def _parse_bool(raw: pd.Series) -> Parsed:
    if pd.api.types.is_bool_dtype(raw):
        return Parsed(raw.astype("boolean"))
    text = raw.astype("string").str.strip().str.lower()
    out = pd.Series(pd.NA, index=raw.index, dtype="boolean")
    out[text.isin(_TRUE).fillna(False).astype(bool)] = True
    out[text.isin(_FALSE).fillna(False).astype(bool)] = False
    parsed = Parsed(out)
    was = (text.notna() & (text != "")).fillna(False).to_numpy(bool)
    parsed.fail(f"must be {_KIND_TEXT['bool']}", was & out.isna().to_numpy())
    return parsed


def _parse_text(raw: pd.Series) -> pd.Series:
    """Text trimmed, "" null; a CSV column already clean is kept as it is (no copy)."""
    text = raw.astype("string")
    arr = _arrow_text(text)
    if pc.any(pc.match_substring_regex(arr, r"^\s|\s$|^$")).as_py():
        return text.str.strip().replace("", pd.NA)
    return text


def _parse_column(raw: pd.Series, col: Col) -> Parsed:
    """Parse one column; values that fail a rule become null and their rows are reported."""
    if col.kind == "str":
        return Parsed(_parse_text(raw))
    if col.kind in ("float", "int"):
        return _parse_number(raw, col.kind)
    if col.kind in ("date", "timestamp"):
        return _parse_datetime(raw, col.kind, col.nullable)
    if col.kind == "bool":
        return _parse_bool(raw)
    raise ValueError(f"unknown column kind {col.kind!r}")


_KIND_TEXT = {
    "str": "text",
    "int": "a whole number",
    "float": "a number",
    "date": "an ISO date (YYYY-MM-DD)",
    "timestamp": "an ISO-8601 timestamp",
    "bool": "true/false",
}


def _extra_column(raw: pd.Series) -> pd.Series:
    """A column outside the contract in a frame: numeric when every value parses, text
    otherwise; non-text storage is kept as it is (CSV columns: :func:`_extra_arrow`)."""
    if not _is_text(raw):
        return raw
    num = pd.to_numeric(raw, errors="coerce")
    if num.notna().sum() == raw.notna().sum() and raw.notna().any():
        return num
    return raw.astype("string")


def _extra_arrow(text: pa.ChunkedArray) -> pa.ChunkedArray:
    """A CSV column outside the contract: whole numbers, else numbers when every value parses,
    text otherwise; all in Arrow, so 20,000 such columns are typed in about a second."""
    if text.null_count < len(text):
        for typ in (pa.int64(), pa.float64()):
            try:
                return pc.cast(text, typ)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
    return text


TextColumns = dict[str, "pd.Series | pa.ChunkedArray"]


def _text_columns(raw: pd.DataFrame | pa.Table) -> TextColumns:
    """A table's columns by name (Arrow columns of a CSV, or a frame's Series on a 0..n-1
    index), so they can be taken one by one (a wide frame is slow to take columns out of)."""
    if isinstance(raw, pa.Table):
        return dict(zip(raw.column_names, raw.columns, strict=True))
    raw = raw.reset_index(drop=True)
    return {name: raw[name] for name in raw.columns}


def _to_frame(columns: dict[str, pa.ChunkedArray]) -> pd.DataFrame:
    """Arrow columns as one frame (text as the pandas ``string`` dtype), freed as converted."""
    return pa.table(columns).to_pandas(
        split_blocks=True,
        self_destruct=True,
        types_mapper={pa.string(): pd.StringDtype(), pa.large_string(): pd.StringDtype()}.get,
    )


def _parse_table(
    table: Table, columns: TextColumns, n_rows: int, source: str
) -> tuple[pd.DataFrame, list[Problem], dict[str, set]]:
    """Parse the contract columns; returns the frame, type problems and, per column, the rows
    whose value failed to parse (so they are not reported a second time as nulls).

    ``columns`` (see :func:`_text_columns`) is emptied as they are parsed, so the text of a
    parsed column is freed when nothing else holds it."""
    problems: list[Problem] = []
    order = list(columns)
    missing = [c.name for c in table.columns if c.required and c.name not in columns]
    for name in missing:
        problems.append(Problem(table.name, name, "required column is missing"))
    index = pd.RangeIndex(n_rows)
    parsed: dict[str, pd.Series] = {}
    extra_arrow: dict[str, pa.ChunkedArray] = {}
    type_failed: dict[str, set] = {}
    for name in order:
        value = columns.pop(name)
        col = table.col(name)
        if col is None:
            if isinstance(value, pa.ChunkedArray):
                extra_arrow[name] = _extra_arrow(value)
            else:
                parsed[name] = _extra_column(value)
            continue
        text = (
            pd.Series(pd.arrays.ArrowStringArray(value), index=index)
            if isinstance(value, pa.ChunkedArray)
            else value
        )
        del value
        result = _parse_column(text, col)
        for rule, bad in result.failed.items():
            problems.append(
                Problem(table.name, name, rule, int(bad.sum()), _examples(text[bad], source))
            )
            type_failed.setdefault(name, set()).update(index[bad])
        values = result.values
        if col.kind == "bool" and not col.nullable and not values.isna().any():
            values = values.astype(bool)
        parsed[name] = values
        del text, result
        pa.default_memory_pool().release_unused()  # freed text back to the OS, not kept by Arrow
    frame = pd.DataFrame(parsed, index=index)
    if extra_arrow:
        frame = pd.concat([frame, _to_frame(extra_arrow).set_axis(index)], axis=1)
        if list(frame.columns) != order:
            frame = frame[order]
    return frame, problems, type_failed


# ----------------------------------------------------------------------------- rules (pandera)


def _schema(table: Table):
    """Null, range and allowed-value rules; unique ids and foreign keys: :func:`_key_problems`."""
    import pandera.pandas as pa

    columns = {}
    for col in table.columns:
        checks = []
        if col.ge is not None:
            checks.append(pa.Check.ge(col.ge, error=f"must be >= {col.ge:g}"))
        if col.gt is not None:
            checks.append(pa.Check.gt(col.gt, error=f"must be > {col.gt:g}"))
        if col.le is not None:
            checks.append(pa.Check.le(col.le, error=f"must be <= {col.le:g}"))
        if col.isin is not None:
            checks.append(
                pa.Check.isin(list(col.isin), error=f"must be one of {', '.join(col.isin)}")
            )
        columns[col.name] = pa.Column(
            checks=checks,
            nullable=col.nullable,
            required=False,
        )
    return pa.DataFrameSchema(columns, name=table.name, coerce=False, strict=False)


def _duplicated(values: pd.Series) -> np.ndarray:
    """Rows whose (non-null) value occurs more than once. Text is first checked by sorting
    with Arrow (a hash table of millions of strings takes several times their size); only
    when there are duplicates are their rows located."""
    if _is_text(values):
        arr = _arrow_text(values).drop_null()
        ordered = arr.take(pc.array_sort_indices(arr))
        if len(arr) < 2 or not pc.any(pc.equal(ordered[1:], ordered[:-1])).as_py():
            return np.zeros(len(values), bool)
    return (values.duplicated(keep=False) & values.notna()).to_numpy(bool)


def _orphans(values: pd.Series, keys: pd.Series) -> np.ndarray:
    """Rows whose (non-null) value is not among ``keys`` (compared as text, with Arrow)."""
    arr = _arrow_text(values)
    known = pc.unique(_arrow_text(keys).combine_chunks().drop_null().cast(arr.type))
    return _mask(pc.is_valid(arr)) & ~_mask(pc.is_in(arr, value_set=known))


def _key_problems(
    table: Table, df: pd.DataFrame, present: Mapping[str, pd.DataFrame], source: str
) -> list[Problem]:
    """Unique ids and foreign keys (a reference is checked when its table is present)."""
    problems = []
    for col in table.columns:
        if col.name not in df.columns:
            continue
        if col.unique:
            bad = _duplicated(df[col.name])
            if bad.any():
                problems.append(
                    Problem(
                        table.name,
                        col.name,
                        "must be unique (duplicate ids)",
                        int(bad.sum()),
                        _examples(df.loc[bad, col.name], source),
                    )
                )
        if col.ref is not None:
            ref_table, ref_col = col.ref.split(".")
            if ref_table in present and ref_col in present[ref_table].columns:
                bad = _orphans(df[col.name], present[ref_table][ref_col])
                if bad.any():
                    problems.append(
                        Problem(
                            table.name,
                            col.name,
                            f"foreign key must match {col.ref} (orphan)",
                            int(bad.sum()),
                            _examples(df.loc[bad, col.name], source),
                        )
                    )
    return problems


def _row_rule_failures(table: Table, df: pd.DataFrame, source: str) -> list[Problem]:
    problems = []
    for rule in table.rules:
        if rule.left not in df.columns or rule.right not in df.columns:
            continue
        left, right = df[rule.left], df[rule.right]
        both = left.notna() & right.notna()
        ok = {">": left > right, ">=": left >= right, "<=": left <= right}[rule.op]
        bad = both & ~ok.fillna(True).astype(bool)
        if bad.any():
            shown = df.loc[bad, [rule.left, rule.right]].head(MAX_EXAMPLES)
            examples = [
                f"{_row_label(i, source)}: {rule.left}={format_value(r[rule.left])}, {rule.right}={format_value(r[rule.right])}"
                for i, r in shown.iterrows()
            ]
            problems.append(
                Problem(table.name, rule.left, f"must be {rule.name}", int(bad.sum()), examples)
            )
    return problems


def _currency_problems(
    tables: Mapping[str, pd.DataFrame], sources: Mapping[str, str]
) -> list[Problem]:
    """Every non-reporting currency used must have an fx rate (when any currency is used)."""
    problems = []
    rates = set(tables["fx_rates"]["currency"].dropna()) if "fx_rates" in tables else set()
    for name in ("subscriptions", "invoices"):
        df = tables.get(name)
        if df is None or "currency" not in df.columns:
            continue
        cur = df["currency"]
        bad = cur.notna() & (cur != REPORTING_CURRENCY) & ~cur.isin(rates)
        if bad.any():
            problems.append(
                Problem(
                    name,
                    "currency",
                    f"needs a rate in fx_rates (reporting currency is {REPORTING_CURRENCY})",
                    int(bad.sum()),
                    _examples(df.loc[bad, "currency"], sources[name]),
                )
            )
    return problems


def validate_tables(
    tables: Mapping[str, pd.DataFrame],
    *,
    sources: Mapping[str, str] | None = None,
    data_dir: str | os.PathLike | None = None,
) -> dict[str, pd.DataFrame]:
    """Parse and validate in-memory tables against the contract; return them typed.

    Every problem of every table is collected, then one :class:`DataValidationError` lists
    them all. Tables not in the contract pass through untouched.
    """
    return _validate(dict(tables), sources=sources, data_dir=data_dir)


def _validate(
    tables: dict[str, pd.DataFrame | pa.Table],
    *,
    sources: Mapping[str, str] | None = None,
    data_dir: str | os.PathLike | None = None,
) -> dict[str, pd.DataFrame]:
    """:func:`validate_tables`, emptying ``tables`` as it goes: when the caller holds no other
    reference (``load_tables``), each raw text column is freed once parsed. A table may also
    be an Arrow table of text (a CSV file as read)."""
    import pandera.pandas as pandera

    sources = dict(sources or {})
    problems: list[Problem] = []
    parsed: dict[str, pd.DataFrame] = {}
    type_failed: dict[str, dict[str, set]] = {}
    for name in list(tables):
        raw = tables.pop(name)
        table = CONTRACT.get(name)
        if table is None:
            parsed[name] = raw if isinstance(raw, pd.DataFrame) else _to_frame(_text_columns(raw))
            continue
        source = sources.setdefault(name, "frame")
        if len(raw) == 0:
            problems.append(Problem(name, None, "table is empty (no data rows)"))
            parsed[name] = raw if isinstance(raw, pd.DataFrame) else _to_frame(_text_columns(raw))
            continue
        n_rows = len(raw)
        columns = _text_columns(raw)
        del raw  # the columns are freed one by one as they are parsed
        df, found, type_failed[name] = _parse_table(table, columns, n_rows, source)
        problems += found
        parsed[name] = df
    for name, df in parsed.items():
        table = CONTRACT.get(name)
        if table is None or len(df) == 0:
            continue
        source = sources[name]
        try:
            contract = [c.name for c in table.columns if c.name in df.columns]
            _schema(table).validate(df[contract], lazy=True)  # pandera copies what it is given
        except pandera.errors.SchemaErrors as err:
            problems += _pandera_problems(
                name, err.failure_cases, df, source, type_failed.get(name, {})
            )
        problems += _key_problems(table, df, parsed, source)
        problems += _row_rule_failures(table, df, source)
    problems += _currency_problems(parsed, sources)
    if problems:
        raise DataValidationError(problems, data_dir)
    return parsed


_PANDERA_RULES = {
    "not_nullable": "must not be empty (null)",
}


def _pandera_problems(
    name: str, cases: pd.DataFrame, df: pd.DataFrame, source: str, type_failed: dict[str, set]
) -> list[Problem]:
    problems = []
    cases = cases[cases["index"].notna()] if "index" in cases else cases
    for (column, check), group in cases.groupby(["column", "check"], sort=False, dropna=False):
        if check == "column_in_dataframe":
            continue  # missing columns are reported by the parser, once
        rule = _PANDERA_RULES.get(str(check), str(check))
        idx = pd.unique(group["index"])
        if check == "not_nullable":  # a value that failed to parse is reported as a type problem
            idx = [i for i in idx if i not in type_failed.get(str(column), set())]
            if not idx:
                continue
        values = (
            df.loc[[i for i in idx if i in df.index], column]
            if column in df.columns
            else group["failure_case"]
        )
        problems.append(Problem(name, str(column), rule, len(idx), _examples(values, source)))
    return problems
