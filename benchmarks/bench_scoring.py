"""Benchmark: train and score the deal model on 100,000 synthetic deals, LightGBM against
scikit-learn's HistGradientBoostingClassifier on the same features and the same split.

Each candidate runs in its own fresh process so its peak memory is its own. Reported per
candidate: wall time to train (including early stopping on the same held-out rows), wall time
to score every test row and every snapshot row, peak memory added during train + score (max RSS minus RSS before),
and test ROC AUC / log loss (uncalibrated, so the two are like for like); medians of
``--repeat`` runs. LightGBM as the report runs it stops after 100 rounds without improvement
and keeps the best iteration; ``lightgbm_patience10`` stops after 10, like
HistGradientBoosting, which keeps every tree it built (so it gets its default patience of 10).

    python benchmarks/bench_scoring.py [--deals 100000] [--seed 0] [--out benchmarks/results/scoring.json]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import statistics
import time


def _rss_mb() -> float:
    with open(
        "/proc/self/status", encoding="utf-8"
    ) as f:  # Linux; the benchmark runs on the CI image
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _hwm_mb() -> float:
    with open("/proc/self/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> None:
    """Reset the process's peak RSS (VmHWM) so it measures only what follows (Linux >= 4.0)."""
    with open("/proc/self/clear_refs", "w", encoding="utf-8") as f:
        f.write("5")


def _run(name: str, payload: dict, queue) -> None:
    import lightgbm  # noqa: F401  (imports before the baseline: they are not the model's memory)
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    from revlib.scoring.evaluation import log_loss, roc_auc_score
    from revlib.scoring.model import LGB_DEFAULTS, train_booster

    X, y, Xs, ys, Xt, yt, cats, threads = (
        payload[k] for k in ("X", "y", "Xs", "ys", "Xt", "yt", "cats", "threads")
    )
    before = _rss_mb()
    _reset_peak()
    t0 = time.perf_counter()
    if name.startswith("lightgbm"):
        params = LGB_DEFAULTS | {"num_threads": threads, "seed": 0}
        patience = 10 if name.endswith("patience10") else 100
        model = train_booster(
            X,
            y,
            X_stop=Xs,
            y_stop=ys,
            categorical=cats,
            params=params,
            num_boost_round=2000,
            early_stopping_rounds=patience,
        )
        fit_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        p = model.predict(Xt, num_iteration=model.best_iteration)
        score_s = time.perf_counter() - t1
        t2 = time.perf_counter()
        model.predict(payload["Xall"], num_iteration=model.best_iteration)
        iters = int(model.best_iteration)
    else:
        mask = np.zeros(X.shape[1], dtype=bool)
        mask[cats] = True
        with threadpool_limits(threads):
            model = HistGradientBoostingClassifier(
                learning_rate=0.05,
                max_iter=2000,
                max_leaf_nodes=31,
                min_samples_leaf=40,
                l2_regularization=1.0,
                categorical_features=mask,
                early_stopping=True,
                n_iter_no_change=10,
                random_state=0,
            ).fit(X, y, X_val=Xs, y_val=ys)
            fit_s = time.perf_counter() - t0
            t1 = time.perf_counter()
            p = model.predict_proba(Xt)[:, 1]
            score_s = time.perf_counter() - t1
            t2 = time.perf_counter()
            model.predict_proba(payload["Xall"])
        iters = int(model.n_iter_)
    score_all_s = time.perf_counter() - t2
    peak = _hwm_mb()
    queue.put(
        {
            "model": name,
            "train_seconds": round(fit_s, 2),
            "score_seconds": round(score_s, 3),
            "score_all_rows_seconds": round(score_all_s, 3),
            "peak_memory_added_mb": round(peak - before, 1),
            "iterations": iters,
            "test_roc_auc": round(roc_auc_score(yt, p), 4),
            "test_log_loss": round(log_loss(yt, p), 4),
        }
    )


def main(argv: list[str] | None = None) -> dict:
    from revlib import scoring
    from revlib.data import validate_tables, write_json
    from revlib.scoring.model import categorical_columns, category_levels, encode
    from revlib.scoring.splits import holdout_split, split_rows
    from tests.scoring.crm_simulator import simulate_crm

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--deals", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="threads per model (default 1)")
    ap.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs per model; the median time is reported (default 3)",
    )
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    tables, _ = simulate_crm(args.deals, seed=args.seed)
    tables = validate_tables(tables)
    sim_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    rows = scoring.build_snapshots(tables, mode="monthly")
    features_s = time.perf_counter() - t0
    feats = scoring.default_features(rows)
    part, info = split_rows(rows)
    train = rows[part == "train"].reset_index(drop=True)
    train.attrs = dict(rows.attrs)
    test = rows[part == "test"].reset_index(drop=True)
    role = holdout_split(train, fraction=0.3, seed=args.seed)
    fit = train[role == "fit"]
    stop = train[role == "stop"]
    cats = categorical_columns(train, feats)
    levels = category_levels(fit, cats)
    payload = {
        "X": encode(fit, feats, levels),
        "y": fit["won"].to_numpy(float),
        "Xs": encode(stop, feats, levels),
        "ys": stop["won"].to_numpy(float),
        "Xt": encode(test, feats, levels),
        "yt": test["won"].to_numpy(float),
        "Xall": encode(rows, feats, levels),
        "cats": [feats.index(c) for c in cats],
        "threads": args.threads,
    }
    ctx = mp.get_context("spawn")
    results = []
    for name in ("lightgbm", "lightgbm_patience10", "hist_gradient_boosting"):
        runs = []
        for _ in range(args.repeat):
            q = ctx.Queue()
            proc = ctx.Process(target=_run, args=(name, payload, q))
            proc.start()
            runs.append(q.get())
            proc.join()
        best = dict(runs[0])
        for key in (
            "train_seconds",
            "score_seconds",
            "score_all_rows_seconds",
            "peak_memory_added_mb",
        ):
            best[key] = statistics.median(r[key] for r in runs)
        best["train_seconds_all"] = [r["train_seconds"] for r in runs]
        results.append(best)
    out = {
        "deals": args.deals,
        "snapshot_rows": int(len(rows)),
        "train_rows_fit": int(len(fit)),
        "stop_rows": int(len(stop)),
        "test_rows": int(len(test)),
        "features": len(feats),
        "categorical_features": len(cats),
        "threads": args.threads,
        "simulate_seconds": round(sim_s, 1),
        "build_features_seconds": round(features_s, 2),
        "results": results,
        "machine": {"python": platform.python_version(), "cpus": mp.cpu_count()},
    }
    for r in results:
        print(
            f"{r['model']:<24} train {r['train_seconds']:>7.2f} s  score test {r['score_seconds']:>6.3f} s  "
            f"score all {r['score_all_rows_seconds']:>6.3f} s  "
            f"peak +{r['peak_memory_added_mb']:>7.1f} MB  iters {r['iterations']:>4}  AUC {r['test_roc_auc']:.4f}  "
            f"log loss {r['test_log_loss']:.4f}"
        )
    print(
        f"{args.deals:,} deals -> {len(rows):,} snapshot rows (features built in {features_s:.1f} s)"
    )
    if args.out:
        write_json(out, args.out)
    return out


if __name__ == "__main__":
    main()
