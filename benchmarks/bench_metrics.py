"""Benchmark: MRR movements + retention + cohorts, revlib vs a straightforward DuckDB SQL.

A synthetic subscription ledger (default 100,000 accounts over 60 months, several line items,
upgrades, downgrades, churn, win-backs and four currencies) is measured with both
implementations in the same run; the results must agree to the cent (and exactly on counts).

    .venv/bin/python -m benchmarks.bench_metrics [--accounts 100000] [--months 60] [--repeat 3]

Writes ``benchmarks/results/metrics.json``. DuckDB is a dev dependency; revlib does not need it.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from revlib import metrics

FX = pd.DataFrame({"currency": ["EUR", "GBP", "CAD"], "rate_to_reporting": [1.08, 1.27, 0.74]})
RESULTS = Path(__file__).resolve().parent / "results" / "metrics.json"


def synthetic_ledger(
    n_accounts: int = 100_000, n_months: int = 60, *, seed: int = 0
) -> tuple[pd.DataFrame, pd.Timestamp]:
    """A random subscription ledger and its as-of month. Accounts start in the first month
    (30 %) or uniformly later, run up to four consecutive plan periods (upgrades / downgrades,
    with 15 % chance of a win-back gap before each), may churn, and 30 % carry an add-on line."""
    rng = np.random.default_rng(seed)
    first = pd.Timestamp("2020-01-01")
    as_of = first + pd.DateOffset(months=n_months - 1)
    horizon = (as_of + pd.offsets.MonthEnd(0) - first).days + 1
    start = np.where(
        rng.random(n_accounts) < 0.3,
        rng.integers(0, 28, n_accounts),
        rng.integers(0, horizon, n_accounts),
    )
    base = np.round(np.exp(rng.normal(5.5, 1.0, n_accounts)), 2)
    currency = rng.choice(["USD", "EUR", "GBP", "CAD"], n_accounts, p=[0.7, 0.15, 0.1, 0.05])
    rows = []
    day = start.astype(float)
    price = base.copy()
    alive = np.ones(n_accounts, dtype=bool)
    for k in range(4):
        if k > 0:
            gap = np.where(rng.random(n_accounts) < 0.15, rng.integers(20, 400, n_accounts), 0)
            day = day + gap
            price = np.round(price * rng.choice([0.5, 0.8, 1.0, 1.3, 2.0], n_accounts), 2)
        length = rng.exponential(420, n_accounts).astype(int) + 1
        last = k == 3
        open_end = alive & (rng.random(n_accounts) < (0.55 if last else 0.25))
        ok = alive & (day < horizon)
        end = day + length
        rows.append(
            pd.DataFrame(
                {
                    "account_id": np.flatnonzero(ok),
                    "start": day[ok].astype(int),
                    "end": np.where(open_end[ok], -1, end[ok].astype(int)),
                    "mrr": price[ok],
                    "currency": currency[ok],
                }
            )
        )
        alive = ok & ~open_end
        day = end
    addon = rng.random(n_accounts) < 0.3
    a_start = start[addon] + rng.integers(0, 700, addon.sum())
    a_len = rng.integers(1, 900, addon.sum())
    rows.append(
        pd.DataFrame(
            {
                "account_id": np.flatnonzero(addon),
                "start": a_start,
                "end": np.where(rng.random(addon.sum()) < 0.5, -1, a_start + a_len),
                "mrr": np.round(rng.choice([19.0, 49.0, 99.0], addon.sum()), 2),
                "currency": currency[addon],
            }
        )
    )
    raw = pd.concat(rows, ignore_index=True)
    raw = raw[raw["start"] < horizon]
    subs = pd.DataFrame(
        {
            "subscription_id": [f"s{i}" for i in range(len(raw))],
            "account_id": [f"acc{a:06d}" for a in raw["account_id"]],
            "start_date": (first + pd.to_timedelta(raw["start"].to_numpy(), unit="D")).astype(
                "datetime64[ns]"
            ),
            "end_date": pd.Series(first + pd.to_timedelta(raw["end"].to_numpy(), unit="D"))
            .where(raw["end"].to_numpy() >= 0)
            .astype("datetime64[ns]"),
            "mrr": raw["mrr"].to_numpy(),
            "currency": raw["currency"].to_numpy(),
        }
    )
    return subs, as_of


def run_revlib(subs: pd.DataFrame, as_of: pd.Timestamp) -> dict[str, pd.DataFrame]:
    panel = metrics.mrr_panel(subs, fx_rates=FX, as_of=as_of)
    return {
        "movements": metrics.mrr_movements(panel),
        "retention": metrics.retention_table(panel),
        "cohort_revenue": metrics.cohort_revenue_retention(panel),
        "cohort_logo": metrics.cohort_logo_retention(panel),
    }


SQL = """
CREATE OR REPLACE TEMP TABLE months AS
SELECT m::DATE AS month, last_day(m)::DATE AS month_end,
       row_number() OVER (ORDER BY m) - 1 AS j
FROM range(DATE '{first}', DATE '{last}' + INTERVAL 1 MONTH, INTERVAL 1 MONTH) t(m);

-- MRR snapshot: start_date <= last day of month < end_date (null = open), reporting currency
CREATE OR REPLACE TEMP TABLE snap AS
SELECT s.account_id, m.j, sum(s.mrr * coalesce(f.rate_to_reporting, 1.0)) AS mrr
FROM subs s
LEFT JOIN fx f ON f.currency = s.currency
JOIN months m ON s.start_date <= m.month_end AND (s.end_date IS NULL OR m.month_end < s.end_date)
GROUP BY ALL
HAVING sum(s.mrr * coalesce(f.rate_to_reporting, 1.0)) > 0;

CREATE OR REPLACE TEMP TABLE firsts AS
SELECT account_id, min(j) AS first_j FROM snap GROUP BY account_id;

-- month m against m-1 per account; rows where either side is > 0
CREATE OR REPLACE TEMP TABLE pairs AS
SELECT coalesce(c.account_id, p.account_id) AS account_id,
       coalesce(c.j, p.j + 1) AS j,
       coalesce(p.mrr, 0) AS prev, coalesce(c.mrr, 0) AS cur
FROM snap c FULL OUTER JOIN snap p ON c.account_id = p.account_id AND c.j = p.j + 1;

CREATE OR REPLACE TEMP TABLE movements AS
SELECT m.j,
  coalesce(sum(prev), 0) AS opening_mrr,
  coalesce(sum(CASE WHEN prev = 0 AND cur > 0 AND x.j = f.first_j THEN cur END), 0) AS new_mrr,
  coalesce(sum(CASE WHEN prev = 0 AND cur > 0 AND x.j > f.first_j THEN cur END), 0) AS reactivation_mrr,
  coalesce(sum(CASE WHEN prev > 0 AND cur > prev THEN cur - prev END), 0) AS expansion_mrr,
  coalesce(sum(CASE WHEN cur > 0 AND cur < prev THEN prev - cur END), 0) AS contraction_mrr,
  coalesce(sum(CASE WHEN prev > 0 AND cur = 0 THEN prev END), 0) AS churned_mrr,
  coalesce(sum(cur), 0) AS closing_mrr,
  12 * coalesce(sum(cur), 0) AS arr,
  count(CASE WHEN cur > 0 THEN 1 END) AS customers,
  count(CASE WHEN prev > 0 THEN 1 END) AS prev_customers,
  count(CASE WHEN prev > 0 AND cur = 0 THEN 1 END) AS churned_customers
FROM months m
LEFT JOIN pairs x ON x.j = m.j
LEFT JOIN firsts f ON f.account_id = x.account_id
GROUP BY m.j;

-- trailing-twelve-month NRR / GRR: accounts with MRR(m-12) > 0
CREATE OR REPLACE TEMP TABLE ttm AS
SELECT t.j + 12 AS j, sum(t.mrr) AS base, sum(coalesce(n.mrr, 0)) AS kept,
       sum(least(coalesce(n.mrr, 0), t.mrr)) AS capped
FROM snap t LEFT JOIN snap n ON n.account_id = t.account_id AND n.j = t.j + 12
GROUP BY t.j;

CREATE OR REPLACE TEMP TABLE cohorts AS
SELECT f.first_j AS cohort, s.j - f.first_j AS age, sum(s.mrr) AS mrr, count(*) AS logos
FROM snap s JOIN firsts f USING (account_id)
GROUP BY ALL;
"""


def run_duckdb(con, subs: pd.DataFrame, as_of: pd.Timestamp) -> dict[str, pd.DataFrame]:
    first = pd.Timestamp(subs["start_date"].min()).replace(day=1)
    con.register("subs", subs)
    con.register("fx", FX)
    con.execute(SQL.format(first=f"{first:%Y-%m-%d}", last=f"{as_of:%Y-%m-%d}"))
    movements = con.execute(
        """SELECT m.month, v.* EXCLUDE (j, prev_customers, churned_customers),
                  v.churned_customers / nullif(v.prev_customers, 0) AS logo_churn_rate
           FROM movements v JOIN months m USING (j) ORDER BY m.j"""
    ).df()
    retention = con.execute(
        """SELECT m.month, t.kept / t.base AS nrr, t.capped / t.base AS grr
           FROM months m LEFT JOIN ttm t USING (j) ORDER BY m.j"""
    ).df()
    cohorts = con.execute("SELECT * FROM cohorts ORDER BY cohort, age").df()
    return {"movements": movements, "retention": retention, "cohorts": cohorts}


def compare(ours: dict[str, pd.DataFrame], sql: dict[str, pd.DataFrame]) -> dict[str, float]:
    """Largest absolute differences; raises if money differs by a cent or more, or counts at all."""
    mov, ref = ours["movements"], sql["movements"]
    money_cols = [c for c in metrics.MOVEMENT_COLUMNS if c not in ("month", "customers")]
    money = float(
        np.max(np.abs(mov[money_cols].to_numpy() - ref[money_cols].to_numpy(dtype=float)))
    )
    counts = int(np.max(np.abs(mov["customers"].to_numpy() - ref["customers"].to_numpy())))
    ret = ours["retention"]
    ratio = 0.0
    for col in ("nrr", "grr"):
        a, b = ret[col].to_numpy(), sql["retention"][col].to_numpy(dtype=float)
        assert np.array_equal(np.isnan(a), np.isnan(b)), f"{col}: missing months differ"
        ratio = max(ratio, float(np.nanmax(np.abs(a - b))))
    a, b = (
        ret["logo_churn_rate"].to_numpy(),
        sql["movements"]["logo_churn_rate"].to_numpy(dtype=float),
    )
    ratio = max(ratio, float(np.nanmax(np.abs(a - b))))
    # cohorts: rebuild SQL's long table as the same cohort x age matrices
    co = sql["cohorts"]
    size = co[co["age"] == 0].set_index("cohort")
    rev = co.pivot(index="cohort", columns="age", values="mrr").div(size["mrr"], axis=0)
    logo = co.pivot(index="cohort", columns="age", values="logos").div(size["logos"], axis=0)
    for name, ref_table in (("cohort_revenue", rev), ("cohort_logo", logo)):
        mine = ours[name]
        ref_table = ref_table.reindex(columns=mine.columns).fillna(0.0).to_numpy()
        got = np.nan_to_num(mine.to_numpy(), nan=0.0)
        assert got.shape == ref_table.shape, (
            f"{name}: shapes differ {got.shape} vs {ref_table.shape}"
        )
        ratio = max(ratio, float(np.max(np.abs(got - ref_table))))
    if money >= 0.01 or counts != 0 or ratio > 1e-9:
        raise AssertionError(
            f"revlib and DuckDB disagree: money {money}, counts {counts}, ratios {ratio}"
        )
    return {
        "max_money_difference": money,
        "max_count_difference": counts,
        "max_ratio_difference": ratio,
    }


def best_of(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main(argv: list[str] | None = None) -> dict:
    import duckdb

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args([] if argv is None else argv)
    subs, as_of = synthetic_ledger(args.accounts, args.months, seed=args.seed)
    con = duckdb.connect()
    threads = con.execute("SELECT current_setting('threads')").fetchall()[0][0]
    t_ours, ours = best_of(lambda: run_revlib(subs, as_of), args.repeat)
    t_sql, sql = best_of(lambda: run_duckdb(con, subs, as_of), args.repeat)
    agreement = compare(ours, sql)
    result = {
        "benchmark": "mrr movements + retention (TTM NRR/GRR, logo churn) + cohort tables (revenue, logo)",
        "accounts": args.accounts,
        "months": args.months,
        "subscriptions": len(subs),
        "repeat": args.repeat,
        "revlib_seconds": round(t_ours, 3),
        "duckdb_seconds": round(t_sql, 3),
        "speedup": round(t_sql / t_ours, 2),
        "duckdb_version": duckdb.__version__,
        "duckdb_threads": int(threads),
        "numpy_version": np.__version__,
        "pandas_version": pd.__version__,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cpu",
        **agreement,
    }
    print(json.dumps(result, indent=2))
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    if t_ours > t_sql:
        print(f"WARNING: revlib ({t_ours:.2f} s) is slower than DuckDB ({t_sql:.2f} s)")
    return result


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
