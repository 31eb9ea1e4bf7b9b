"""Pricing research: price elasticity (hierarchical Bayesian log-log demand), price tests
(Beta-Binomial arms, decisions, planning) and the revenue team's pricing rules.

Modules: :mod:`~revlib.pricing.elasticity` (demand model, optimal prices),
:mod:`~revlib.pricing.experiments` (price tests), :mod:`~revlib.pricing.rules` (catalog,
geographic levels, quotes, ROI, competitor alerts; data in ``revlib/pricing_rules.yaml``),
:mod:`~revlib.pricing.plots` (figures) and :mod:`~revlib.pricing.report` (report pieces).
"""

from revlib.pricing import elasticity, experiments, rules

__all__ = ["elasticity", "experiments", "rules"]
