"""AutoML budget adherence: wall time of ``AutoMLTrainer(time_budget=B).train(data)`` against B.

    PITWALL_HOME=... .venv/bin/python benchmarks/automl_budget.py [--budget 60] [--seasons 2021-2023]

Prints one JSON line: budget, wall time of the whole ``train`` (search + refit + ensemble
scoring), their ratio, trials run and the chosen algorithm. The trainer stops searching when
the next trial plus the refit (estimated from the trials so far) would not fit the budget.
"""

from __future__ import annotations

import argparse
import json
import time

from pitwall import refs
from pitwall.ml import AutoMLTrainer, FeatureStore


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=60.0)
    ap.add_argument("--seasons", default="2021-2023")
    args = ap.parse_args()
    data = FeatureStore().get_features(seasons=refs.parse_seasons(args.seasons))
    trainer = AutoMLTrainer(task="classification", target="race_winner", time_budget=args.budget, ensemble=True)
    start = time.perf_counter()
    model = trainer.train(data)
    wall = time.perf_counter() - start
    print(
        json.dumps(
            {
                "budget_s": args.budget,
                "wall_s": round(wall, 2),
                "ratio": round(wall / args.budget, 3),
                "trials": int(model.tuning["n_trials"]) if model.tuning else None,
                "algorithm": model.algorithm,
            }
        )
    )


if __name__ == "__main__":
    main()
