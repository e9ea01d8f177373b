"""Every notebook in ``notebooks/`` runs top to bottom (nbclient, a fresh kernel) on real data,
and is stored without outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 600  # a hang guard, not a timed assertion


def test_there_are_notebooks() -> None:
    names = {p.name for p in NOTEBOOKS}
    assert {"01_race_prediction.ipynb", "03_automl.ipynb", "06_live_replay.ipynb"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: strip outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, lake, _isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    import pitwall

    _isolated_home.mkdir(parents=True, exist_ok=True)
    (_isolated_home / "lake").symlink_to(lake.root, target_is_directory=True)
    for var in ("MLFLOW_TRACKING_URI", pitwall.MLFLOW_DEFAULT_MARK, pitwall.MLFLOW_ARTIFACT_ROOT_ENV):
        monkeypatch.delenv(var, raising=False)  # the kernel's `import pitwall` sets them for this home
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=CELL_TIMEOUT_S, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    if path.name == "01_race_prediction.ipynb":  # the plots are shown inline, once each
        images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
        assert len(images) == 2
