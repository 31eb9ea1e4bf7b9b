"""Parsing and validating in-memory tables against the contract.

Parsed types: ids and labels are ``str`` (pandas string dtype), money and quantities ``float64``,
counts ``Int64``, dates ``datetime64[ns]`` (midnight), timestamps ``datetime64[ns]``, flags
``bool`` (``boolean`` when nullable). Extra columns are kept: numeric when every value parses,
text otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from revlib.data.contract import (
    CONTRACT,
    MAX_EXAMPLES,
    REPORTING_CURRENCY,
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


def _parse_column(raw: pd.Series, kind: Kind) -> pd.Series:
    """Parse one column; values that fail to parse become null (reported by the caller)."""
    if kind == "str":
        return raw.astype("string").str.strip().replace("", pd.NA)
    if kind in ("float", "int"):
        num = pd.to_numeric(raw, errors="coerce").astype("float64")
        if kind == "int":
            whole = num.isna() | (num == np.floor(num))
            num = num.where(whole)
            return num.astype("Int64")
        return num
    if kind in ("date", "timestamp"):
        if pd.api.types.is_datetime64_any_dtype(raw):
            parsed = raw
            if getattr(parsed.dt, "tz", None) is not None:
                parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
        else:
            text = raw.astype("string").str.strip()
            parsed = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
            parsed = parsed.dt.tz_localize(None)
        parsed = parsed.astype("datetime64[ns]")
        return parsed.dt.normalize() if kind == "date" else parsed
    if kind == "bool":
        if pd.api.types.is_bool_dtype(raw):
            return raw.astype("boolean")
        text = raw.astype("string").str.strip().str.lower()
        out = pd.Series(pd.NA, index=raw.index, dtype="boolean")
        out[text.isin(_TRUE).fillna(False).astype(bool)] = True
        out[text.isin(_FALSE).fillna(False).astype(bool)] = False
        return out
    raise ValueError(f"unknown column kind {kind!r}")


_KIND_TEXT = {
    "str": "text",
    "int": "a whole number",
    "float": "a number",
    "date": "an ISO date (YYYY-MM-DD)",
    "timestamp": "an ISO-8601 timestamp",
    "bool": "true/false",
}


def _parse_table(
    table: Table, raw: pd.DataFrame, source: str
) -> tuple[pd.DataFrame, list[Problem], dict[str, set]]:
    """Parse the contract columns; returns the frame, type problems and, per column, the rows
    whose value failed to parse (so they are not reported a second time as nulls)."""
    problems: list[Problem] = []
    missing = [c.name for c in table.columns if c.required and c.name not in raw.columns]
    for name in missing:
        problems.append(Problem(table.name, name, "required column is missing"))
    df = raw.copy()
    type_failed: dict[str, set] = {}
    for col in table.columns:
        if col.name not in df.columns:
            continue
        parsed = _parse_column(df[col.name], col.kind)
        was_value = df[col.name].notna()
        if df[col.name].dtype == object or pd.api.types.is_string_dtype(df[col.name]):
            was_value &= df[col.name].astype("string").str.strip().fillna("") != ""
        bad = was_value & parsed.isna()
        if bad.any():
            problems.append(
                Problem(
                    table.name,
                    col.name,
                    f"must be {_KIND_TEXT[col.kind]}",
                    int(bad.sum()),
                    _examples(df.loc[bad, col.name], source),
                )
            )
            type_failed.setdefault(col.name, set()).update(df.index[bad])
        if col.kind == "bool" and not col.nullable and not parsed.isna().any():
            parsed = parsed.astype(bool)
        df[col.name] = parsed
    known = {c.name for c in table.columns}
    for name in df.columns:
        if name in known or df[name].dtype != object and not pd.api.types.is_string_dtype(df[name]):
            continue
        num = pd.to_numeric(df[name], errors="coerce")
        if num.notna().sum() == df[name].notna().sum() and df[name].notna().any():
            df[name] = num
        else:
            df[name] = df[name].astype("string")
    return df, problems, type_failed


# ----------------------------------------------------------------------------- rules (pandera)


def _schema(table: Table, present: Mapping[str, pd.DataFrame]):
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
        if col.ref is not None:
            ref_table, ref_col = col.ref.split(".")
            if ref_table in present and ref_col in present[ref_table].columns:
                keys = set(present[ref_table][ref_col].dropna().astype(str))
                checks.append(
                    pa.Check(
                        lambda s, keys=keys: s.astype(str).isin(keys),
                        element_wise=False,
                        error=f"foreign key must match {col.ref} (orphan)",
                    )
                )
        columns[col.name] = pa.Column(
            checks=checks,
            nullable=col.nullable,
            unique=col.unique,
            required=False,
        )
    return pa.DataFrameSchema(columns, name=table.name, coerce=False, strict=False)


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
    import pandera.pandas as pa

    sources = dict(sources or {})
    problems: list[Problem] = []
    parsed: dict[str, pd.DataFrame] = {}
    type_failed: dict[str, dict[str, set]] = {}
    for name, raw in tables.items():
        table = CONTRACT.get(name)
        if table is None:
            parsed[name] = raw
            continue
        source = sources.setdefault(name, "frame")
        if len(raw) == 0:
            problems.append(Problem(name, None, "table is empty (no data rows)"))
            parsed[name] = raw
            continue
        df, found, type_failed[name] = _parse_table(table, raw.reset_index(drop=True), source)
        problems += found
        parsed[name] = df
    for name, df in parsed.items():
        table = CONTRACT.get(name)
        if table is None or len(df) == 0:
            continue
        source = sources[name]
        try:
            _schema(table, parsed).validate(df, lazy=True)
        except pa.errors.SchemaErrors as err:
            problems += _pandera_problems(
                name, err.failure_cases, df, source, type_failed.get(name, {})
            )
        problems += _row_rule_failures(table, df, source)
    problems += _currency_problems(parsed, sources)
    if problems:
        raise DataValidationError(problems, data_dir)
    return parsed


_PANDERA_RULES = {
    "not_nullable": "must not be empty (null)",
    "field_uniqueness": "must be unique (duplicate ids)",
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
