"""The data contract: parsing, validation errors (each bad input of issue 3), writing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from revlib import data

ACCOUNTS = """account_id,name,industry,employees,region,segment,created_at
a1,Acme,technology,120,NA,mid_market,2023-01-05
a2,Bolt,finance,40,EU,smb,2023-02-10
a3,Core,education,2000,APAC,enterprise,2023-03-01
"""
SUBSCRIPTIONS = """subscription_id,account_id,product,start_date,end_date,mrr,currency
s1,a1,growth,2023-01-05,2023-06-01,149,USD
s2,a1,scale,2023-06-01,,299,USD
s3,a2,starter,2023-02-10,2023-09-10,45,EUR
s4,a3,pro,2023-03-01,,749,
"""
OPPORTUNITIES = """opportunity_id,account_id,type,amount,created_date,close_date,stage,status,discount_pct
o1,a1,new_business,1788,2022-12-01,2023-01-05,closed_won,won,0
o2,a2,new_business,540,2023-01-01,2023-02-10,closed_won,won,10
o3,a3,expansion,1200,2023-05-01,2023-07-01,proposal,open,
"""
FX = """currency,rate_to_reporting
EUR,1.1
"""


def write_valid(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in {
        "accounts": ACCOUNTS,
        "subscriptions": SUBSCRIPTIONS,
        "opportunities": OPPORTUNITIES,
        "fx_rates": FX,
    }.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def replace_in(folder: Path, table: str, old: str, new: str) -> None:
    path = folder / f"{table}.csv"
    text = path.read_text(encoding="utf-8")
    assert old in text, f"test setup: {old!r} not in {table}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def valid_dir(tmp_path: Path) -> Path:
    return write_valid(tmp_path / "data")


def problems_of(folder: Path, **kw) -> list[data.Problem]:
    with pytest.raises(data.DataValidationError) as info:
        data.load_tables(folder, **kw)
    return info.value.problems


def test_valid_directory_parses_types(valid_dir: Path) -> None:
    t = data.load_tables(valid_dir)
    assert set(t) == {"accounts", "subscriptions", "opportunities", "fx_rates"}
    acc = t["accounts"]
    assert acc["region"].tolist() == ["NA", "EU", "APAC"]  # "NA" is North America, not null
    assert pd.api.types.is_datetime64_any_dtype(acc["created_at"])
    assert str(acc["employees"].dtype) == "Int64"
    subs = t["subscriptions"]
    assert subs["mrr"].dtype == np.float64
    assert subs["end_date"].isna().sum() == 2
    assert t["opportunities"]["discount_pct"].isna().sum() == 1


def test_extra_columns_are_kept(valid_dir: Path) -> None:
    replace_in(valid_dir, "accounts", "created_at\n", "created_at,score\n")
    for i, line in enumerate(["2023-01-05\n", "2023-02-10\n", "2023-03-01\n"]):
        replace_in(valid_dir, "accounts", line, line.rstrip("\n") + f",{i + 0.5}\n")
    acc = data.load_tables(valid_dir, ["accounts"])["accounts"]
    assert acc["score"].tolist() == [0.5, 1.5, 2.5]


def test_missing_data_directory(tmp_path: Path) -> None:
    (p,) = problems_of(tmp_path / "nope")
    assert "not found" in p.rule


def test_missing_required_table(valid_dir: Path) -> None:
    (valid_dir / "opportunities.csv").unlink()
    (p,) = problems_of(valid_dir, required=["opportunities"])
    assert p.table == "opportunities" and "required table is missing" in p.rule


def test_absent_optional_tables_are_skipped(valid_dir: Path) -> None:
    # the notebooks' loading line: required + optional, where absent optional ones are skipped
    t = data.load_tables(
        valid_dir, ["opportunities", "usage", "invoices"], required=["opportunities"]
    )
    assert set(t) == {"opportunities", "accounts", "fx_rates"}  # + the referenced tables
    (p,) = problems_of(valid_dir, tables=["usage"], required=["usage"])
    assert p.table == "usage" and "required table is missing" in p.rule


def test_missing_column(valid_dir: Path) -> None:
    replace_in(
        valid_dir,
        "subscriptions",
        "subscription_id,account_id,product",
        "subscription_id,account_id,plan",
    )
    (p,) = problems_of(valid_dir)
    assert (p.table, p.column, p.rule) == ("subscriptions", "product", "required column is missing")


def test_text_in_money_column(valid_dir: Path) -> None:
    replace_in(valid_dir, "subscriptions", ",149,", ",one hundred,")
    (p,) = problems_of(valid_dir)
    assert (p.table, p.column, p.count) == ("subscriptions", "mrr", 1)
    assert p.rule == "must be a number"
    assert p.examples == ["line 2: 'one hundred'"]


def test_unparseable_date(valid_dir: Path) -> None:
    replace_in(valid_dir, "accounts", "2023-02-10", "2023-02-30")
    (p,) = problems_of(valid_dir)
    assert (p.table, p.column, p.count) == ("accounts", "created_at", 1)
    assert "ISO date" in p.rule and "line 3" in p.examples[0]


def test_negative_money(valid_dir: Path) -> None:
    replace_in(valid_dir, "opportunities", ",540,", ",-540,")
    (p,) = problems_of(valid_dir)
    assert (p.table, p.column, p.rule, p.count) == ("opportunities", "amount", "must be >= 0", 1)


def test_duplicate_ids(valid_dir: Path) -> None:
    replace_in(valid_dir, "subscriptions", "s2,a1", "s1,a1")
    (p,) = problems_of(valid_dir)
    assert (p.table, p.column, p.count) == ("subscriptions", "subscription_id", 2)
    assert "unique" in p.rule


def test_orphan_foreign_key(valid_dir: Path) -> None:
    replace_in(valid_dir, "subscriptions", "s4,a3", "s4,a9")
    (p,) = problems_of(valid_dir)
    assert (p.table, p.column, p.count) == ("subscriptions", "account_id", 1)
    assert "accounts.account_id" in p.rule and "'a9'" in p.examples[0]


def test_foreign_key_checked_when_only_child_requested(valid_dir: Path) -> None:
    replace_in(valid_dir, "subscriptions", "s4,a3", "s4,a9")
    (p,) = problems_of(valid_dir, tables=["subscriptions"])
    assert p.column == "account_id"


def test_end_before_start(valid_dir: Path) -> None:
    replace_in(valid_dir, "subscriptions", "2023-01-05,2023-06-01", "2023-01-05,2022-06-01")
    (p,) = problems_of(valid_dir)
    assert (p.table, p.column, p.count) == ("subscriptions", "end_date", 1)
    assert p.rule == "must be end_date > start_date"
    assert "end_date=2022-06-01" in p.examples[0]


def test_empty_table(valid_dir: Path) -> None:
    (valid_dir / "fx_rates.csv").write_text("currency,rate_to_reporting\n", encoding="utf-8")
    probs = problems_of(valid_dir)
    assert any(p.table == "fx_rates" and "empty" in p.rule for p in probs)


def test_not_utf8(valid_dir: Path) -> None:
    (valid_dir / "accounts.csv").write_bytes(
        ACCOUNTS.replace("Bolt", "B\u00f6lt").encode("latin-1")
    )
    probs = problems_of(valid_dir)
    assert any(p.table == "accounts" and "not UTF-8" in p.rule for p in probs)


def test_every_problem_reported_at_once(valid_dir: Path) -> None:
    replace_in(valid_dir, "subscriptions", ",149,", ",abc,")
    replace_in(valid_dir, "opportunities", ",540,", ",-540,")
    replace_in(valid_dir, "accounts", ",EU,", ",MARS,")
    replace_in(valid_dir, "opportunities", "o3,a3", "o3,zz")
    probs = problems_of(valid_dir)
    where = {(p.table, p.column) for p in probs}
    assert where == {
        ("subscriptions", "mrr"),
        ("opportunities", "amount"),
        ("accounts", "region"),
        ("opportunities", "account_id"),
    }
    text = data.DataValidationError(probs, valid_dir).report()
    assert (
        "4 problem(s)" in text
        and "accounts.region: must be one of NA, EU, APAC, LATAM, OTHER" in text
    )


def test_currency_without_rate(valid_dir: Path) -> None:
    replace_in(valid_dir, "subscriptions", ",45,EUR", ",45,JPY")
    (p,) = problems_of(valid_dir)
    assert (p.table, p.column) == ("subscriptions", "currency") and "fx_rates" in p.rule


def test_parquet_tables(valid_dir: Path, tmp_path: Path) -> None:
    t = data.load_tables(valid_dir)
    pq = tmp_path / "pq"
    pq.mkdir()
    for name, df in t.items():
        df.to_parquet(pq / f"{name}.parquet")
    back = data.load_tables(pq)
    pd.testing.assert_frame_equal(back["subscriptions"], t["subscriptions"], check_dtype=False)


def test_to_reporting_currency(valid_dir: Path) -> None:
    t = data.load_tables(valid_dir)
    conv = data.to_reporting_currency(t["subscriptions"], t["fx_rates"], ["mrr"])
    assert conv.loc[conv["subscription_id"] == "s3", "mrr"].item() == pytest.approx(49.5)
    assert conv.loc[conv["subscription_id"] == "s4", "mrr"].item() == 749  # no currency = reporting
    assert (conv["currency"] == "USD").all()


def test_write_csv_and_json_are_deterministic(tmp_path: Path, valid_dir: Path) -> None:
    t = data.load_tables(valid_dir)
    a = data.write_artifacts(
        tmp_path / "a",
        {"s.csv": t["subscriptions"], "k.json": {"b": np.float64(1.5), "a": float("nan")}},
    )
    b = data.write_artifacts(
        tmp_path / "b",
        {"s.csv": t["subscriptions"], "k.json": {"b": np.float64(1.5), "a": float("nan")}},
    )
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert data.read_json(tmp_path / "a" / "k.json") == {"a": None, "b": 1.5}
    text = (tmp_path / "a" / "s.csv").read_text()
    assert "2023-01-05,2023-06-01" in text  # ISO dates, no times


def test_write_artifacts_rejects_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="extension must be .csv, .json or .txt"):
        data.write_artifacts(tmp_path, {"x.xlsx": pd.DataFrame()})


def test_unknown_table_name(valid_dir: Path) -> None:
    with pytest.raises(ValueError, match="unknown table"):
        data.load_tables(valid_dir, ["acounts"])


def test_contract_doc_matches_code() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "data-contract.md").read_text(
        encoding="utf-8"
    )
    assert data.contract_markdown().strip() in doc, (
        "docs/data-contract.md is out of date: paste contract_markdown()"
    )


def naive_to_reporting_currency(
    df: pd.DataFrame, fx_rates: pd.DataFrame | None, columns: list[str]
) -> pd.DataFrame:
    """Row-by-row reference: amount x rate of the row's currency (null = reporting)."""
    rates = {"USD": 1.0}
    if fx_rates is not None:
        pairs = zip(fx_rates["currency"], fx_rates["rate_to_reporting"], strict=True)
        rates.update({str(c): float(r) for c, r in pairs})
    out = df.copy()
    for i in range(len(df)):
        cur = df["currency"].iloc[i]
        rate = 1.0 if pd.isna(cur) else rates[str(cur)]
        for col in columns:
            out.iloc[i, out.columns.get_loc(col)] = df[col].iloc[i] * rate
    out["currency"] = "USD"
    return out


@pytest.mark.parametrize("dtype", ["string", object])
def test_to_reporting_currency_equals_row_by_row_reference(dtype) -> None:
    rng = np.random.default_rng(7)
    n = 400
    fx = pd.DataFrame(
        {"currency": ["USD", "EUR", "GBP", "JPY"], "rate_to_reporting": [1.0, 1.08, 1.27, 0.0067]}
    )
    currency = rng.choice(np.array(["USD", "EUR", "GBP", "JPY", None], dtype=object), n)
    df = pd.DataFrame(
        {
            "id": np.arange(n),
            "currency": pd.Series(currency, dtype=dtype),
            "amount": rng.gamma(2.0, 500.0, n),
            "paid": np.where(rng.random(n) < 0.2, np.nan, rng.gamma(2.0, 400.0, n)),
        }
    )
    got = data.to_reporting_currency(df, fx, ["amount", "paid"])
    want = naive_to_reporting_currency(df, fx, ["amount", "paid"])
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert df["currency"].isna().any()  # the input is untouched and had nulls to convert
    np.testing.assert_allclose(
        data.fx_factor(df, fx), np.where(got["amount"] > 0, got["amount"] / df["amount"], 1.0)
    )


def test_fx_factor_without_currency_and_missing_rate() -> None:
    df = pd.DataFrame({"amount": [1.0, 2.0, 3.0]})
    assert data.fx_factor(df, None).tolist() == [1.0, 1.0, 1.0]
    assert data.to_reporting_currency(df, None, ["amount"]) is df
    bad = pd.DataFrame({"amount": [1.0, 2.0], "currency": ["EUR", "CHF"]})
    fx = pd.DataFrame({"currency": ["EUR"], "rate_to_reporting": [1.1]})
    with pytest.raises(ValueError, match=r"no fx rate for currency \['CHF'\]"):
        data.to_reporting_currency(bad, fx, ["amount"])


def test_round_floats_and_bundled_yaml() -> None:
    df = pd.DataFrame({"x": [1.23456789, np.nan], "n": [1, 2], "t": ["a", "b"]})
    out = data.round_floats(df, 3)
    assert out["x"].iloc[0] == 1.235 and np.isnan(out["x"].iloc[1])
    assert out["n"].tolist() == [1, 2] and df["x"].iloc[0] == 1.23456789  # input untouched
    named = data.round_floats(df, 0, columns=["n", "x", "absent"])
    assert named["n"].dtype == float and named["x"].iloc[0] == 1.0
    for name in ("health_rubric.yaml", "pricing_rules.yaml", "forecast_risks.yaml"):
        assert isinstance(data.read_bundled_yaml(name), dict), name
    with pytest.raises(FileNotFoundError, match="no bundled file 'nope.yaml'.*pricing_rules.yaml"):
        data.read_bundled_yaml("nope.yaml")


def test_compact_csv_writes_whole_floats_as_integers(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "d": pd.to_datetime(["2024-01-31", None]),
            "t": pd.to_datetime(["2024-01-31 08:30:00", "2024-02-01 00:00:00"]),
            "x": [149.0, np.nan],
            "y": [0.1, 2.5],
        }
    )
    (path,) = data.write_tables({"t": df}, tmp_path, compact=True)
    assert (
        path.read_text()
        == "d,t,x,y\n2024-01-31,2024-01-31T08:30:00,149,0.1\n,2024-02-01T00:00:00,,2.5\n"
    )
    plain = data.write_csv(df, tmp_path / "plain.csv").read_text()
    assert plain.splitlines()[1] == "2024-01-31,2024-01-31T08:30:00,149.0,0.1"
