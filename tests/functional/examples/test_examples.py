"""The product description's code blocks and the README's Python block, run unchanged.

``examples/product/*.py`` and ``examples/readme/*.py`` are the blocks byte for byte (checked
below against ``../shared/docs/product.md`` and ``README.md``). They run in one namespace, in
the order of the product description, like the cells of one notebook, after a setup cell that
binds ``test_data`` (the 2024 rows), ``params`` (used by the MLflow example but defined nowhere
in it) and defines ``train_model``
(a scikit-learn logistic regression). The store is a temp home with F1DB 2014-2024 and the FastF1
laps; ``PITWALL_SEARCH_BUDGET_S`` (a Pitwall setting, not a patch of the example text) caps the
product's one-hour AutoML budget to a few seconds.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import pitwall

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
PRODUCT_DOC = Path(os.environ.get("PITWALL_DATA", ROOT.parent / "shared" / "data")).parent / "docs" / "product.md"
PRODUCT_ORDER = (  # the order of the product description
    "race_prediction_notebook.py",
    "custom_feature_engineering.py",
    "real_time_inference.py",
    "batch_prediction.py",
    "automl_configuration.py",
    "mlflow_integration.py",
)

SETUP = '''
import pitwall as pw
from pitwall.ml import ModelBuilder

test_data = pw.FeatureStore().get_features(seasons=[2024], feature_groups=["driver", "team", "session"])
params = {"max_depth": 6, "learning_rate": 0.1}

def train_model(params):
    """A race-winner classifier on 2022-2023: a plain scikit-learn logistic regression on grid and
    qualifying gap (what `mlflow.sklearn.log_model` stores with skops; tree models hold types
    skops does not trust)."""
    from sklearn.linear_model import LogisticRegression

    fs = pw.FeatureStore()
    rows = fs.get_features(seasons=[2022, 2023], features=["start_position", "quali_gap_to_pole"])
    rows = rows.merge(fs.targets([2022, 2023])[["race_id", "driver_id", "position"]], on=["race_id", "driver_id"])
    X = rows[["start_position", "quali_gap_to_pole"]].astype("float64").fillna(25.0).to_numpy()
    y = (rows["position"] == 1).fillna(False).astype("int64").to_numpy()
    return LogisticRegression(max_iter=1000).fit(X, y)
'''


def _blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


@pytest.fixture(scope="module")
def example_home(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """A PITWALL_HOME whose lake holds F1DB 2014-2024 and the FastF1 laps (built once)."""
    from pitwall.data.ingest import ingest_f1db, ingest_laps_csv
    from pitwall.data.store import LocalStore

    home = tmp_path_factory.mktemp("examples-home")
    store = LocalStore(home / "lake")
    ingest_f1db(store, shared_data / "f1db", seasons=range(2014, 2025))
    ingest_laps_csv(store, shared_data / "fastf1-laps")
    return home


@pytest.fixture
def env(example_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PITWALL_HOME", str(example_home))
    monkeypatch.setenv("PITWALL_SEARCH_BUDGET_S", "6")
    monkeypatch.delenv("PITWALL_MLFLOW_URI", raising=False)
    for var in ("MLFLOW_TRACKING_URI", pitwall.MLFLOW_DEFAULT_MARK, pitwall.MLFLOW_ARTIFACT_ROOT_ENV):
        monkeypatch.setenv(var, "")  # restored after the test
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    pitwall.mlflow_tracking()  # what `import pitwall` does in a fresh kernel with this home
    monkeypatch.chdir(tmp_path)  # anything written to the working directory would show here
    return example_home


def test_examples_are_the_documents_blocks_verbatim() -> None:
    product = _blocks(PRODUCT_DOC.read_text(encoding="utf-8"))
    for name in PRODUCT_ORDER:
        assert (EXAMPLES / "product" / name).read_text(encoding="utf-8") in product, name
    readme = _blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    assert (EXAMPLES / "readme" / "sdk_tour.py").read_text(encoding="utf-8") in readme


def test_product_examples_run_as_one_notebook(env: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from pitwall.errors import ValidationFailed

    ns: dict = {"__name__": "__main__"}
    exec(compile(SETUP, "setup", "exec"), ns)
    for name in PRODUCT_ORDER:
        code = (EXAMPLES / "product" / name).read_text(encoding="utf-8")
        if name == "batch_prediction.py":
            # the product forecasts 2025; the offline data ends with 2024: a clear error, not a crash
            with pytest.raises(ValidationFailed, match="season 2025: no races stored"):
                exec(compile(code, name, "exec"), ns)
            continue
        exec(compile(code, name, "exec"), ns)

    # the race prediction notebook: a deployed custom model
    from pitwall.platform.models import get_model

    record = get_model("local", "race_winner_v1")
    assert (record.status, record.template, record.target) == ("deployed", "race_winner", "race_winner")
    assert ns["results"].metrics["base_rate_True"] > 0
    # custom feature: computed per row
    assert "momentum_score" in ns["data"].columns and ns["data"]["momentum_score"].notna().any()
    # AutoML: printed its model and score
    out = capsys.readouterr().out
    assert f"Best model: {ns['best_model'].algorithm}" in out and "Accuracy: " in out
    # MLflow: the run is in Pitwall's store, nothing in the working directory
    import mlflow

    assert mlflow.get_tracking_uri() == f"sqlite:///{(env / 'mlflow.db').as_posix()}"
    runs = mlflow.search_runs(search_all_experiments=True, filter_string="attributes.run_name = 'race_winner_xgb_v3'")
    assert len(runs) == 1 and runs.iloc[0]["metrics.accuracy"] == 0.47
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "mlruns").exists()


def test_readme_sdk_tour_runs(env: Path) -> None:
    ns: dict = {"__name__": "__main__"}
    exec(compile(SETUP, "setup", "exec"), ns)
    code = (EXAMPLES / "readme" / "sdk_tour.py").read_text(encoding="utf-8")
    exec(compile(code, "sdk_tour.py", "exec"), ns)
    assert ns["custom"].target == "dnf"
    assert ns["model"].name == "race_winner_v1"
