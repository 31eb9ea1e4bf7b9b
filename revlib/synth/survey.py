"""Willingness-to-pay survey answers with known truth: ``wtp_responses`` (Van Westendorp +
Newton-Miller-Smith) and ``gabor_granger``.

Truth. Each respondent of company size ``s`` has a *revealed* willingness to pay (USD/month,
what they would actually pay) ``W ~ LogNormal(log(m_s), sigma)`` with ``m_s`` the geometric
middle of the segment's budget band (startup 100-500, SMB 500-2,000, mid-market
2,000-10,000, enterprise 10,000-50,000) and ``sigma`` such that ``BUDGET_COVERAGE`` of the
segment falls in its band. In a survey they *state* ``S = W x stated_to_revealed`` (the
stated-vs-revealed bias; < 1: 78 % find current solutions overpriced, so they understate).

Van Westendorp answers are ``S`` times the ``PSM_FACTORS`` (too cheap, cheap, expensive,
too expensive) times LogNormal(0, ``answer_noise``) noise, sorted, rounded to two
significant figures; ``inconsistent_share`` of respondents swap their cheap and expensive
answers. Purchase intent at the cheap/expensive price (5 = definitely .. 1 = definitely not)
falls with price / S. Gabor-Granger: each respondent sees the segment's price ladder
(``GG_LADDER`` x m_s) and would buy when ``S x LogNormal(0, answer_noise)`` >= price.

The truth a report should recover: the population PSM points per segment (from
``TRUTH_RESPONDENTS`` simulated respondents), the stated demand curve
``P(buy | p) = 1 - Phi((log p - log(m_s x stated_to_revealed)) / sqrt(sigma^2 + noise^2))``
and its revenue-maximising price, and ``stated_to_revealed``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from revlib.wtp import van_westendorp as vw

COMPANY_SIZES = ("startup", "smb", "mid_market", "enterprise")
BUDGETS = {  # USD per month
    "startup": (100.0, 500.0),
    "smb": (500.0, 2_000.0),
    "mid_market": (2_000.0, 10_000.0),
    "enterprise": (10_000.0, 50_000.0),
}
PERSONAS = ("economic_buyer", "champion", "end_user")
SURVEY_REGIONS = ("NA", "EU", "APAC", "LATAM")
BUDGET_COVERAGE = 0.8
PSM_FACTORS = (0.45, 0.75, 1.25, 1.7)
GG_LADDER = (0.4, 0.6, 0.8, 1.0, 1.25, 1.6, 2.0)
TRUTH_RESPONDENTS = 100_000
SURVEY = {
    "respondents_per_size": 120,
    "stated_to_revealed": 0.85,
    "answer_noise": 0.12,
    "inconsistent_share": 0.05,
}


def sigma_for(budget: tuple[float, float], coverage: float = BUDGET_COVERAGE) -> float:
    """Log-sd putting ``coverage`` of a lognormal centred on the band's geometric middle
    inside the band."""
    half = np.log(budget[1] / budget[0]) / 2
    return float(half / stats.norm.ppf(0.5 + coverage / 2))


def middle(budget: tuple[float, float]) -> float:
    """Geometric middle of a budget band (USD/month)."""
    return float(np.sqrt(budget[0] * budget[1]))


def _sig2(x: np.ndarray) -> np.ndarray:
    """Round to two significant figures (how people answer price questions)."""
    mag = 10.0 ** (np.floor(np.log10(np.maximum(x, 1e-9))) - 1)
    return np.round(x / mag) * mag


def _intent(rng: np.random.Generator, ratio: np.ndarray) -> np.ndarray:
    """Purchase intent 1..5 at price = ratio x stated WTP (lower price, higher intent)."""
    z = 3.0 - 4.0 * np.log(ratio) + rng.normal(0, 0.7, len(ratio))
    return np.clip(np.round(z), 1, 5).astype(np.int64)


def psm_answers(
    rng: np.random.Generator, stated: np.ndarray, noise: float, inconsistent: float
) -> np.ndarray:
    """n x 4 Van Westendorp answers for stated WTPs (see the module docstring)."""
    raw = stated[:, None] * np.asarray(PSM_FACTORS) * rng.lognormal(0, noise, (len(stated), 4))
    a = _sig2(np.sort(raw, axis=1))
    swap = rng.random(len(stated)) < inconsistent
    a[swap, 1], a[swap, 2] = a[swap, 2].copy(), a[swap, 1].copy()
    return a


def demand(price: np.ndarray, size: str, P: dict[str, Any] = SURVEY) -> np.ndarray:
    """True stated purchase probability at ``price`` (USD/month) for a company size."""
    b = BUDGETS[size]
    s = np.hypot(sigma_for(b), P["answer_noise"])
    mu = np.log(middle(b) * P["stated_to_revealed"])
    return stats.norm.sf((np.log(np.asarray(price, float)) - mu) / s)


def revenue_max_price(size: str, P: dict[str, Any] = SURVEY) -> float:
    """Price maximising price x :func:`demand` (USD/month)."""
    m = middle(BUDGETS[size])
    res = optimize.minimize_scalar(
        lambda lp: -np.exp(lp) * demand(np.exp(lp), size, P)[()],
        bounds=(np.log(m / 20), np.log(m * 20)),
        method="bounded",
        options={"xatol": 1e-9},
    )
    return float(np.exp(res.x))


def survey_tables(
    rng: np.random.Generator, P: dict[str, Any] = SURVEY
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """The ``wtp_responses`` and ``gabor_granger`` tables and their truth."""
    r_who, r_psm, r_gg, r_truth = rng.spawn(4)
    n = int(P["respondents_per_size"])
    size = np.repeat(np.asarray(COMPANY_SIZES, dtype=object), n)
    med = np.array([middle(BUDGETS[s]) for s in size])
    sig = np.array([sigma_for(BUDGETS[s]) for s in size])
    revealed = med * r_who.lognormal(0, 1, len(size)) ** sig
    stated = revealed * P["stated_to_revealed"]
    ans = psm_answers(r_psm, stated, P["answer_noise"], P["inconsistent_share"])
    ids = np.array([f"SR{i + 1:05d}" for i in range(len(size))], dtype=object)
    responses = pd.DataFrame(
        {
            "respondent_id": ids,
            "company_size": size,
            "region": np.asarray(SURVEY_REGIONS, dtype=object)[
                r_who.integers(0, len(SURVEY_REGIONS), len(size))
            ],
            "persona": np.asarray(PERSONAS, dtype=object)[
                r_who.integers(0, len(PERSONAS), len(size))
            ],
            "weight": np.round(r_who.uniform(0.6, 1.6, len(size)), 3),
            "too_cheap": ans[:, 0],
            "cheap": ans[:, 1],
            "expensive": ans[:, 2],
            "too_expensive": ans[:, 3],
            "pi_cheap": _intent(r_psm, ans[:, 1] / stated),
            "pi_expensive": _intent(r_psm, ans[:, 2] / stated),
        }
    )
    ladder = np.asarray(GG_LADDER)
    gg_price = _sig2(med[:, None] * ladder[None, :])
    seen = stated[:, None] * r_gg.lognormal(0, P["answer_noise"], gg_price.shape)
    gg = pd.DataFrame(
        {
            "respondent_id": np.repeat(ids, len(ladder)),
            "price": gg_price.ravel(),
            "would_buy": (seen >= gg_price).ravel(),
        }
    )
    truth: dict[str, Any] = {
        "params": dict(P),
        "budgets_usd_month": {k: list(v) for k, v in BUDGETS.items()},
        "psm_factors": list(PSM_FACTORS),
        "segments": {},
    }
    for s in COMPANY_SIZES:
        b = BUDGETS[s]
        big = middle(b) * r_truth.lognormal(0, 1, TRUTH_RESPONDENTS) ** sigma_for(b)
        pop = psm_answers(
            r_truth, big * P["stated_to_revealed"], P["answer_noise"], P["inconsistent_share"]
        )
        res = vw.van_westendorp(pd.DataFrame(pop, columns=list(vw.QUESTIONS)))
        truth["segments"][s] = {
            "revealed_wtp_median": round(middle(b), 2),
            "stated_wtp_median": round(middle(b) * P["stated_to_revealed"], 2),
            "log_sd": round(sigma_for(b), 6),
            "psm_points": {k: round(v, 2) for k, v in res.points.items()},
            "gabor_granger_revenue_max_price": round(revenue_max_price(s, P), 2),
        }
    return {"wtp_responses": responses, "gabor_granger": gg}, truth
