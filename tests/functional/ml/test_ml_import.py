"""``import pitwall.ml`` stays light: heavy libraries load only when used."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["xgboost", "lightgbm", "sklearn", "optuna", "mlflow", "skops", "matplotlib", "scipy"]


def _loaded_after(code: str) -> dict[str, bool]:
    script = f"import sys, json\n{code}\nprint(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))"
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_pitwall_ml_loads_no_heavy_library() -> None:
    loaded = _loaded_after("import pitwall.ml")
    assert not any(loaded.values()), loaded


def test_model_builder_and_artifact_api_stay_lazy_until_used() -> None:
    loaded = _loaded_after(
        "from pitwall.ml import ModelBuilder, load_model, export_bundle, walk_forward, list_runs\n"
        "ModelBuilder('ranking', 'position', top_k=1)"
    )
    assert not any(loaded.values()), loaded


def test_names_resolve_lazily() -> None:
    loaded = _loaded_after("import pitwall.ml as ml\nassert callable(ml.tune) and ml.ALGORITHMS['xgboost']")
    assert not loaded["xgboost"] and not loaded["mlflow"]
