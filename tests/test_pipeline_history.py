"""revlib.pipeline_history: one pipeline history, one stage win rate for both reports.

- the shared ``stage_win_rates`` reproduces each old rule exactly when given that rule
  (references: the functions deal scoring and forecasting used before, copied below);
- deal scoring's snapshots (end of month ``d``) and forecasting's (midnight ``d + 1``) are the
  same pipeline, so both reports give the same stage win rate for the same data and rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from revlib import forecasting as fc
from revlib import pipeline_history as ph
from revlib import scoring
from revlib.data import load_tables

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
AS_OF = pd.Timestamp("2024-07-01")  # forecasting: midnight; scoring: the end of 2024-06-30


@pytest.fixture(scope="module")
def sample() -> dict[str, pd.DataFrame]:
    if not (SAMPLE / "opportunities.csv").exists():
        pytest.skip("bundled sample not generated yet")
    return load_tables(SAMPLE, ["opportunities", "opportunity_history"])


@pytest.fixture(scope="module")
def both_pipelines(sample) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(forecasting's month-start snapshots, deal scoring's month-end rows on the same dates)."""
    opps, hist = sample["opportunities"], sample["opportunity_history"]
    fsnap = fc.snapshots(opps, hist, as_of=AS_OF, months=12)
    rows = scoring.build_snapshots(sample, mode="monthly", as_of=AS_OF - pd.Timedelta(days=1))
    starts = set(fsnap["snapshot"])
    rows = rows[(rows["snapshot_date"] + pd.Timedelta(days=1)).isin(starts)]
    return fsnap, rows.reset_index(drop=True)


# ----------------------------------------------------------------------------- old rules


def old_scoring_tables(
    frame: pd.DataFrame, by: Sequence[str], label: str, prior: float
) -> list[pd.DataFrame]:
    """Old revlib.scoring.baselines._rate_table. Nested win-rate tables: overall, then by[:1], by[:2] ... each shrunk toward its parent."""
    y = frame[label].astype(float)
    overall = float(y.mean())
    tables = [
        pd.DataFrame(
            {"n": [len(y)], "won": [y.sum()], "win_rate": [overall], "smoothed": [overall]}
        )
    ]
    for depth in range(1, len(by) + 1):
        keys = list(by[:depth])
        g = frame.assign(
            _y=y, **{k: frame[k].astype("string").fillna("(missing)") for k in keys}
        ).groupby(keys, sort=True)
        t = g["_y"].agg(n="size", won="sum").reset_index()
        t["win_rate"] = t["won"] / t["n"]
        if depth == 1:
            parent = np.full(len(t), overall)
        else:
            parent = (
                t[keys[:-1]]
                .merge(tables[-1][[*keys[:-1], "smoothed"]], on=keys[:-1], how="left")["smoothed"]
                .to_numpy()
            )
        t["smoothed"] = (t["won"] + prior * parent) / (t["n"] + prior)
        tables.append(t)
    return tables


def old_forecast_rates(
    snaps: pd.DataFrame,
    *,
    by: Sequence[str] = ("stage", "type"),
    prior_strength: float = 10.0,
) -> pd.DataFrame:
    """Old revlib.forecasting.pipeline.stage_win_rates. Win rate of deals by stage (and type) as of the snapshots: won / closed among the deals
    open in that stage at a month-start snapshot that had closed by the as-of date. Ratio in
    [0, 1].

    The rate counts every snapshot appearance (the pipeline a forecast sees is such a
    snapshot); its uncertainty counts each deal once (the ``weight`` column), so a deal seen in
    five snapshots does not look like five pieces of evidence. Rates are shrunk towards the
    rate of the coarser group (stage, then all deals) with ``prior_strength`` pseudo-deals.
    Columns: the ``by`` keys, won, closed (deal-weighted counts), win_rate, alpha, beta (the
    Beta posterior of the rate).
    """
    by = list(by)
    unknown = [b for b in by if b not in ("stage", "type")]
    if unknown:
        raise ValueError(f"by must be a subset of ('stage', 'type'), got {unknown}")
    closed = snaps[snaps["closed"]].assign(won=lambda d: d["won"].astype(float), one=1.0)
    total = closed[["won", "one", "weight"]].sum()
    base = (total["won"] + 1.0) / (total["one"] + 2.0)
    if by:
        agg = closed.groupby(by, observed=True)[["won", "one", "weight"]].sum().reset_index()
        keys = snaps[by].drop_duplicates().reset_index(drop=True)
        out = keys.merge(agg, on=by, how="left").fillna({"won": 0.0, "one": 0.0, "weight": 0.0})
    else:
        out = pd.DataFrame([total.to_dict()])
    rate = np.divide(out["won"], out["one"], out=np.full(len(out), base), where=out["one"] > 0)
    out["closed"] = out["weight"]  # deals, each counted once
    out["won"] = rate * out["closed"]
    prior_mean = pd.Series(base, index=out.index)
    if "stage" in by and len(by) > 1:
        stage_rates = old_forecast_rates(snaps, by=("stage",), prior_strength=prior_strength)
        prior_mean = out["stage"].map(stage_rates.set_index("stage")["win_rate"]).fillna(base)
    out["alpha"] = prior_mean * prior_strength + out["won"]
    out["beta"] = (1 - prior_mean) * prior_strength + out["closed"] - out["won"]
    out["win_rate"] = out["alpha"] / (out["alpha"] + out["beta"])
    return out[[*by, "won", "closed", "win_rate", "alpha", "beta"]]


def test_deal_rule_reproduces_the_old_scoring_baseline(both_pipelines) -> None:
    _, rows = both_pipelines
    closed = rows[rows["won"].notna()]
    for by, prior in [(("stage", "type"), 5.0), (("stage",), 0.0), (("type",), 2.0)]:
        once = closed.drop_duplicates(["opportunity_id", *by])
        old = old_scoring_tables(once, by, "won", prior)
        levels = ph.win_rate_levels(closed, rule="deal", prior=prior, by=by)
        for depth, new in enumerate(levels):
            ref = old[depth]
            if depth:
                ref = ref.sort_values(list(by[:depth])).reset_index(drop=True)
                assert new[list(by[:depth])].astype(str).equals(ref[list(by[:depth])].astype(str))
            np.testing.assert_allclose(new["closed"], ref["n"])
            np.testing.assert_allclose(new["won"], ref["won"])
            np.testing.assert_allclose(new["raw_rate"], ref["win_rate"])
            np.testing.assert_allclose(new["win_rate"], ref["smoothed"], rtol=1e-12)


def test_snapshot_rule_reproduces_the_old_forecasting_rates(both_pipelines) -> None:
    fsnap, _ = both_pipelines
    # by=() is left out deliberately: the old function shrank all deals towards their own
    # Laplace rate; the shared one gives that top-level rate itself (no caller used it)
    for by, prior in [(("stage", "type"), 10.0), (("stage",), 4.0), (("type",), 10.0)]:
        old = old_forecast_rates(fsnap, by=by, prior_strength=prior)
        new = ph.stage_win_rates(fsnap, rule="snapshot", prior=prior, by=by)
        if by:
            old = old.astype({b: str for b in by}).sort_values(list(by)).reset_index(drop=True)
            assert new[list(by)].astype(str).equals(old[list(by)])
        for c in ("closed", "won", "win_rate", "alpha", "beta"):
            np.testing.assert_allclose(new[c], old[c], rtol=1e-12, err_msg=c)


def test_the_rules_differ_where_deals_linger() -> None:
    rows = pd.DataFrame(
        {
            "opportunity_id": ["a", "a", "a", "b"],
            "stage": "s1",
            "won": [1.0, 1.0, 1.0, 0.0],  # a won after three snapshots in s1, b lost after one
        }
    )
    deal = ph.stage_win_rates(rows, rule="deal", prior=0, by=("stage",)).iloc[0]
    snap = ph.stage_win_rates(rows, rule="snapshot", prior=0, by=("stage",)).iloc[0]
    assert deal["win_rate"] == pytest.approx(1 / 2) and deal["closed"] == 2
    assert snap["win_rate"] == pytest.approx(3 / 4) and snap["closed"] == pytest.approx(2.0)
    with pytest.raises(ValueError, match="rule must be one of"):
        ph.stage_win_rates(rows, rule="appearance", prior=0)


# ----------------------------------------------------------------------------- one pipeline


def test_scoring_and_forecasting_snapshots_are_the_same_pipeline(both_pipelines) -> None:
    fsnap, rows = both_pipelines
    f = fsnap.assign(t=fsnap["snapshot"]).set_index(["opportunity_id", "t"]).sort_index()
    s = rows.assign(t=rows["snapshot_date"] + pd.Timedelta(days=1))
    s = s.set_index(["opportunity_id", "t"]).sort_index()
    assert len(f) > 1000 and f.index.equals(s.index)
    assert (f["stage"].astype(str) == s["stage"].astype(str)).all()
    assert (f["closed"] == s["won"].notna()).all()
    assert (f["won"] == (s["won"] == 1)).all()


@pytest.mark.parametrize(("rule", "prior"), [("deal", 5.0), ("snapshot", 10.0), ("deal", 0.0)])
def test_both_reports_give_the_same_stage_win_rate(both_pipelines, rule, prior) -> None:
    fsnap, rows = both_pipelines
    # deal scoring's code path: the stage-rate baseline fitted on its snapshot rows
    base = scoring.StageRateBaseline(by=("stage", "type"), prior=prior, rule=rule).fit(rows)
    scored = base.tables[-1]
    # forecasting's code path: the rates the bookings forecast looks deals up in
    deals = fsnap.drop_duplicates(["stage", "type"])[["stage", "type"]].reset_index(drop=True)
    forecast = ph.lookup_rates(deals, fc.stage_win_rates(fsnap, rule=rule, prior=prior))
    looked_up = base.predict(deals)
    np.testing.assert_allclose(looked_up, forecast["win_rate"].to_numpy(), rtol=1e-12)
    table = fc.stage_win_rates(fsnap, rule=rule, prior=prior)
    pd.testing.assert_frame_equal(
        scored.astype({"stage": str, "type": str}),
        table.astype({"stage": str, "type": str}),
        check_dtype=False,
    )


def test_stage_conversion_is_the_deal_rule_over_every_change(sample) -> None:
    opps, hist = sample["opportunities"], sample["opportunity_history"]
    conv = fc.stage_conversion(hist, opps, as_of=AS_OF).set_index("stage")
    h = ph.prepare_history(hist)
    o = ph.check_opportunities(opps).set_index("opportunity_id")
    done = o[(o["status"] != "open") & (o["close_date"] < AS_OF)]
    h = h[(h["changed_at"] < AS_OF) & h["opportunity_id"].isin(done.index)]
    reached = h.drop_duplicates(["opportunity_id", "stage"])
    won = reached["opportunity_id"].map(done["status"] == "won")
    for stage, r in conv.iterrows():
        m = reached["stage"] == stage
        assert r["reached"] == m.sum() and r["won"] == won[m].sum()
        assert r["win_rate"] == pytest.approx(won[m].mean())


def test_stage_order_is_the_funnel_not_the_alphabet() -> None:
    """Stages come in the order deals reach them (history), else by the open deals' age."""
    from revlib.pipeline_history import stage_order

    history = pd.DataFrame(
        {
            "opportunity_id": ["a", "a", "a", "b", "b", "c"],
            "changed_at": pd.to_datetime(
                ["2024-01-01", "2024-02-01", "2024-03-01", "2024-01-05", "2024-02-05", "2024-01-09"]
            ),
            "stage": ["prospecting", "demo", "negotiation", "prospecting", "demo", "prospecting"],
        }
    )
    deals = pd.DataFrame(
        {"stage": ["negotiation", "demo", "prospecting"], "age_days": [90.0, 40.0, 5.0]}
    )
    assert stage_order(history, deals) == ["prospecting", "demo", "negotiation"]
    assert stage_order(None, deals) == ["prospecting", "demo", "negotiation"]
    assert stage_order(None, deals.assign(age_days=[1.0, 40.0, 5.0])) == [
        "negotiation",
        "prospecting",
        "demo",
    ]
