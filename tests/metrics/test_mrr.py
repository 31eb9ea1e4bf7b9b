"""MRR snapshots and movements: hand-computed cases, a naive reference, property tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from revlib.metrics import (
    MOVEMENT_COLUMNS,
    account_movements,
    cohort_logo_retention,
    cohort_revenue_retention,
    gross_revenue_retention,
    logo_churn_rate,
    mrr_by_account_month,
    mrr_movements,
    mrr_panel,
    net_revenue_retention,
    quick_ratio,
    retention_table,
)

D = pd.Timestamp
FX = pd.DataFrame({"currency": ["EUR"], "rate_to_reporting": [1.10]})


def ledger(rows: list[tuple]) -> pd.DataFrame:
    """(subscription_id, account_id, start, end or None, mrr, currency) rows -> subscriptions."""
    df = pd.DataFrame(
        rows, columns=["subscription_id", "account_id", "start_date", "end_date", "mrr", "currency"]
    )
    df["start_date"] = pd.to_datetime(df["start_date"]).astype("datetime64[ns]")
    df["end_date"] = pd.to_datetime(df["end_date"]).astype("datetime64[ns]")
    return df


# Every movement kind, Jan-Jun 2024 (a leap year). Hand-computed MRR by month-end:
#          Jan  Feb  Mar  Apr  May  Jun
# A        120  120  270  270  270  270   two line items; upgrade 100 -> 250 on 15 March
# B        500  500  500  300  300  300   downgrade from 1 April
# C        200    0    -    -    -    -   ends 29 Feb: not active on the month's last day -> churn
# D         80    0    0   90   90   90   churns in Feb, wins back in April (reactivation)
# E          -    -    -    -    -    -   starts and ends within February: never in a snapshot
# F          -  110  110  110  110    0   EUR 100 x 1.10, starts 29 Feb, ends 30 June (exclusive)
GOLDEN = ledger(
    [
        ("a1", "A", "2024-01-10", "2024-03-15", 100.0, "USD"),
        ("a2", "A", "2024-03-15", None, 250.0, "USD"),
        ("a3", "A", "2024-01-10", None, 20.0, None),
        ("b1", "B", "2024-01-01", "2024-04-01", 500.0, "USD"),
        ("b2", "B", "2024-04-01", None, 300.0, "USD"),
        ("c1", "C", "2024-01-20", "2024-02-29", 200.0, "USD"),
        ("d1", "D", "2024-01-05", "2024-02-10", 80.0, "USD"),
        ("d2", "D", "2024-04-02", None, 90.0, "USD"),
        ("e1", "E", "2024-02-03", "2024-02-25", 1000.0, "USD"),
        ("f1", "F", "2024-02-29", "2024-06-30", 100.0, "EUR"),
    ]
)
MONTHS = pd.date_range("2024-01-01", periods=6, freq="MS")
EXPECTED_MRR = {
    "A": [120, 120, 270, 270, 270, 270],
    "B": [500, 500, 500, 300, 300, 300],
    "C": [200, 0, 0, 0, 0, 0],
    "D": [80, 0, 0, 90, 90, 90],
    "F": [0, 110, 110, 110, 110, 0],
}
EXPECTED_MOVEMENTS = pd.DataFrame(
    {
        "month": MONTHS,
        "opening_mrr": [0.0, 900, 730, 880, 770, 770],
        "new_mrr": [900.0, 110, 0, 0, 0, 0],
        "reactivation_mrr": [0.0, 0, 0, 90, 0, 0],
        "expansion_mrr": [0.0, 0, 150, 0, 0, 0],
        "contraction_mrr": [0.0, 0, 0, 200, 0, 0],
        "churned_mrr": [0.0, 280, 0, 0, 0, 110],
        "closing_mrr": [900.0, 730, 880, 770, 770, 660],
        "arr": [10800.0, 8760, 10560, 9240, 9240, 7920],
        "customers": [4, 3, 3, 4, 4, 3],
    }
)


def test_panel_matches_hand_computed_snapshots():
    panel = mrr_panel(GOLDEN, fx_rates=FX, as_of="2024-06-30")
    assert list(panel.months) == list(MONTHS)
    assert list(panel.accounts) == ["A", "B", "C", "D", "E", "F"]
    got = dict(zip(panel.accounts, panel.mrr.round(6).tolist(), strict=True))
    for account, values in EXPECTED_MRR.items():
        assert got[account] == pytest.approx(values), account
    assert got["E"] == [0] * 6  # starts and ends inside February


def test_mrr_movements_every_kind():
    got = mrr_movements(GOLDEN, fx_rates=FX, as_of="2024-06-15")
    assert list(got.columns) == list(MOVEMENT_COLUMNS)
    pd.testing.assert_frame_equal(got, EXPECTED_MOVEMENTS, check_dtype=False, atol=1e-9)


def test_account_movements_labels_and_amounts():
    got = account_movements(GOLDEN, fx_rates=FX, as_of="2024-06")
    key = {(r.account_id, f"{r.month:%Y-%m}"): (r.movement, r.amount) for r in got.itertuples()}
    assert key[("A", "2024-01")] == ("new", 120)
    assert key[("A", "2024-02")] == ("flat", 0)
    assert key[("A", "2024-03")] == ("expansion", 150)
    assert key[("B", "2024-04")] == ("contraction", 200)
    assert key[("C", "2024-02")] == ("churn", 200)
    assert key[("D", "2024-02")] == ("churn", 80)
    assert key[("D", "2024-04")] == ("reactivation", 90)
    assert key[("F", "2024-02")][0] == "new" and key[("F", "2024-02")][1] == pytest.approx(110)
    assert key[("F", "2024-06")][0] == "churn"
    assert ("C", "2024-03") not in key  # rows only while opening or closing MRR > 0
    assert not (got["account_id"] == "E").any()
    # the per-account movements add up to the monthly bridge
    sums = got.pivot_table(
        index="month", columns="movement", values="amount", aggfunc="sum", fill_value=0
    )
    assert sums["churn"].tolist() == pytest.approx([0, 280, 0, 0, 0, 110])
    assert sums["reactivation"].sum() == pytest.approx(90)


def test_mrr_by_account_month_long_format():
    got = mrr_by_account_month(GOLDEN, fx_rates=FX, end="2024-06-30")
    assert list(got.columns) == ["account_id", "month", "mrr"]
    assert got["month"].dtype == "datetime64[ns]"
    f = got[got["account_id"] == "F"]
    assert f["month"].min() == D("2024-02-01")  # from the first month with MRR > 0
    assert f["mrr"].tolist() == pytest.approx([110, 110, 110, 110, 0])
    assert len(got[got["account_id"] == "C"]) == 6  # zeros kept after churn


def test_other_currency_needs_a_rate():
    with pytest.raises(ValueError, match="no fx rate for currency"):
        mrr_movements(GOLDEN, as_of="2024-06")


def test_as_of_default_and_errors():
    assert mrr_panel(GOLDEN, fx_rates=FX).months[-1] == D("2024-04-01")  # latest start_date
    with pytest.raises(ValueError, match="before the first month of data"):
        mrr_panel(GOLDEN, fx_rates=FX, as_of="2023-12-31")
    with pytest.raises(ValueError, match="lacks column"):
        mrr_panel(GOLDEN.drop(columns="end_date"))
    with pytest.raises(ValueError, match="mrr must be >= 0"):
        mrr_panel(GOLDEN.assign(mrr=-1.0), fx_rates=FX)
    panel = mrr_panel(GOLDEN, fx_rates=FX, as_of="2024-06")
    with pytest.raises(ValueError, match="outside the data"):
        panel.month_index("2025-01")


def test_panel_reused_and_truncated():
    panel = mrr_panel(GOLDEN, fx_rates=FX, as_of="2024-06")
    short = mrr_movements(panel, as_of="2024-03")
    pd.testing.assert_frame_equal(short, EXPECTED_MOVEMENTS.head(3), check_dtype=False)


def test_quick_ratio():
    qr = quick_ratio(EXPECTED_MOVEMENTS)
    assert qr.iloc[1] == pytest.approx(110 / 280)
    assert qr.iloc[3] == pytest.approx(90 / 200)
    assert np.isnan(qr.iloc[2])  # nothing lost in March
    window = quick_ratio(EXPECTED_MOVEMENTS, months=6)
    assert window.iloc[-1] == pytest.approx((1010 + 90 + 150) / (200 + 280 + 110))
    assert window.iloc[:5].isna().all()
    with pytest.raises(ValueError, match="months must be"):
        quick_ratio(EXPECTED_MOVEMENTS, months=0)


def test_monthly_retention_and_logo_churn():
    nrr = net_revenue_retention(GOLDEN, lag=1, fx_rates=FX, as_of="2024-06")
    grr = gross_revenue_retention(GOLDEN, lag=1, fx_rates=FX, as_of="2024-06")
    assert np.isnan(nrr.iloc[0])
    assert nrr.iloc[1:4].tolist() == pytest.approx([620 / 900, 880 / 730, 680 / 880])
    assert grr.iloc[1:4].tolist() == pytest.approx([620 / 900, 1.0, 680 / 880])
    churn = logo_churn_rate(GOLDEN, fx_rates=FX, as_of="2024-06")
    assert np.isnan(churn.iloc[0])
    assert churn.iloc[1:].tolist() == pytest.approx([0.5, 0, 0, 0, 0.25])
    with pytest.raises(ValueError, match="lag must be"):
        net_revenue_retention(GOLDEN, lag=0, fx_rates=FX)


# Trailing-twelve-month retention, hand-computed for January 2024 against January 2023:
# P 100 -> 150 (expanded June 2023), Q 200 -> 0 (churned Sept 2023), S 300 -> 100
# (contracted Oct 2023); R started March 2023 so is not in the January 2023 base.
TTM = ledger(
    [
        ("p1", "P", "2023-01-01", "2023-06-01", 100.0, None),
        ("p2", "P", "2023-06-01", None, 150.0, None),
        ("q1", "Q", "2023-01-15", "2023-09-01", 200.0, None),
        ("r1", "R", "2023-03-01", None, 50.0, None),
        ("s1", "S", "2023-01-01", "2023-10-01", 300.0, None),
        ("s2", "S", "2023-10-01", None, 100.0, None),
    ]
)


def test_ttm_nrr_grr_hand_computed():
    table = retention_table(TTM, as_of="2024-01-31", monthly=True)
    assert list(table.columns[:4]) == ["month", "nrr", "grr", "logo_churn_rate"]
    assert table["nrr"].iloc[:12].isna().all()  # no twelve months of history yet
    assert table["nrr"].iloc[12] == pytest.approx(250 / 600)
    assert table["grr"].iloc[12] == pytest.approx(200 / 600)
    assert table["logo_churn_rate"].iloc[8] == pytest.approx(1 / 4)  # Q in Sept 2023
    assert "nrr_monthly" in table and "grr_monthly" in table


def test_cohort_tables_hand_computed():
    revenue = cohort_revenue_retention(GOLDEN, fx_rates=FX, as_of="2024-06")
    logos = cohort_logo_retention(GOLDEN, fx_rates=FX, as_of="2024-06")
    assert list(revenue.index) == [D("2024-01-01"), D("2024-02-01")]
    assert revenue.loc[D("2024-01-01")].tolist() == pytest.approx(
        [1, 620 / 900, 770 / 900, 660 / 900, 660 / 900, 660 / 900]
    )
    feb = revenue.loc[D("2024-02-01")]
    assert feb.iloc[:5].tolist() == [1, 1, 1, 1, 0] and np.isnan(feb.iloc[5])
    assert logos.loc[D("2024-01-01")].tolist() == pytest.approx([1, 0.5, 0.5, 0.75, 0.75, 0.75])


# ----------------------------------------------------------------------------- naive reference


def naive_mrr(
    subs: pd.DataFrame, months: pd.DatetimeIndex, fx: dict[str, float]
) -> dict[str, list[float]]:
    """Loop over accounts and month-ends, straight from the spec's definition."""
    out = {}
    for account, group in subs.groupby("account_id"):
        values = []
        for m in months:
            d = m + pd.offsets.MonthEnd(0)
            total = 0.0
            for r in group.itertuples():
                if r.start_date <= d and (pd.isna(r.end_date) or d < r.end_date):
                    total += r.mrr * fx.get(
                        r.currency if isinstance(r.currency, str) else "USD", 1.0
                    )
            values.append(total)
        out[account] = values
    return out


def naive_movements(mrr: dict[str, list[float]], n: int) -> pd.DataFrame:
    rows = []
    for j in range(n):
        acc = dict.fromkeys(["new", "reactivation", "expansion", "contraction", "churn"], 0.0)
        opening = closing = 0.0
        customers = 0
        for values in mrr.values():
            prev = values[j - 1] if j > 0 else 0.0
            cur = values[j]
            ever = any(v > 0 for v in values[: max(j - 1, 0)]) if j > 1 else False
            opening, closing, customers = opening + prev, closing + cur, customers + (cur > 0)
            if prev == 0 and cur > 0:
                acc["reactivation" if ever else "new"] += cur
            elif 0 < prev < cur:
                acc["expansion"] += cur - prev
            elif 0 < cur < prev:
                acc["contraction"] += prev - cur
            elif prev > 0 and cur == 0:
                acc["churn"] += prev
        rows.append(
            [
                opening,
                acc["new"],
                acc["reactivation"],
                acc["expansion"],
                acc["contraction"],
                acc["churn"],
                closing,
                customers,
            ]
        )
    cols = [
        "opening_mrr",
        "new_mrr",
        "reactivation_mrr",
        "expansion_mrr",
        "contraction_mrr",
        "churned_mrr",
        "closing_mrr",
        "customers",
    ]
    return pd.DataFrame(rows, columns=cols)


def naive_retention(mrr: dict[str, list[float]], j: int, lag: int) -> tuple[float, float]:
    base = kept = capped = 0.0
    for values in mrr.values():
        then = values[j - lag] if j >= lag else 0.0
        if then > 0:
            base += then
            kept += values[j]
            capped += min(values[j], then)
    return (kept / base, capped / base) if base > 0 else (np.nan, np.nan)


def random_ledger(rng: np.random.Generator, n_accounts: int = 30, n_subs: int = 80) -> pd.DataFrame:
    start = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 700, n_subs), unit="D")
    length = pd.to_timedelta(rng.integers(1, 500, n_subs), unit="D")
    end = pd.Series(start + length).where(rng.random(n_subs) < 0.6)
    return pd.DataFrame(
        {
            "subscription_id": [f"s{i}" for i in range(n_subs)],
            "account_id": [f"a{i:02d}" for i in rng.integers(0, n_accounts, n_subs)],
            "start_date": start.astype("datetime64[ns]"),
            "end_date": end.astype("datetime64[ns]"),
            "mrr": rng.choice([0.0, 9.99, 49.5, 100.0, 1234.56, 333.33], n_subs),
            "currency": rng.choice(["USD", "EUR", None], n_subs),
        }
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_vectorised_matches_naive_reference(seed):
    subs = random_ledger(np.random.default_rng(seed))
    as_of = D("2024-03-31")
    got = mrr_movements(subs, fx_rates=FX, as_of=as_of)
    months = pd.DatetimeIndex(got["month"])
    mrr = naive_mrr(subs, months, {"EUR": 1.10})
    want = naive_movements(mrr, len(months))
    for col in want.columns:
        np.testing.assert_allclose(
            got[col].to_numpy(dtype=float), want[col].to_numpy(dtype=float), atol=1e-6, err_msg=col
        )
    nrr = net_revenue_retention(subs, fx_rates=FX, as_of=as_of)
    grr = gross_revenue_retention(subs, fx_rates=FX, as_of=as_of)
    for j in range(len(months)):
        want_nrr, want_grr = naive_retention(mrr, j, 12)
        np.testing.assert_allclose([nrr.iloc[j], grr.iloc[j]], [want_nrr, want_grr], atol=1e-12)


# ----------------------------------------------------------------------------- properties

subscription = st.tuples(
    st.integers(0, 7),  # account
    st.integers(0, 900),  # start day offset from 2020-01-01
    st.one_of(st.none(), st.integers(1, 800)),  # length in days, None = open
    st.sampled_from([0.0, 0.01, 5.0, 19.99, 100.0, 2500.5]),
    st.sampled_from(["USD", "EUR"]),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(subscription, min_size=1, max_size=25), st.integers(0, 30))
def test_identity_and_bounds_hold_for_random_ledgers(rows, extra_months):
    start = pd.Timestamp("2020-01-01")
    subs = pd.DataFrame(
        {
            "subscription_id": [f"s{i}" for i in range(len(rows))],
            "account_id": [f"a{r[0]}" for r in rows],
            "start_date": [start + pd.Timedelta(days=r[1]) for r in rows],
            "end_date": [start + pd.Timedelta(days=r[1] + r[2]) if r[2] else pd.NaT for r in rows],
            "mrr": [r[3] for r in rows],
            "currency": [r[4] for r in rows],
        }
    )
    subs["start_date"] = subs["start_date"].astype("datetime64[ns]")
    subs["end_date"] = subs["end_date"].astype("datetime64[ns]")
    as_of = subs["start_date"].max() + pd.DateOffset(months=extra_months)
    mov = mrr_movements(subs, fx_rates=FX, as_of=as_of)
    bridge = (
        mov["opening_mrr"]
        + mov["new_mrr"]
        + mov["reactivation_mrr"]
        + mov["expansion_mrr"]
        - mov["contraction_mrr"]
        - mov["churned_mrr"]
    )
    np.testing.assert_allclose(bridge, mov["closing_mrr"], atol=1e-6)
    np.testing.assert_allclose(mov["opening_mrr"].iloc[1:], mov["closing_mrr"].iloc[:-1], atol=1e-9)
    assert mov["opening_mrr"].iloc[0] == 0
    assert (
        (
            mov[["new_mrr", "reactivation_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr"]]
            >= 0
        )
        .all()
        .all()
    )
    panel = mrr_panel(subs, fx_rates=FX, as_of=as_of)
    for lag in (1, 12):
        nrr = net_revenue_retention(panel, lag=lag).dropna()
        grr = gross_revenue_retention(panel, lag=lag).dropna()
        assert (grr >= 0).all() and (grr <= 1 + 1e-12).all()
        assert (nrr >= 0).all()
        assert (grr <= nrr + 1e-12).all()
    churn = logo_churn_rate(panel).dropna()
    assert ((churn >= 0) & (churn <= 1)).all()
    logos = cohort_logo_retention(panel)
    assert (logos.iloc[:, 0] == 1).all()
