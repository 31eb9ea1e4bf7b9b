"""Tests of revlib.synth: reproducibility, the contract, internal consistency, and that the
generated data carry the truth recorded in ground_truth.json."""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.optimize import minimize

from revlib.data import CONTRACT, load_tables, read_json, validate_tables
from revlib.synth import SynthConfig, crm, generate_company, synth_command, write_company
from revlib.synth._core import TRUE_PARAMS, merge_params
from revlib.synth.summary import movements, mrr_matrix
from revlib.synth.truth import shapley_by_channel

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
DOCS = ROOT / "docs" / "synth.md"
SMALL = SynthConfig(seed=7, accounts=300, months=24)


@pytest.fixture(scope="module")
def sample() -> dict[str, pd.DataFrame]:
    return load_tables(SAMPLE)


@pytest.fixture(scope="module")
def truth() -> dict:
    return read_json(SAMPLE / "ground_truth.json")


@pytest.fixture(scope="module")
def end(truth) -> pd.Timestamp:
    return pd.Timestamp(truth["calendar"]["end_exclusive"])


@pytest.fixture(scope="module")
def monthly_mrr(sample, truth, end) -> pd.DataFrame:
    months = pd.date_range(truth["calendar"]["start"], end - pd.offsets.MonthBegin(1), freq="MS")
    return mrr_matrix(sample["subscriptions"], months, sample["fx_rates"])


# ----------------------------------------------------------------------------- reproducibility


def test_sample_is_byte_identical_to_a_fresh_run(tmp_path):
    out = synth_command(seed=42, accounts=2000, months=36, out=tmp_path / "fresh")
    assert SynthConfig() == SynthConfig(seed=42, accounts=2000, months=36, start="2023-01-01")
    fresh = sorted(p.name for p in out.iterdir())
    bundled = sorted(p.name for p in SAMPLE.iterdir())
    assert fresh == bundled
    different = [
        name for name in fresh if (out / name).read_bytes() != (SAMPLE / name).read_bytes()
    ]
    assert different == [], (
        f"regenerate data/sample: {different} differ from a fresh `revlib synth`"
    )


def test_same_seed_same_company_and_different_seeds_differ():
    a, b = generate_company(SMALL), generate_company(SMALL)
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    assert a.truth == b.truth
    c = generate_company(SynthConfig(seed=8, accounts=300, months=24))
    assert not a.tables["subscriptions"]["mrr"].equals(c.tables["subscriptions"]["mrr"])
    assert a.truth["elasticity"]["groups"] != c.truth["elasticity"]["groups"]
    assert a.truth["headline"]["arr_usd"] != c.truth["headline"]["arr_usd"]


def test_write_company_replaces_an_earlier_company(tmp_path):
    small = generate_company(SMALL)
    write_company(small, tmp_path)
    (tmp_path / "funnel.parquet").write_bytes(b"stale")
    del small.tables["funnel"]
    write_company(small, tmp_path)
    assert not (tmp_path / "funnel.csv").exists() and not (tmp_path / "funnel.parquet").exists()


def test_config_errors_list_every_problem():
    with pytest.raises(
        ValueError, match=r"months must be between 13 and 120, got 5.*start must be the first"
    ):
        SynthConfig(months=5, start="2023-01-15").check()
    with pytest.raises(ValueError, match=r"unknown parameter section\(s\) \['nope'\]"):
        generate_company(SynthConfig(overrides={"nope": {}}))
    with pytest.raises(
        ValueError, match=r"unknown parameter\(s\) \['slope'\] in section 'pricing'"
    ):
        merge_params(TRUE_PARAMS, {"pricing": {"slope": 1}})
    merged = merge_params(TRUE_PARAMS, {"pricing": {"noise_sd": 0.3}})
    assert merged["pricing"]["noise_sd"] == 0.3 and TRUE_PARAMS["pricing"]["noise_sd"] == 0.15


def test_overrides_drive_the_simulation():
    base = generate_company(SMALL)
    over = generate_company(
        SynthConfig(
            seed=7,
            accounts=300,
            months=24,
            overrides={"pricing": {"elasticity_mu": -3.0, "elasticity_tau": 0.01}},
        )
    )
    e = [g["elasticity"] for g in over.truth["elasticity"]["groups"].values()]
    assert np.allclose(e, -3.0, atol=0.05)
    assert over.truth["params"]["pricing"]["elasticity_mu"] == -3.0
    assert base.truth["params"]["pricing"]["elasticity_mu"] == -1.8


# ----------------------------------------------------------------------------- contract & consistency


def test_sample_passes_the_contract_and_has_every_table(sample):
    assert set(sample) == set(CONTRACT)
    # in-memory tables validate too (same checks, no files)
    validate_tables(generate_company(SMALL).tables)


def test_sample_size_budget():
    sizes = {p.name: p.stat().st_size for p in SAMPLE.iterdir()}
    assert max(sizes.values()) < 8e6, sizes
    assert sum(sizes.values()) < 16e6, sum(sizes.values())


def test_subscription_ledger_rows_never_overlap(sample):
    s = sample["subscriptions"].sort_values(["account_id", "start_date"])
    same = s["account_id"].eq(s["account_id"].shift(-1))
    nxt = s["start_date"].shift(-1)
    # every row but an account's last is closed, and the next one starts on or after its end
    assert s.loc[same, "end_date"].notna().all()
    assert (nxt[same] >= s.loc[same, "end_date"]).all()
    assert (s["mrr"] > 0).all() and (s["quantity"] >= 1).all()
    assert s.groupby("account_id")["currency"].nunique().max() == 1


def test_movement_kinds_all_occur_and_identity_holds(monthly_mrr):
    mv = movements(monthly_mrr)
    for kind in ("new", "reactivation", "expansion", "contraction", "churn"):
        assert (mv[kind].iloc[1:] > 0).sum() >= 20, kind
    lhs = (
        mv["opening"]
        + mv["new"]
        + mv["reactivation"]
        + mv["expansion"]
        - mv["contraction"]
        - mv["churn"]
    )
    np.testing.assert_allclose(lhs, mv["closing"], rtol=1e-9)
    np.testing.assert_allclose(
        mv["opening"].iloc[1:].to_numpy(), mv["closing"].iloc[:-1].to_numpy()
    )


def test_ledger_matches_the_truth_months(monthly_mrr, truth):
    mv = movements(monthly_mrr)
    window = [m for m in truth["mrr"] if not m["hidden"]]
    assert len(window) == len(mv)
    for key in ("closing", "new", "expansion", "contraction", "churn", "reactivation"):
        np.testing.assert_allclose(mv[key].to_numpy(), [m[f"mrr_{key}"] for m in window], atol=0.05)
    np.testing.assert_array_equal(
        mv["churned_accounts"].to_numpy(), [m["churned_accounts"] for m in window]
    )
    assert any(m["hidden"] for m in truth["mrr"]), "hidden future months for forecast checks"


def test_won_new_business_becomes_the_first_subscription(sample, truth):
    opps, subs, fx = sample["opportunities"], sample["subscriptions"], sample["fx_rates"]
    won = opps[(opps["type"] == "new_business") & (opps["status"] == "won")].set_index("account_id")
    first = subs.sort_values("start_date").groupby("account_id").first()
    assert won.index.is_unique
    assert won.index.isin(first.index).all()
    np.testing.assert_array_equal(first.loc[won.index, "start_date"], won["close_date"])
    rate = first.loc[won.index, "currency"].map(
        dict(zip(fx["currency"], fx["rate_to_reporting"], strict=True))
    )
    np.testing.assert_allclose(12 * first.loc[won.index, "mrr"] * rate, won["amount"], atol=0.02)
    assert (first.loc[won.index, "product"] == won["product"]).all()
    # every other customer is in the opening book: first subscription on the start date
    others = first.drop(won.index)
    assert len(others) == truth["sizes"]["opening_book"]
    assert (others["start_date"] == pd.Timestamp(truth["calendar"]["start"])).all()
    # prospects (accounts that never paid) exist and carry the deals that were not won
    prospects = sample["accounts"].loc[
        ~sample["accounts"]["account_id"].isin(subs["account_id"]), "account_id"
    ]
    assert len(prospects) == truth["sizes"]["prospects"] > 0
    assert prospects.isin(opps["account_id"]).all()


def test_opportunities_agree_with_their_history(sample, end):
    opps = sample["opportunities"].set_index("opportunity_id")
    h = sample["opportunity_history"].sort_values(["opportunity_id", "changed_at"])
    first, last = h.groupby("opportunity_id").first(), h.groupby("opportunity_id").last()
    assert set(first.index) == set(opps.index)
    assert (first["change"] == "created").all()
    assert (first["changed_at"].dt.normalize() == opps.loc[first.index, "created_date"]).all()
    for col in ("stage", "amount", "close_date"):
        pd.testing.assert_series_equal(last[col], opps.loc[last.index, col], check_names=False)
    assert (h["changed_at"] < end).all()
    closed = opps[opps["status"] != "open"]
    assert (
        closed["stage"] == closed["status"].map({"won": "closed_won", "lost": "closed_lost"})
    ).all()
    assert set(opps.loc[opps["status"] == "open", "stage"]) <= set(crm.STAGES)
    assert (h["change"] == "close_date").sum() > 100, "expected close dates slip"
    assert (h["change"] == "amount").sum() > 100
    assert {"Apollo", "none"} <= set(opps["competitor"]) and opps["owner"].nunique() >= 10
    open_ = opps[opps["status"] == "open"]
    assert set(open_["type"]) == {"new_business", "expansion", "renewal"}


def test_journeys_link_converted_revenue_to_accounts(sample):
    j, t, o = sample["journeys"], sample["touchpoints"], sample["opportunities"]
    conv = j[j["converted"]]
    won = o.set_index("opportunity_id").loc[conv["opportunity_id"]]
    assert (won["status"] == "won").all()
    np.testing.assert_allclose(conv["revenue"].to_numpy(), won["amount"].to_numpy())
    assert (conv["account_id"].to_numpy() == won["account_id"].to_numpy()).all()
    n_touch = t.groupby("journey_id").size()
    assert (n_touch == 1).mean() > 0.05 and n_touch.max() >= 5
    assert t["touch_type"].isna().any() and t["touch_type"].notna().mean() > 0.8
    first_touch = t.sort_values("touched_at").groupby("journey_id")["channel"].first()
    assert (first_touch.loc[j["journey_id"]].to_numpy() == j["channel"].to_numpy()).all()
    assert (j["trial_at"].dropna() > j.loc[j["trial_at"].notna(), "lead_at"]).all()


def test_usage_health_and_invoices_are_consistent(sample, truth, end):
    u, hs, inv, subs = (
        sample["usage"],
        sample["health_signals"],
        sample["invoices"],
        sample["subscriptions"],
    )
    api = u[u["metric"] == "api_calls"].set_index(["account_id", "month"])["quantity"]
    h = hs.set_index(["account_id", "month"])
    np.testing.assert_array_equal(h.loc[api.index, "api_calls"].to_numpy(), api.to_numpy())
    assert set(u["metric"]) == {"api_calls", "leads_processed", "data_exports", "voice_calls"}
    assert (u["quantity"] > u["included"]).any(), "some overage"
    assert u.loc[u["included"].isna()].groupby("account_id").size().size > 0, (
        "unlimited (enterprise)"
    )
    assert hs["features_adopted"].between(0, 1).all() and hs["nps"].between(0, 10).all()
    # one health row per account paying at the month's end, with the ledger's seats
    me = hs["month"] + pd.offsets.MonthEnd(0)
    on = hs[["account_id", "seats"]].assign(me=me).reset_index()
    on = on.merge(subs[["account_id", "start_date", "end_date", "quantity"]], on="account_id")
    on = on[(on["start_date"] <= on["me"]) & (on["end_date"].isna() | (on["end_date"] > on["me"]))]
    assert on["index"].is_unique and len(on) == len(hs)
    assert (on["seats"] == on["quantity"]).all()
    # invoices: terms, lateness, unpaid, currency of the account
    assert (inv["due_date"] >= inv["issued_date"]).all()
    late = inv["paid_date"] > inv["due_date"]
    assert 0.05 < late.mean() < 0.4
    unpaid = inv["paid_date"].isna()
    assert unpaid.any() and (inv.loc[unpaid, "paid_amount"] == 0).all()
    assert (inv.loc[unpaid & (inv["due_date"] < end - pd.DateOffset(months=3))].shape[0]) > 0, (
        "write-offs"
    )
    cur = subs.groupby("account_id")["currency"].first()
    assert (inv["currency"].to_numpy() == cur.loc[inv["account_id"]].to_numpy()).all()
    assert set(subs["currency"]) >= {"USD", "EUR", "GBP"}
    assert (subs["billing"] == "annual").mean() > 0.15


def test_financials_recognise_the_subscription_ledger(sample):
    subs, fin = sample["subscriptions"], sample["financials"]
    rate = subs["currency"].map(
        dict(
            zip(
                sample["fx_rates"]["currency"], sample["fx_rates"]["rate_to_reporting"], strict=True
            )
        )
    )
    usd = subs["mrr"] * rate
    for month in fin["month"].iloc[[0, 11, 35]]:
        nxt = month + pd.offsets.MonthBegin(1)
        end = subs["end_date"].fillna(pd.Timestamp("2100-01-01"))
        days = (end.clip(upper=nxt) - subs["start_date"].clip(lower=month)).dt.days.clip(lower=0)
        expected = (usd * days).sum() / (nxt - month).days
        got = fin.loc[fin["month"] == month, "subscription_revenue"].item()
        assert got == pytest.approx(expected, rel=1e-6)
    np.testing.assert_allclose(
        fin["revenue"], fin["subscription_revenue"] + fin["usage_revenue"], atol=0.02
    )
    margin = 1 - fin["cogs"].sum() / fin["revenue"].sum()
    assert 0.7 < margin < 0.8
    opex = fin[["cogs", "sales_marketing", "research_development", "general_administrative"]].sum(
        axis=1
    )
    np.testing.assert_allclose(fin["operating_income"], fin["revenue"] - opex, atol=0.05)
    spend = sample["spend"].groupby("month")["amount"].sum()
    np.testing.assert_allclose(spend.to_numpy(), fin["sales_marketing"].to_numpy(), atol=0.05)


# ----------------------------------------------------------------------------- the data carry the truth


def test_ols_on_price_observations_recovers_the_elasticities(sample, truth):
    """Plain OLS per tier x region: log(units) ~ log(price) + promo. Tolerance: each group within
    0.35 of its true elasticity (about 3 standard errors: noise 0.15, ~100 weeks of price moves),
    mean absolute error < 0.15, and the mean of the estimates within 0.1 of the true mean."""
    po = sample["price_observations"]
    est, true = [], []
    for (product, region), g in po.groupby(["product", "region"]):
        X = np.column_stack([np.ones(len(g)), np.log(g["price"]), g["promo"]])
        beta = np.linalg.lstsq(X, np.log(g["units"]), rcond=None)[0]
        est.append(beta[1])
        true.append(truth["elasticity"]["groups"][f"{product}|{region}"]["elasticity"])
        assert beta[2] == pytest.approx(truth["elasticity"]["promo_effect"], abs=0.15)
    err = np.array(est) - np.array(true)
    assert len(est) == 25 and len(po) <= 25 * 100
    assert np.abs(err).max() < 0.35 and np.abs(err).mean() < 0.15
    assert np.mean(est) == pytest.approx(truth["elasticity"]["mean_elasticity_realised"], abs=0.1)
    assert all(e < -1 for e in true)


def _binomial_ok(outcomes: np.ndarray, p: np.ndarray, z: float = 3.5) -> tuple[float, float, float]:
    se = math.sqrt(np.sum(p * (1 - p))) / len(p)
    return float(outcomes.mean()), float(p.mean()), se


def test_realised_win_rate_matches_the_true_probabilities(sample, truth, end):
    """Deals created 9+ months before the end have all closed (no censoring); the realised win
    rate of each type must lie within 3.5 binomial standard errors of the mean true p."""
    opps = sample["opportunities"]
    p = opps["opportunity_id"].map(truth["win_model"]["p"])
    assert p.notna().all()
    old = opps["created_date"] < end - pd.DateOffset(months=9)
    assert (opps.loc[old, "status"] != "open").all()
    for kind in ("new_business", "expansion", "renewal"):
        sel = old & (opps["type"] == kind)
        rate, mean_p, se = _binomial_ok(
            (opps.loc[sel, "status"] == "won").to_numpy(), p[sel].to_numpy()
        )
        assert abs(rate - mean_p) < 3.5 * se, (kind, rate, mean_p, se)
    nb = old & (opps["type"] == "new_business")
    assert 0.2 < (opps.loc[nb, "status"] == "won").mean() < 0.32
    # open deals: the snapshot probability predicts what happens next
    open_deals = truth["win_model"]["open_deals"]
    snap = [
        (v["p_snapshot"], v["eventual_status"] == "won")
        for v in open_deals.values()
        if "p_snapshot" in v
    ]
    ps, won = np.array([s[0] for s in snap]), np.array([s[1] for s in snap])
    rate, mean_p, se = _binomial_ok(won, ps)
    assert abs(rate - mean_p) < 3.5 * se
    assert set(open_deals) == set(opps.loc[opps["status"] == "open", "opportunity_id"])


def test_win_probability_is_the_documented_logistic_function():
    """Golden value: a mid-market 'scale' deal in the EU against Apollo, $24k at creation, 10 %
    discount, a rep of skill 0.2, touched content + direct_sales."""
    P = TRUE_PARAMS
    touched = np.zeros((1, 7))
    touched[0, [2, 3]] = 1  # content, direct_sales
    eta = crm.win_logit(
        P,
        type_name="new_business",
        segment=np.array([1]),
        tier=np.array([2]),
        region=np.array([1]),
        competitor=np.array([1]),
        amount=np.array([24000.0]),
        discount=np.array([10.0]),
        rep_skill=np.array([0.2]),
        touched=touched,
    )
    by_hand = -2.3 + 0 - 0.2 + 0.0 - 0.1 - 0.6 - 0.15 * math.log(2) + 0.03 * 10 + 0.2 + 0.45 + 0.70
    assert eta[0] == pytest.approx(by_hand)
    # stage posterior: Q_k from the exit distribution, p / (p + (1 - p) Q_k)
    np.testing.assert_allclose(crm.exit_tail(P), [1.0, 0.75, 0.5, 0.3, 0.12])
    assert crm.p_given_stage(np.array([0.25]), np.array([2]), P)[0] == pytest.approx(
        0.25 / (0.25 + 0.75 * 0.5)
    )


def test_funnel_rates_match_the_true_rates(sample, truth, end):
    f = sample["funnel"]
    mature = (
        f[f["month"] < end - pd.DateOffset(months=6)]
        .groupby("channel")[["visitors", "leads", "trials", "customers"]]
        .sum()
    )
    for channel, row in mature.iterrows():
        tr = truth["funnel"]["by_channel"][channel]
        for num, den, key in (
            ("leads", "visitors", "visitor_to_lead"),
            ("trials", "leads", "lead_to_trial"),
            ("customers", "trials", "trial_to_paid"),
        ):
            p = tr[key]
            se = math.sqrt(p * (1 - p) / row[den])
            assert abs(row[num] / row[den] - p) < 4 * se + 0.01, (
                channel,
                key,
                row[num] / row[den],
                p,
            )
    total = mature.sum()
    assert total["leads"] / total["visitors"] == pytest.approx(0.08, abs=0.015)
    assert total["trials"] / total["leads"] == pytest.approx(0.15, abs=0.03)
    assert total["customers"] / total["trials"] == pytest.approx(0.40, abs=0.05)
    assert (f["expansions"] > 0).mean() > 0.5


def test_price_tests_large_test_finds_the_best_price_small_one_cannot(sample, truth):
    pt = sample["price_tests"].assign(rpv=lambda d: d["price"] * d["conversions"] / d["visitors"])

    def z_best_vs_runner_up(g: pd.DataFrame) -> float:
        g = g.sort_values("rpv", ascending=False)
        a, b = g.iloc[0], g.iloc[1]
        var = (
            a["price"] ** 2
            * (a["conversions"] / a["visitors"])
            * (1 - a["conversions"] / a["visitors"])
            / a["visitors"]
            + b["price"] ** 2
            * (b["conversions"] / b["visitors"])
            * (1 - b["conversions"] / b["visitors"])
            / b["visitors"]
        )
        return float((a["rpv"] - b["rpv"]) / math.sqrt(var))

    big = pt[pt["test_id"] == "PT-01-starter-na"]
    assert (
        big.loc[big["rpv"].idxmax(), "price"]
        == truth["price_tests"]["PT-01-starter-na"]["best_price"]
    )
    assert z_best_vs_runner_up(big) > 3
    small = pt[pt["test_id"] == "PT-03-starter-eu"]
    assert z_best_vs_runner_up(small) < 1.96, "the small test cannot tell its arms apart"
    for tid, g in pt.groupby("test_id"):
        conv = np.array(truth["price_tests"][tid]["true_conversion"])
        obs = (g["conversions"] / g["visitors"]).to_numpy()
        se = np.sqrt(conv * (1 - conv) / g["visitors"].to_numpy())
        assert (np.abs(obs - conv) < 4 * se).all(), tid
    assert set(pt.loc[pt["product"] == "growth", "price"]) == {129, 149, 169, 199}


def test_offer_tests_realise_their_true_rates(sample, truth):
    ot = sample["offer_tests"]
    assert set(ot["test_id"]) == set(truth["offer_tests"])
    for tid, g in ot.groupby("test_id", sort=False):
        t = truth["offer_tests"][tid]
        assert list(g["variant"]) == t["variants"]
        for col, of_what, key in (
            ("conversions", "visitors", "true_conversion"),
            ("annual_customers", "conversions", "true_annual_share"),
            ("early_churned", "conversions", "true_early_churn_90d"),
        ):
            p = np.array(t[key])
            n = g[of_what].to_numpy(float)
            se = np.sqrt(p * (1 - p) / n)
            assert (np.abs(g[col].to_numpy() / n - p) < 4 * se + 1e-9).all(), (tid, key)
    # the sample's headline case: conversion and value per visitor disagree
    ot1 = truth["offer_tests"]["OT-01-discount-growth-na"]
    assert ot1["best_by_conversion"] == "C-20%" and ot1["best_by_value"] == "B-15%"


def test_offer_truth_uses_the_analysis_definitions(truth):
    # The truth's economics equal revlib.pricing.offers' formulas at the true rates (huge,
    # exact counts and a vanishing prior pin the posterior to the rates).
    from revlib.pricing import offers as of

    t = truth["offer_tests"]["OT-02-trial-scale-na"]
    n = 10**9
    conv = np.array(t["true_conversion"])
    cust = np.round(n * conv)
    arms = pd.DataFrame(
        {
            "test_id": "x",
            "kind": "free_trial",
            "variant": t["variants"],
            "list_price": 299.0,
            "annual_discount": 0.15,
            "trial_days": [14, 21, 30],
            "visitors": n,
            "conversions": cust,
            "annual_customers": np.round(cust * np.array(t["true_annual_share"])),
            "early_churned": np.round(cust * np.array(t["true_early_churn_90d"])),
            "early_churn_days": 90,
            "acquisition_cost": n
            * (t["cost_per_visitor"] + np.array(t["true_trial_rate"]) * np.array(t["trial_cost"])),
        }
    )
    d = of.offer_draws(of.offer_arms(arms), prior=(1e-9, 1e-9), draws=50, seed=0)
    for key, name in (("ltv", "true_ltv"), ("payback", "true_payback")):
        assert np.median(d[key], axis=0) == pytest.approx(t[name], rel=1e-3), key
    assert np.median(d["value"], axis=0) == pytest.approx(t["true_value_per_visitor"], rel=1e-3)


def test_shapley_values_match_a_brute_force_permutation_average():
    rng = np.random.default_rng(0)
    n, k = 40, 4
    touched = (rng.random((n, k)) < 0.6).astype(float)
    eta0, gamma, value = rng.normal(-1, 0.5, n), rng.normal(0.3, 0.4, k), rng.uniform(1, 5, n)
    fast = shapley_by_channel(eta0, touched, gamma, value)

    def v(j: int, chans: list[int]) -> float:
        return value[j] / (1 + math.exp(-(eta0[j] + gamma[chans].sum())))

    for j in range(n):
        players = list(np.flatnonzero(touched[j]))
        naive = np.zeros(k)
        perms = list(itertools.permutations(players))
        for order in perms:
            seen: list[int] = []
            for c in order:
                naive[c] += v(j, [*seen, c]) - v(j, seen)
                seen.append(c)
        naive /= max(len(perms), 1)
        np.testing.assert_allclose(fast[j], naive, atol=1e-12)
        assert fast[j].sum() == pytest.approx(v(j, players) - v(j, []))


def test_attribution_truth_shares_sum_to_one(truth):
    a = truth["attribution"]
    for basis in ("revenue", "conversions"):
        for key in ("shapley_share", "removal_share"):
            assert sum(a[basis][key].values()) == pytest.approx(1.0)
    ranked = sorted(a["revenue"]["shapley_share"], key=a["revenue"]["shapley_share"].get)
    assert ranked[-1] == "direct_sales" and ranked[0] in ("social", "paid_search")


def _logit_fit(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unpenalised logistic regression (Newton via BFGS start) and the inverse Fisher information."""

    def nll(b):
        eta = X @ b
        return np.sum(np.logaddexp(0, eta) - y * eta)

    def grad(b):
        return X.T @ (1 / (1 + np.exp(-(X @ b))) - y)

    b = minimize(nll, np.zeros(X.shape[1]), jac=grad, method="BFGS").x
    for _ in range(5):  # polish with Newton steps
        p = 1 / (1 + np.exp(-(X @ b)))
        H = X.T @ (X * (p * (1 - p))[:, None])
        b = b - np.linalg.solve(H, grad(b))
    p = 1 / (1 + np.exp(-(X @ b)))
    return b, np.linalg.inv(X.T @ (X * (p * (1 - p))[:, None]))


@pytest.mark.slow
def test_logistic_regression_on_health_signals_recovers_the_churn_hazard(
    sample, truth, monthly_mrr
):
    """Monthly-plan account-months: churn next month ~ the documented features of this month's
    health signals. The joint Wald statistic of (estimate - truth) must pass a chi-square test
    at the 0.1 % level (i.e. the truth is inside the 99.9 % confidence ellipsoid)."""
    subs, hs, acc = sample["subscriptions"], sample["health_signals"], sample["accounts"]
    months = monthly_mrr.columns
    billing = subs.groupby("account_id")["billing"].last()
    hs = hs[(hs["account_id"].map(billing) == "monthly") & (hs["month"] < months[-1])].copy()
    j = hs["month"].map({m: i for i, m in enumerate(months)}).to_numpy()
    a = monthly_mrr.index.get_indexer(hs["account_id"])
    y = (monthly_mrr.to_numpy()[a, j + 1] == 0).astype(float)
    month_end = hs["month"] + pd.offsets.MonthEnd(0)
    cur = (
        hs[["account_id"]]
        .assign(me=month_end)
        .reset_index()
        .merge(subs[["account_id", "start_date", "end_date", "product"]], on="account_id")
    )
    cur = cur[
        (cur["start_date"] <= cur["me"]) & (cur["end_date"].isna() | (cur["end_date"] > cur["me"]))
    ].set_index("index")
    created = hs["account_id"].map(acc.set_index("account_id")["created_at"])
    tenure = (
        (hs["month"].dt.year - created.dt.year) * 12 + hs["month"].dt.month - created.dt.month + 1
    )
    seats = hs["seats"].clip(lower=1)
    feats = {
        "utilisation": hs["active_users"] / seats,
        "features_adopted": hs["features_adopted"],
        "nps_minus_7": hs["nps"] - 7,
        "payment_late_days_over_30": hs["payment_late_days"].clip(upper=90) / 30,
        "competitive_evaluation": hs["competitive_evaluation"].astype(float),
        "exec_engagement": hs["exec_engagement"].astype(float),
        "log1p_support_tickets": np.log1p(hs["support_tickets"]),
        "log_seats": np.log(seats),
        "log1p_tenure_months": np.log1p(tenure),
        "tier_index": cur.loc[hs.index, "product"].map({t: i for i, t in enumerate(crm.TIERS)}),
    }
    coef = truth["churn_model"]["coefficients"]
    assert set(coef) == {"intercept", *feats}
    X = np.column_stack([np.ones(len(hs)), *[np.asarray(feats[k], float) for k in feats]])
    b, cov = _logit_fit(X, y)
    beta = np.array([coef["intercept"], *[coef[k] for k in feats]])
    d = b - beta
    wald = float(d @ np.linalg.solve(cov, d))
    assert y.sum() > 300
    assert wald < stats.chi2.ppf(0.999, len(beta)), (
        wald,
        dict(zip(["intercept", *feats], b.round(2), strict=True)),
    )


def test_headline_figures_look_like_a_saas_company(truth):
    h = truth["headline"]
    assert 0.25 < h["arr_growth_yoy"] < 0.6
    assert 1.0 < h["nrr_ttm"] < 1.15 and 0.85 < h["grr_ttm"] < 0.93
    assert 0.015 < h["logo_churn_monthly_mean_ttm"] < 0.03
    assert 0.2 < h["new_business_win_rate_ttm"] < 0.32
    assert 12 < h["cac_payback_months_ttm"] < 24 and 0.7 < h["gross_margin_ttm"] < 0.8
    target = dict(zip(crm.TIERS, truth["plan"]["tier_mix_target"], strict=True))
    for tier, share in h["tier_mix_active"].items():
        assert share == pytest.approx(target[tier], abs=0.06), tier
    assert truth["sizes"]["customers"] == pytest.approx(2000, rel=0.05)


def test_docs_describe_every_truth_field_and_the_headline(truth):
    text = DOCS.read_text(encoding="utf-8")
    data_keyed = {
        "params",
        "price_tests",
        "offer_tests",
        "win_model.p",
        "win_model.open_deals",
        "win_model.rep_skill",
        "elasticity.groups",
        "funnel.by_channel",
        "attribution.gamma",
        "generator.overrides",
        "churn_model.coefficients",
        "churn_model.features",
        "plan.region_price_level",
        "plan.included_per_month",
        "win_model.coefficients",
        "win_model.lost_exit_stage_probs",
        "win_model.lost_reach_stage_share",
        "expansion_models.upgrade_attempt_model",
        "expansion_models.seat_expansion_model",
        "expansion_models.contraction_model",
        "expansion_models.reactivation",
        "expansion_models.renewal_uplift",
        "headline.tier_mix_active",
    }
    missing = []
    for key, value in truth.items():
        if f"`{key}`" not in text:
            missing.append(key)
        if isinstance(value, dict) and key not in data_keyed:
            for sub in value:
                if (
                    f"{key}.{sub}" not in data_keyed
                    and f"`{sub}`" not in text
                    and f"`{key}.{sub}`" not in text
                ):
                    missing.append(f"{key}.{sub}")
    for sub in truth["mrr"][-1]:
        if f"`{sub}`" not in text:
            missing.append(f"mrr[].{sub}")
    for sub in next(iter(truth["price_tests"].values())):
        if f"`{sub}`" not in text:
            missing.append(f"price_tests.*.{sub}")
    for sub in next(iter(truth["offer_tests"].values())):
        if f"`{sub}`" not in text:
            missing.append(f"offer_tests.*.{sub}")
    assert missing == []
    arr = f"{truth['headline']['arr_usd']:,.0f}"
    assert arr in text, f"docs/synth.md headline ARR should read {arr}"
    for section in TRUE_PARAMS:
        assert f"`{section}`" in text, section


def test_stale_headline_numbers_in_docs_are_caught(truth):
    text = DOCS.read_text(encoding="utf-8")
    figures = re.findall(r"\| (NRR|GRR) \(TTM\) \| ([0-9.]+) %", text)
    assert figures, "the headline table lists NRR and GRR"
    for name, value in figures:
        assert float(value) == pytest.approx(
            100 * truth["headline"][f"{name.lower()}_ttm"], abs=0.05
        )
