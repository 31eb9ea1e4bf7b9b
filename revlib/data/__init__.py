"""The data contract: reading, type-parsing and validating a data directory of tables.

This is the only module that reads or writes files. Everything else works on the in-memory
DataFrames it returns. The contract is documented in ``docs/data-contract.md`` and implements
``shared/spec/data-contract.md`` v1.

Parsed types: ids and labels are ``str`` (pandas string dtype), money and quantities ``float64``,
counts ``Int64``, dates ``datetime64[ns]`` (midnight), timestamps ``datetime64[ns]``, flags
``bool`` (``boolean`` when nullable). Extra columns are kept: numeric when every value parses,
text otherwise.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

Kind = Literal["str", "int", "float", "date", "timestamp", "bool"]
REPORTING_CURRENCY = "USD"
REGIONS = ("NA", "EU", "APAC", "LATAM", "OTHER")
SEGMENTS = ("smb", "mid_market", "enterprise", "strategic")
OPPORTUNITY_TYPES = ("new_business", "expansion", "renewal")
OPPORTUNITY_STATUSES = ("open", "won", "lost")
TOUCH_TYPES = ("awareness", "content", "demo", "sales", "closing")
SPEND_CATEGORIES = ("sales", "marketing")
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class Col:
    """One column of the contract: its type and the rules its values follow."""

    name: str
    kind: Kind
    required: bool = True  # the column must be present in the file
    nullable: bool = False
    unique: bool = False
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    isin: tuple[str, ...] | None = None
    ref: str | None = None  # foreign key, "table.column"
    doc: str = ""


@dataclass(frozen=True)
class RowRule:
    """A rule across columns of one row, e.g. ``end_date > start_date``; nulls pass."""

    left: str
    op: Literal[">", ">=", "<="]
    right: str

    @property
    def name(self) -> str:
        return f"{self.left} {self.op} {self.right}"


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Col, ...]
    rules: tuple[RowRule, ...] = ()
    doc: str = ""

    def col(self, name: str) -> Col | None:
        return next((c for c in self.columns if c.name == name), None)


def _money(name: str, *, gt: bool = False, **kw: Any) -> Col:
    return Col(name, "float", gt=0 if gt else None, ge=None if gt else 0, **kw)


CONTRACT: dict[str, Table] = {
    t.name: t
    for t in [
        Table(
            "accounts",
            (
                Col("account_id", "str", unique=True),
                Col("name", "str", required=False, nullable=True),
                Col("industry", "str", required=False, nullable=True),
                Col("employees", "int", required=False, nullable=True, ge=0),
                Col("region", "str", isin=REGIONS),
                Col("country", "str", required=False, nullable=True),
                Col("segment", "str", required=False, nullable=True, isin=SEGMENTS),
                Col("created_at", "date"),
                Col("acquisition_channel", "str", required=False, nullable=True),
            ),
            doc="Customers and prospects.",
        ),
        Table(
            "subscriptions",
            (
                Col("subscription_id", "str", unique=True),
                Col("account_id", "str", ref="accounts.account_id"),
                Col("product", "str"),
                Col("start_date", "date"),
                Col("end_date", "date", nullable=True, doc="exclusive; null = still active"),
                _money("mrr", doc="monthly recurring amount in `currency`"),
                Col("currency", "str", required=False, nullable=True),
                Col("quantity", "int", required=False, nullable=True, ge=0),
            ),
            rules=(RowRule("end_date", ">", "start_date"),),
            doc="Recurring revenue line items.",
        ),
        Table(
            "usage",
            (
                Col("account_id", "str", ref="accounts.account_id"),
                Col("month", "date"),
                Col("metric", "str"),
                Col("quantity", "float", ge=0),
                Col("included", "float", required=False, nullable=True, ge=0),
                Col("overage_price", "float", required=False, nullable=True, ge=0),
            ),
            doc="Monthly usage per account and metric.",
        ),
        Table(
            "opportunities",
            (
                Col("opportunity_id", "str", unique=True),
                Col("account_id", "str", ref="accounts.account_id"),
                Col("type", "str", isin=OPPORTUNITY_TYPES),
                Col("product", "str", required=False, nullable=True),
                _money("amount", doc="ARR value of the deal"),
                Col("created_date", "date"),
                Col("close_date", "date"),
                Col("stage", "str"),
                Col("status", "str", isin=OPPORTUNITY_STATUSES),
                Col("owner", "str", required=False, nullable=True),
                Col("discount_pct", "float", required=False, nullable=True, ge=0, le=100),
            ),
            rules=(RowRule("close_date", ">=", "created_date"),),
            doc="CRM deals.",
        ),
        Table(
            "opportunity_history",
            (
                Col("opportunity_id", "str", ref="opportunities.opportunity_id"),
                Col("changed_at", "timestamp"),
                Col("stage", "str"),
                _money("amount", required=False, nullable=True),
                Col("close_date", "date", required=False, nullable=True),
            ),
            doc="One row per change of a deal.",
        ),
        Table(
            "price_observations",
            (
                Col("period", "date"),
                Col("product", "str"),
                _money("price", gt=True),
                Col("units", "float", ge=0),
                _money("unit_cost", required=False, nullable=True),
                Col("promo", "float", required=False, nullable=True, ge=0, le=1),
            ),
            doc="Demand at a price; group columns are named by the analysis.",
        ),
        Table(
            "price_tests",
            (
                Col("test_id", "str"),
                Col("variant", "str"),
                Col("product", "str"),
                Col("region", "str", required=False, nullable=True),
                _money("price", gt=True),
                Col("visitors", "int", gt=0),
                Col("conversions", "int", ge=0),
                Col("start_date", "date"),
                Col("end_date", "date"),
            ),
            rules=(
                RowRule("conversions", "<=", "visitors"),
                RowRule("end_date", ">=", "start_date"),
            ),
            doc="Conversion experiments at tested price points.",
        ),
        Table(
            "journeys",
            (
                Col("journey_id", "str", unique=True),
                Col("account_id", "str", required=False, nullable=True, ref="accounts.account_id"),
                Col("converted", "bool"),
                Col("converted_at", "timestamp", nullable=True),
                _money("revenue"),
                Col(
                    "channel", "str", required=False, nullable=True, doc="extension: source channel"
                ),
                Col("lead_at", "timestamp", required=False, nullable=True, doc="extension"),
                Col("trial_at", "timestamp", required=False, nullable=True, doc="extension"),
            ),
            doc="Marketing journeys and their outcome.",
        ),
        Table(
            "touchpoints",
            (
                Col("journey_id", "str", ref="journeys.journey_id"),
                Col("touched_at", "timestamp"),
                Col("channel", "str"),
                Col("touch_type", "str", required=False, nullable=True, isin=TOUCH_TYPES),
            ),
            doc="Marketing touches within journeys.",
        ),
        Table(
            "funnel",
            (
                Col("month", "date"),
                Col("channel", "str"),
                Col("visitors", "int", ge=0),
                Col("leads", "int", ge=0),
                Col("trials", "int", ge=0),
                Col("customers", "int", ge=0),
                Col(
                    "expansions",
                    "int",
                    required=False,
                    nullable=True,
                    ge=0,
                    doc="expansion events in the month, customers of any age",
                ),
            ),
            rules=(
                RowRule("leads", "<=", "visitors"),
                RowRule("trials", "<=", "leads"),
                RowRule("customers", "<=", "trials"),
            ),
            doc="Extension: monthly funnel counts by acquisition channel (visitor -> lead -> trial -> paid -> expansion).",
        ),
        Table(
            "spend",
            (
                Col("month", "date"),
                Col("category", "str", isin=SPEND_CATEGORIES),
                Col("channel", "str", required=False, nullable=True),
                _money("amount"),
            ),
            doc="Sales and marketing spend by month (and channel).",
        ),
        Table(
            "financials",
            (
                Col("month", "date", unique=True),
                Col("revenue", "float"),
                Col("cogs", "float"),
                Col("operating_income", "float", required=False, nullable=True),
                Col("free_cash_flow", "float", required=False, nullable=True),
            ),
            doc="Monthly recognized revenue, cost of revenue and income.",
        ),
        Table(
            "invoices",
            (
                Col("invoice_id", "str", unique=True),
                Col("account_id", "str", ref="accounts.account_id"),
                Col("issued_date", "date"),
                Col("due_date", "date"),
                _money("amount", gt=True),
                Col("currency", "str", required=False, nullable=True),
                Col("paid_date", "date", nullable=True),
                _money("paid_amount", nullable=True),
            ),
            rules=(RowRule("due_date", ">=", "issued_date"),),
            doc="Invoices and their payment (quote-to-cash).",
        ),
        Table(
            "fx_rates",
            (
                Col("currency", "str", unique=True),
                Col("rate_to_reporting", "float", gt=0),
            ),
            doc="One constant rate per currency: reporting amount = amount x rate_to_reporting.",
        ),
        Table(
            "health_signals",
            (
                Col("account_id", "str", ref="accounts.account_id"),
                Col("month", "date"),
                Col("logins", "float", required=False, nullable=True, ge=0),
                Col("active_users", "float", required=False, nullable=True, ge=0),
                Col("seats", "float", required=False, nullable=True, ge=0),
                Col("features_adopted", "float", required=False, nullable=True, ge=0, le=1),
                Col("api_calls", "float", required=False, nullable=True, ge=0),
                Col("data_quality", "float", required=False, nullable=True, ge=0, le=1),
                Col("roi_multiple", "float", required=False, nullable=True, ge=0),
                Col("leads_generated", "float", required=False, nullable=True, ge=0),
                Col("payment_late_days", "float", required=False, nullable=True, ge=0),
                Col("nps", "float", required=False, nullable=True, ge=0, le=10),
                Col("support_tickets", "float", required=False, nullable=True, ge=0),
                Col("exec_engagement", "bool", required=False, nullable=True),
                Col("team_growth_pct", "float", required=False, nullable=True),
                Col("feature_requests", "float", required=False, nullable=True, ge=0),
                Col("competitive_evaluation", "bool", required=False, nullable=True),
            ),
            doc="Monthly health signals per account.",
        ),
    ]
}
TABLE_NAMES: tuple[str, ...] = tuple(CONTRACT)


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


# ----------------------------------------------------------------------------- reading

_TRUE = {"true", "t", "1", "yes", "y"}
_FALSE = {"false", "f", "0", "no", "n"}


def find_table_file(data_dir: str | os.PathLike, name: str) -> Path | None:
    """The file holding table ``name`` in ``data_dir`` (``.parquet`` preferred over ``.csv``)."""
    for ext in (".parquet", ".csv"):
        path = Path(data_dir) / f"{name}{ext}"
        if path.is_file():
            return path
    return None


def available_tables(data_dir: str | os.PathLike) -> list[str]:
    """Contract tables present in ``data_dir``, in contract order."""
    return [t for t in TABLE_NAMES if find_table_file(data_dir, t) is not None]


def read_raw(path: str | os.PathLike) -> pd.DataFrame:
    """Read one table file as text columns (Parquet as stored), before contract parsing.

    CSV: UTF-8, every column as text, empty cells null, the text ``NA`` kept as a value.
    """
    path = Path(path)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    # Everything as text first: types are parsed (and failures reported) by the contract.
    # keep_default_na=False keeps the region code "NA" (North America) a value, not a null.
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8")


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
                f"{_row_label(i, source)}: {rule.left}={_fmt(r[rule.left])}, {rule.right}={_fmt(r[rule.right])}"
                for i, r in shown.iterrows()
            ]
            problems.append(
                Problem(table.name, rule.left, f"must be {rule.name}", int(bad.sum()), examples)
            )
    return problems


def _fmt(val: Any) -> str:
    if isinstance(val, pd.Timestamp):
        return val.date().isoformat() if val == val.normalize() else val.isoformat()
    return str(val)


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
    if not data_dir.is_dir():
        raise DataValidationError(
            [Problem("(data directory)", None, f"not found: {data_dir}")], data_dir
        )
    wanted = list(tables) if tables is not None else available_tables(data_dir)
    unknown = [t for t in [*wanted, *required] if t not in CONTRACT]
    if unknown:
        raise ValueError(f"unknown table(s) {unknown}; the contract has {list(TABLE_NAMES)}")
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
    raw: dict[str, pd.DataFrame] = {}
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
            raw[name] = read_raw(path)
            sources[name] = "csv" if path.suffix == ".csv" else "parquet"
        except UnicodeDecodeError as err:
            problems.append(
                Problem(
                    name, None, f"{path.name} is not UTF-8 text (byte {err.start}: {err.reason})"
                )
            )
        except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError, ValueError) as err:
            problems.append(Problem(name, None, f"{path.name} cannot be read: {str(err).strip()}"))
    try:
        parsed = validate_tables(raw, sources=sources, data_dir=data_dir)
    except DataValidationError as err:
        raise DataValidationError(problems + err.problems, data_dir) from None
    if problems:
        raise DataValidationError(problems, data_dir)
    return parsed


def to_reporting_currency(
    df: pd.DataFrame, fx_rates: pd.DataFrame | None, amount_columns: Iterable[str]
) -> pd.DataFrame:
    """Convert money columns to the reporting currency at one constant rate per currency.

    Rows without a ``currency`` (or in the reporting currency) are unchanged. Returns a copy
    whose ``currency`` column is the reporting currency.
    """
    if "currency" not in df.columns:
        return df
    out = df.copy()
    rates = {REPORTING_CURRENCY: 1.0}
    if fx_rates is not None:
        rates |= dict(zip(fx_rates["currency"], fx_rates["rate_to_reporting"], strict=True))
    factor = out["currency"].fillna(REPORTING_CURRENCY).map(rates)
    if factor.isna().any():
        missing = sorted(set(out.loc[factor.isna(), "currency"]))
        raise ValueError(f"no fx rate for currency {missing}")
    for col in amount_columns:
        out[col] = out[col] * factor.astype(float)
    out["currency"] = REPORTING_CURRENCY
    return out


# ----------------------------------------------------------------------------- writing


def _csv_ready(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for name in out.columns:
        col = out[name]
        if pd.api.types.is_datetime64_any_dtype(col):
            is_date = bool((col.dropna() == col.dropna().dt.normalize()).all())
            out[name] = col.dt.strftime("%Y-%m-%d" if is_date else "%Y-%m-%dT%H:%M:%S")
    return out


def write_csv(
    df: pd.DataFrame, path: str | os.PathLike, *, float_format: str | None = None
) -> Path:
    """Write a table as deterministic CSV (ISO dates, ``\\n`` line ends, no index)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _csv_ready(df).to_csv(path, index=False, lineterminator="\n", float_format=float_format)
    return path


def write_tables(
    tables: Mapping[str, pd.DataFrame],
    out_dir: str | os.PathLike,
    *,
    fmt: str = "csv",
    float_format: str | None = None,
) -> list[Path]:
    """Write each table as ``<out_dir>/<name>.csv`` (deterministic text) or ``.parquet``
    (``fmt="parquet"``: several times faster to write and read for large data)."""
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
    out = Path(out_dir)
    if fmt == "csv":
        return [
            write_csv(df, out / f"{name}.csv", float_format=float_format)
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
        return _fmt(obj)
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


def read_artifact(output_dir: str | os.PathLike, name: str) -> Any:
    """Read back an artifact written by :func:`write_artifacts`."""
    path = Path(output_dir) / name
    return read_json(path) if name.endswith(".json") else pd.read_csv(path)


def contract_markdown() -> str:
    """The contract's tables as Markdown (docs/data-contract.md embeds it; a test keeps them equal)."""
    lines = []
    for t in CONTRACT.values():
        lines += [
            f"### {t.name}",
            "",
            t.doc,
            "",
            "| column | type | required | rules |",
            "|---|---|---|---|",
        ]
        for c in t.columns:
            rules = []
            if not c.nullable:
                rules.append("non-null")
            if c.unique:
                rules.append("unique")
            for sym, val in ((">=", c.ge), (">", c.gt), ("<=", c.le)):
                if val is not None:
                    rules.append(f"{sym} {val:g}")
            if c.isin:
                rules.append("one of " + ", ".join(c.isin))
            if c.ref:
                rules.append(f"-> {c.ref}")
            if c.doc:
                rules.append(c.doc)
            lines.append(
                f"| {c.name} | {c.kind} | {'yes' if c.required else 'no'} | {'; '.join(rules)} |"
            )
        if t.rules:
            lines += [
                "",
                "Row rules: "
                + "; ".join(f"`{r.name}`" for r in t.rules)
                + " (rows with a null pass).",
            ]
        lines.append("")
    return "\n".join(lines)


def read_yaml(path: str | os.PathLike) -> Any:
    """Read a YAML file (rubrics, rule tables, parameter sets)."""
    import yaml

    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


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
