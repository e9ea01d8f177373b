"""Pre-race signals for safety_car (issue 12): walk-forward candidates on the validation seasons
2021-2023 beside the shrunken per-circuit rate (the baseline to beat).

Each race is predicted by a logistic regression (median-imputed, standardised, ``C`` as named)
trained on the earlier races of the ten seasons before (the template's frame, races with lap
data from 2018). Candidates add to the template's earlier inputs: the circuit's shrunken rate
of any neutralisation (safety car, VSC or red flag: more events per circuit than the safety car
alone), of the VSC alone, the circuit's earlier DNF rate, a street-circuit flag (the default since), or change the
shrinkage of the circuit rate (2 or 10 races instead of 5). Scores: per-race log loss, paired
bootstrap over races (2,000 draws) against the shrunken circuit rate.

Run:  .venv/bin/python benchmarks/safety_car_signals.py [--seasons 2021,2022,2023] [VARIANT ...]
Reads $PITWALL_DATA (default ../shared/data); caches the frame under $PITWALL_BENCH_CACHE
(default /tmp/pitwall-race-models).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

CACHE = Path(os.environ.get("PITWALL_BENCH_CACHE", "/tmp/pitwall-race-models"))


def frame() -> pd.DataFrame:
    path = CACHE / "safety_car.parquet"
    if not path.exists():
        os.environ.setdefault("PITWALL_HOME", tempfile.mkdtemp(prefix="pitwall-sc-"))
        from pitwall.config import default_data_dir
        from pitwall.data.ingest import ingest_data_dir
        from pitwall.data.store import LocalStore
        from pitwall.features import FeatureStore, build_feature_tables
        from pitwall.templates import TEMPLATES

        store = LocalStore()
        ingest_data_dir(store, default_data_dir())
        build_feature_tables(store)
        CACHE.mkdir(parents=True, exist_ok=True)
        TEMPLATES["safety_car"].frame(FeatureStore(store), list(range(2018, 2025))).to_parquet(path)
    df = pd.read_parquet(path).sort_values(["season", "round"], kind="mergesort").reset_index(drop=True)
    return with_signals(df)


def with_signals(df: pd.DataFrame) -> pd.DataFrame:
    from pitwall.templates.strategy import SHRINK_RACES, _base_rate, _logit, shrunk_rate

    flag = {c: df[c].astype(bool) for c in ("safety_car", "vsc", "red_flag")}
    df["neutralised"] = (flag["safety_car"] | flag["vsc"] | flag["red_flag"]).astype(int)
    df["vsc_shown"] = flag["vsc"].astype(int)
    for col, default in (("neutralised", 0.5), ("vsc_shown", 0.3)):
        base = _base_rate(df, col, default)
        df[f"circuit_{col}_logit"] = _logit(shrunk_rate(df, col, ["circuit_id"], base, SHRINK_RACES))
    for strength in (2.0, 10.0):
        rate = shrunk_rate(df, "safety_car", ["circuit_id"], df["prior_sc_rate"], strength)
        df[f"circuit_sc_logit_{strength:g}"] = _logit(rate)
    return df


def variants() -> dict[str, tuple[list[str], float]]:
    from pitwall.templates.strategy import RACE_FEATURES, SAFETY_CAR_PARAMS

    default = [f for f in RACE_FEATURES if f != "street_circuit"]  # the inputs before the street flag
    c = float(SAFETY_CAR_PARAMS["C"])
    return {
        "before_street_flag": (default, c),
        "+neutralised": ([*default, "circuit_neutralised_logit"], c),
        "+vsc": ([*default, "circuit_vsc_shown_logit"], c),
        "+circuit_dnf": ([*default, "circuit_prior_dnf_rate"], c),
        "+street (the default)": ([*default, "street_circuit"], c),
        "neutralised_only": (["circuit_neutralised_logit", "prior_sc_rate"], c),
        "shrink_2": (["circuit_sc_logit_2", "prior_sc_rate"], c),
        "shrink_10": (["circuit_sc_logit_10", "prior_sc_rate"], c),
        "default_C0.03": (default, 0.03),
    }


def walk(df: pd.DataFrame, features: list[str], c: float, season: int) -> np.ndarray:
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    out = []
    for i in df.index[df["season"] == season]:
        train = df.iloc[:i]
        train = train[train["season"] >= season - 10]
        model = make_pipeline(
            SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(), LogisticRegression(C=c)
        )
        model.fit(train[features], train["safety_car"])
        out.append(float(model.predict_proba(df.loc[[i], features])[0, 1]))
    return np.array(out)


def main() -> None:
    from pitwall.ml import compare as C

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variants", nargs="*")
    parser.add_argument("--seasons", default="2021,2022,2023")
    args = parser.parse_args()
    df = frame()
    table = variants()
    print(f"safety_car: log loss vs the shrunken circuit rate, paired 95 % over races (load {os.getloadavg()[0]:.1f})")
    for name in args.variants or list(table):
        features, c = table[name]
        total, parts = 0.0, []
        for season in (int(s) for s in args.seasons.split(",")):
            rows = df[df["season"] == season]
            y = rows["safety_car"].to_numpy()
            model = C.log_loss(y, walk(df, features, c, season))
            circuit = C.log_loss(y, rows["baseline_circuit_rate"].to_numpy())
            base = C.log_loss(y, rows["baseline_base_rate"].to_numpy())
            cmp = C.paired_bootstrap(model, circuit, rows["race_id"].to_numpy(), 2000, 0)
            total += float(model.mean())
            parts.append(
                f"{season} {model.mean():.4f} vs circuit {circuit.mean():.4f} (base {base.mean():.4f}) "
                f"{cmp.mean_difference:+.4f} [{cmp.low:+.4f}, {cmp.high:+.4f}] {cmp.n_races} races {cmp.verdict}"
            )
        print(f"{name}: sum {total:.4f}")
        for part in parts:
            print(f"    {part}")


if __name__ == "__main__":
    main()
