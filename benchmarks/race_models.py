"""Model selection for the race-result templates (issue 12): walk-forward candidates on the
validation seasons 2021-2023, and the chosen ones on 2024.

The same walk-forward as ``pitwall backtest`` (``pitwall.ml.backtest``) in a lean loop: every
race of a season is predicted by a model trained on the ten seasons before plus the season's
earlier races, on the template's own frame (``spec.frame``). The conditional logit is
``pitwall.ml.ranking_models.ConditionalLogit``; the other candidates live here:

- ``boosted``: XGBoost on the per-race softmax (a custom objective: gradient ``p - y``, hessian
  ``p (1 - p)``), started from a base margin (the grid prior ``grid_log_rate`` or a fitted
  conditional logit's score), monotone as the conditional logit;
- ``pl_order``: a linear Plackett-Luce model fitted by the likelihood of the first ``stages``
  finishers' order (a conditional logit per stage over the drivers not yet placed);
- ``recency_weighted``: the conditional logit with older seasons' races down-weighted;
- ``--mix``: the winner probability mixed with the slot rate, ``(1 - a) p + a p_slot``, ``a``
  chosen on the walk-forward outputs of the three seasons before (a calibration step);
- top-k probabilities either ``k x softmax`` capped and re-spread (``normalise_top_k``, what the
  product does) or exact Plackett-Luce (``plackett_luce_top_k``).

Scores: winner NLL (race_winner) or per-row log loss of P(top k) (podium, points) beside the
empirical P(finish <= k | grid slot) baseline, paired bootstrap over races (2,000 draws).
``--vs-default`` also pairs each candidate with the template's current default, race by race:
the product's own walk-forward (``pitwall.training.backtest_template``, the same races and
training windows; a conditional logit scores the same here and there) on a store ingested
from $PITWALL_DATA.

Podium (issue 12), validation 2021-2023, summed log loss of P(top 3): the default xgboost
(Platt) 0.6625, the slot rate 0.7508; conditional logits: fitted to the top-3 set with
``3 x softmax`` (what ``algorithm="conditional_logit"`` gives podium today) 0.7096, the same
strengths with exact Plackett-Luce top 3 0.6752, fitted to the winner (race_winner's fit) with
Plackett-Luce 0.6951, on RACE_WISE_FORM with Plackett-Luce 0.6680: none below the default
(per season each ties it or loses). Only ``pl_order_top3_pl`` (the finishing order of the first
three) sums lower, 0.6548, tying xgboost in every season (-0.0043, +0.0104, -0.0138, intervals
containing zero); it is not a product algorithm.

Run:  .venv/bin/python benchmarks/race_models.py winner [--seasons 2021,2022,2023] [VARIANT ...]
      .venv/bin/python benchmarks/race_models.py podium|points [--seasons ...] [--vs-default] [VARIANT ...]
      .venv/bin/python benchmarks/race_models.py winner --features start_position,grid_log_rate,... [--l2 0.01]
      (a conditional logit on any feature list, signed as race_winner's monotone constraints;
      --train-seasons N trains on the N seasons before instead of ten)
Reads $PITWALL_DATA (default ../shared/data); caches the frames under $PITWALL_BENCH_CACHE
(default /tmp/pitwall-race-models).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

TEMPLATE = {"winner": ("race_winner", 1), "podium": ("podium", 3), "points": ("points", 10)}
CACHE = Path(os.environ.get("PITWALL_BENCH_CACHE", "/tmp/pitwall-race-models"))
TRAIN_SEASONS = 10
FIRST = 2011  # ten seasons before the first validation season

Scorer = Callable[[pd.DataFrame, pd.DataFrame], np.ndarray]  # (train, test) -> log-strength per test row


def frames(template: str) -> pd.DataFrame:
    path = CACHE / f"{template}.parquet"
    if not path.exists():
        os.environ.setdefault("PITWALL_HOME", tempfile.mkdtemp(prefix="pitwall-race-models-"))
        from pitwall.config import default_data_dir
        from pitwall.data.ingest import ingest_data_dir
        from pitwall.data.store import LocalStore
        from pitwall.features import FeatureStore, build_feature_tables
        from pitwall.templates import TEMPLATES

        store = LocalStore()
        ingest_data_dir(store, default_data_dir())
        build_feature_tables(store)
        CACHE.mkdir(parents=True, exist_ok=True)
        for name in ("race_winner", "podium", "points"):
            TEMPLATES[name].frame(FeatureStore(store), list(range(FIRST, 2025))).to_parquet(CACHE / f"{name}.parquet")
    return pd.read_parquet(path).sort_values(["season", "round", "race_id"], kind="mergesort").reset_index(drop=True)


def default_by_race(template: str, seasons: list[int]) -> dict[int, pd.DataFrame]:
    """The template's default recipe through the product's walk-forward: season -> ``by_race`` of
    its proper score (index ``<season> r<round>``; columns ``model`` and each baseline)."""
    os.environ.setdefault("PITWALL_HOME", tempfile.mkdtemp(prefix="pitwall-race-models-"))
    from pitwall.config import default_data_dir
    from pitwall.data.ingest import ingest_data_dir
    from pitwall.data.store import LocalStore
    from pitwall.features import build_feature_tables
    from pitwall.training import backtest_template

    store = LocalStore()
    ingest_data_dir(store, default_data_dir())
    build_feature_tables(store)
    metric = "winner_nll" if template == "race_winner" else "log_loss"
    out = {}
    for season in seasons:
        report = backtest_template(template, season=season, train_until=season - 1, store=store, track=False)
        out[season] = report.result.by_race(metric)
    return out


def walk(df: pd.DataFrame, k: int, scorer: Scorer, season: int, train_seasons: int = TRAIN_SEASONS) -> pd.DataFrame:
    pos = pd.to_numeric(df["position"], errors="coerce")
    df = df.assign(hit=(pos <= k).fillna(False).astype(float), won=(pos == 1).fillna(False).astype(float))
    out = []
    for race_id, rnd in df[df["season"] == season][["race_id", "round"]].drop_duplicates().itertuples(index=False):
        earlier = (df["season"] < season) | ((df["season"] == season) & (df["round"] < rnd))
        train = df[(df["season"] >= season - train_seasons) & earlier]
        test = df[df["race_id"] == race_id].copy()
        test["s"] = scorer(train, test)
        out.append(test)
    return pd.concat(out)


# --- candidates ---------------------------------------------------------------------------
def _scaled(train: pd.DataFrame, test: pd.DataFrame, features: list[str]) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import StandardScaler

    X = train[features].to_numpy(float)
    imp = SimpleImputer(strategy="median", keep_empty_features=True).fit(X)
    sc = StandardScaler().fit(imp.transform(X))
    return sc.transform(imp.transform(X)), sc.transform(imp.transform(test[features].to_numpy(float)))


def _bounds(features: list[str], monotone: dict[str, int]) -> list[tuple[float | None, float | None]]:
    signs = [monotone.get(f, 0) for f in features]
    return [(0.0, None) if m > 0 else (None, 0.0) if m < 0 else (None, None) for m in signs]


def conditional_logit(features: list[str], monotone: dict[str, int], l2: float, target: str = "hit") -> Scorer:
    """Fitted to the race's top-k set spread evenly (``target="hit"``) or to its winner (``"won"``)."""
    from pitwall.ml.ranking_models import ConditionalLogit

    def scorer(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
        signs = [monotone.get(f, 0) for f in features]
        m = ConditionalLogit(l2=l2, monotone=signs)
        m.fit(train[features].to_numpy(float), train[target].to_numpy(), train["race_id"].to_numpy())
        return m.pipeline_[:-1].transform(test[features].to_numpy(float)) @ m.coef_

    return scorer


def recency_weighted(features: list[str], monotone: dict[str, int], l2: float, half_life: float) -> Scorer:
    """The conditional logit with each training race weighted 0.5 ** (seasons before the latest / half_life)."""
    from scipy.optimize import minimize

    from pitwall.ml.ranking_models import _race_order, race_softmax

    def scorer(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
        Ztr, Zte = _scaled(train, test, features)
        order, starts, race = _race_order(train["race_id"].to_numpy())
        Z, y = Ztr[order], train["hit"].to_numpy()[order]
        age = (train["season"].max() - train["season"].to_numpy()[order]).astype(float)
        keep = (np.add.reduceat(y, starts) > 0)[race]
        Z, y, age = Z[keep], y[keep], age[keep]
        _, starts, race = _race_order(race[keep])
        target = y / np.add.reduceat(y, starts)[race]
        weight = 0.5 ** (age[starts] / half_life)
        weight = weight / weight.mean()

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            p = race_softmax(Z @ w, starts, race)
            nll = -np.add.reduceat(target * np.log(np.clip(p, 1e-300, None)), starts)
            grad = Z.T @ ((p - target) * weight[race])
            return float(nll @ weight) / len(starts) + 0.5 * l2 * float(w @ w), grad / len(starts) + l2 * w

        bounds = _bounds(features, monotone)
        return Zte @ minimize(loss, np.zeros(len(features)), jac=True, method="L-BFGS-B", bounds=bounds).x

    return scorer


def pl_order(features: list[str], monotone: dict[str, int], l2: float, stages: int) -> Scorer:
    from scipy.optimize import minimize

    def fit(Z: np.ndarray, position: np.ndarray, groups: np.ndarray) -> np.ndarray:
        codes = pd.factorize(pd.Series(groups))[0]
        pos = np.where(np.isnan(position), np.inf, position)
        n = codes.max() + 1
        stage_rows = []
        for m in range(1, stages + 1):
            chosen = pos == m
            has = np.bincount(codes, weights=chosen.astype(float), minlength=n) > 0
            stage_rows.append(((pos >= m) & has[codes], chosen))

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            s = Z @ w
            total, grad = 0.0, np.zeros_like(w)
            for left, chosen in stage_rows:
                top = np.zeros(n)
                np.maximum.at(top, codes[left], s[left])
                e = np.where(left, np.exp(np.where(left, s - top[codes], 0.0)), 0.0)
                den = np.bincount(codes, weights=e, minlength=n)
                p = e / np.where(den[codes] > 0, den[codes], 1.0)
                total -= float(np.sum(s[chosen] - top[codes[chosen]] - np.log(den[codes[chosen]])))
                grad += Z.T @ (p - chosen)
            return total / n + 0.5 * l2 * float(w @ w), grad / n + l2 * w

        bounds = _bounds(features, monotone)
        return minimize(loss, np.zeros(Z.shape[1]), jac=True, method="L-BFGS-B", bounds=bounds).x

    def scorer(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
        Ztr, Zte = _scaled(train, test, features)
        position = pd.to_numeric(train["position"], errors="coerce").to_numpy(float)
        return Zte @ fit(Ztr, position, train["race_id"].to_numpy())

    return scorer


def boosted(features: list[str], monotone: dict[str, int], base: Scorer | None, rounds: int, eta: float) -> Scorer:
    import xgboost as xgb

    signs = "(" + ",".join(str(monotone.get(f, 0)) for f in features) + ")"
    params = {"max_depth": 2, "eta": eta, "min_child_weight": 5.0, "monotone_constraints": signs}
    params.update({"tree_method": "hist", "nthread": 1, "verbosity": 0})

    def scorer(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
        if base is None:
            b_train, b_test = train["grid_log_rate"].to_numpy(float), test["grid_log_rate"].to_numpy(float)
        else:
            b_train, b_test = base(train, train), base(train, test)
        codes = pd.factorize(train["race_id"])[0]
        y = train["hit"].to_numpy()
        keep = np.bincount(codes, weights=y)[codes] > 0
        codes, y = pd.factorize(codes[keep])[0], y[keep]
        target = y / np.bincount(codes, weights=y)[codes]

        def objective(margin: np.ndarray, _: object) -> tuple[np.ndarray, np.ndarray]:
            top = pd.Series(margin).groupby(codes).transform("max").to_numpy()
            e = np.exp(margin - top)
            p = e / np.bincount(codes, weights=e)[codes]
            return p - target, np.maximum(p * (1 - p), 1e-6)

        d = xgb.DMatrix(train[features].to_numpy(float)[keep], base_margin=b_train[keep])
        booster = xgb.train(params, d, num_boost_round=rounds, obj=objective)
        return booster.predict(xgb.DMatrix(test[features].to_numpy(float), base_margin=b_test), output_margin=True)

    return scorer


def candidates(kind: str) -> dict[str, tuple[Scorer, str]]:
    """name -> (scorer, probability: 'norm' = k x softmax re-spread, 'pl' = exact Plackett-Luce)."""
    from pitwall.templates._common import RACE_WISE_FORM, RACE_WISE_MONOTONE
    from pitwall.templates.race_winner import WINNER_FEATURES, WINNER_MONOTONE

    old, new = list(RACE_WISE_FORM), list(WINNER_FEATURES)
    mono = {**RACE_WISE_MONOTONE, **WINNER_MONOTONE}
    trees = [f for f in new if f != "grid_log_rate"]
    out: dict[str, tuple[Scorer, str]] = {
        "cl_race_wise_form": (conditional_logit(old, mono, 0.001), "norm"),
        "cl_winner_features": (conditional_logit(new, mono, 0.01), "norm"),
    }
    if kind == "winner":
        out["boosted_from_grid_prior"] = (boosted(trees, mono, None, 100, 0.05), "norm")
        out["boosted_from_cl"] = (boosted(trees, mono, conditional_logit(new, mono, 0.01), 50, 0.03), "norm")
        out["half_life_4_seasons"] = (recency_weighted(new, mono, 0.01, 4.0), "norm")
        out["half_life_2_seasons"] = (recency_weighted(new, mono, 0.01, 2.0), "norm")
    else:
        k = TEMPLATE[kind][1]
        out["cl_winner_features_pl"] = (conditional_logit(new, mono, 0.01), "pl")
        out["cl_winner_fit_on_won_pl"] = (conditional_logit(new, mono, 0.01, "won"), "pl")
        out["cl_race_wise_form_pl"] = (conditional_logit(old, mono, 0.001), "pl")
        out["pl_order_top3_pl"] = (pl_order(new, mono, 0.01, 3), "pl")
        out[f"pl_order_top{k}_pl"] = (pl_order(new, mono, 0.01, k), "pl")
    return out


def score(res: pd.DataFrame, kind: str, how: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(model loss, baseline loss, race id) per row (top k) or per race (winner NLL)."""
    from pitwall.ml import compare as C
    from pitwall.ml.model import normalise_top_k
    from pitwall.ml.ranking_models import plackett_luce_top_k

    k = TEMPLATE[kind][1]
    s, g = res["s"].to_numpy(), res["race_id"].to_numpy()
    strength = np.exp(s - pd.Series(s).groupby(g).transform("max").to_numpy())
    p = plackett_luce_top_k(strength, g, k) if how == "pl" else strength
    p = normalise_top_k(p, g, k)
    if kind == "winner":
        base = C.normalise_per_race(res["grid_slot_rate"].to_numpy(), g)
        m = C.winner_nll(p, res["won"].to_numpy() == 1, g)
        b = C.winner_nll(base, res["won"].to_numpy() == 1, g)
        return m.to_numpy(), b.loc[m.index].to_numpy(), m.index.to_numpy()
    y = res["hit"].to_numpy()
    return C.log_loss(y, p), C.log_loss(y, res["baseline_grid_slot_rate"].to_numpy()), g


def mix_with_slot_rate(df: pd.DataFrame, scorer: Scorer, seasons: list[int], train_seasons: int) -> None:
    from pitwall.ml import compare as C
    from pitwall.ml.model import normalise_top_k

    outputs = {}
    for season in range(min(seasons) - 3, max(seasons) + 1):
        res = walk(df, 1, scorer, season, train_seasons)
        g, s = res["race_id"].to_numpy(), res["s"].to_numpy()
        p = normalise_top_k(np.exp(s - pd.Series(s).groupby(g).transform("max").to_numpy()), g, 1)
        outputs[season] = (p, C.normalise_per_race(res["grid_slot_rate"].to_numpy(), g), res["won"].to_numpy() == 1, g)

    def nll(a: float, season: int) -> pd.Series:
        p, q, won, g = outputs[season]
        return C.winner_nll((1 - a) * p + a * q, won, g)

    grid = np.linspace(0.0, 0.6, 31)
    total = 0.0
    for season in seasons:
        a = min(grid, key=lambda v: sum(float(nll(v, s).sum()) for s in range(season - 3, season)))
        mixed, base = nll(a, season), C.winner_nll(outputs[season][1], outputs[season][2], outputs[season][3])
        c = C.paired_bootstrap(mixed.to_numpy(), base.loc[mixed.index].to_numpy(), mixed.index.to_numpy(), 2000, 0)
        total += float(mixed.mean())
        print(
            f"    {season} a={a:.2f} {mixed.mean():.4f} (unmixed {nll(0.0, season).mean():.4f}) vs slot rate "
            f"{base.mean():.4f} {c.mean_difference:+.4f} [{c.low:+.4f}, {c.high:+.4f}] {c.n_races} races {c.verdict}"
        )
    print(f"mixed with the slot rate: sum {total:.4f}")


def main() -> None:
    from pitwall.ml import compare as C

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=sorted(TEMPLATE))
    parser.add_argument("variants", nargs="*")
    parser.add_argument("--seasons", default="2021,2022,2023")
    parser.add_argument("--features", help="comma-separated: a conditional logit on these features")
    parser.add_argument("--l2", type=float, default=0.01)
    parser.add_argument("--mix", action="store_true", help="winner: mix with the slot rate (see the module doc)")
    parser.add_argument("--train-seasons", type=int, default=TRAIN_SEASONS, help="seasons before the backtested one")
    parser.add_argument("--vs-default", action="store_true", help="also pair with the template's default, per race")
    args = parser.parse_args()
    template, k = TEMPLATE[args.kind]
    df = frames(template)
    table = candidates(args.kind)
    if args.features:
        from pitwall.templates._common import RACE_WISE_MONOTONE
        from pitwall.templates.race_winner import WINNER_MONOTONE

        features = args.features.split(",")
        table = {
            "conditional_logit": (
                conditional_logit(features, {**RACE_WISE_MONOTONE, **WINNER_MONOTONE}, args.l2),
                "norm",
            )
        }
        args.variants = []
    seasons = [int(s) for s in args.seasons.split(",")]
    metric = "winner NLL" if args.kind == "winner" else f"log loss P(top {k})"
    load = os.getloadavg()[0]
    print(f"{template}: {metric}, model vs P(finish <= {k} | grid slot), paired 95 % over races (load {load:.1f})")
    if args.mix:
        mix_with_slot_rate(df, table[(args.variants or ["cl_winner_features"])[0]][0], seasons, args.train_seasons)
        return
    default = default_by_race(template, seasons) if args.vs_default else {}
    if default:
        from pitwall.templates import TEMPLATES

        sums = " + ".join(f"{default[s]['model'].mean():.4f}" for s in seasons)
        total = sum(default[s]["model"].mean() for s in seasons)
        print(f"default ({TEMPLATES[template].default_algorithm}): sum {total:.4f} ({sums})")
    for name in args.variants or list(table):
        scorer, how = table[name]
        t0, parts = time.perf_counter(), []
        total = 0.0
        for season in seasons:
            res = walk(df, k, scorer, season, args.train_seasons)
            model, base, groups = score(res, args.kind, how)
            c = C.paired_bootstrap(model, base, groups, 2000, 0)
            total += float(np.mean(model))
            parts.append(
                f"{season} {np.mean(model):.4f} vs {np.mean(base):.4f} "
                f"{c.mean_difference:+.4f} [{c.low:+.4f}, {c.high:+.4f}] {c.n_races} races {c.verdict}"
            )
            if default:  # per-race means (races of equal weight), paired with the default's
                races = res.drop_duplicates("race_id").set_index("race_id")
                keys = {r: f"{races.loc[r, 'season']} r{races.loc[r, 'round']}" for r in races.index}
                per = pd.Series(model).groupby(pd.Series(groups).map(keys).to_numpy()).mean()
                ref = default[season]["model"]
                per = per.loc[ref.index]
                d = C.paired_bootstrap(per.to_numpy(), ref.to_numpy(), np.asarray(ref.index), 2000, 0)
                parts[-1] += (
                    f"; vs default {ref.mean():.4f} {d.mean_difference:+.4f} [{d.low:+.4f}, {d.high:+.4f}] {d.verdict}"
                )
        print(f"{name}: sum {total:.4f} ({time.perf_counter() - t0:.0f} s)")
        for part in parts:
            print(f"    {part}")


if __name__ == "__main__":
    main()
