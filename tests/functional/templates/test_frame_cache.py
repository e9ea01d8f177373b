"""The template-frame cache (``pitwall.templates.frame_cache``) on a copy of the real lake: a hit
gives the frame a build gives, any write to the lake or a different request misses, and what is
not Pitwall's own (a modified spec, given inputs, a fake feature store) is never cached."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pitwall.data.store import LocalStore
from pitwall.features import FeatureStore
from pitwall.features.inputs import FeatureInputs, read_dataset
from pitwall.templates import frame_cache, get_template
from pitwall.templates.predict import template_frame

SEASONS = [2023, 2024]


@pytest.fixture(scope="module")
def store(lake, tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    """A copy of the real lake the tests may write (each test has its own home, so its own cache)."""
    root = tmp_path_factory.mktemp("frame-cache") / "lake"
    shutil.copytree(lake.root, root)
    return LocalStore(root)


def _cached(store: LocalStore) -> list[Path]:
    return sorted(frame_cache.cache_dir().glob("*.parquet"))


class _Counting:
    def __init__(self, spec, fs, seasons):  # noqa: ANN001 - test helper
        self.calls = 0
        self.spec, self.fs, self.seasons = spec, fs, seasons

    def __call__(self) -> pd.DataFrame:
        self.calls += 1
        return self.spec.frame(self.fs, self.seasons)


def test_a_hit_is_the_built_frame_and_any_lake_write_misses(store: LocalStore, monkeypatch) -> None:
    spec = get_template("race_winner")
    built = _Counting(spec, FeatureStore(store), SEASONS)
    first = frame_cache.cached_frame(spec, FeatureStore(store), SEASONS, None, built)
    again = frame_cache.cached_frame(spec, FeatureStore(store), SEASONS, None, built)
    assert built.calls == 1 and len(_cached(store)) == 1
    pd.testing.assert_frame_equal(again, first, check_exact=True)

    monkeypatch.setenv(frame_cache.ENV_SWITCH, "0")  # the cache off: the same frame, built
    pd.testing.assert_frame_equal(template_frame(spec, FeatureStore(store), SEASONS), first, check_exact=True)
    monkeypatch.delenv(frame_cache.ENV_SWITCH)

    # other seasons and auto-features are other frames
    frame_cache.cached_frame(spec, FeatureStore(store), [2024], None, _Counting(spec, FeatureStore(store), [2024]))
    with_auto = template_frame(spec, FeatureStore(store), SEASONS, ["start_position"])
    assert "start_position_lag1" in with_auto.columns and len(_cached(store)) == 3

    # 2024 round 5 loses its results: the next frame is built again and shows it
    results = read_dataset(store, "results", [2024])
    store.replace_races(2024, [5], {"results": results[results["round"] == 5].iloc[0:0]})
    after = frame_cache.cached_frame(spec, FeatureStore(store), SEASONS, None, built)
    assert built.calls == 2 and not after.equals(first)
    monkeypatch.setenv(frame_cache.ENV_SWITCH, "0")
    pd.testing.assert_frame_equal(after, template_frame(spec, FeatureStore(store), SEASONS), check_exact=True)


def test_a_torn_cache_file_is_rebuilt(store: LocalStore) -> None:
    spec = get_template("safety_car")
    first = template_frame(spec, FeatureStore(store), SEASONS)
    (path,) = _cached(store)
    path.write_bytes(b"not parquet")
    built = _Counting(spec, FeatureStore(store), SEASONS)
    again = frame_cache.cached_frame(spec, FeatureStore(store), SEASONS, None, built)
    assert built.calls == 1
    pd.testing.assert_frame_equal(again, first, check_exact=True)
    pd.testing.assert_frame_equal(pd.read_parquet(path), first, check_exact=True)


def test_what_is_not_pitwalls_own_is_never_cached(store: LocalStore) -> None:
    spec = get_template("race_winner")
    modified = dataclasses.replace(spec, features=spec.features[:3])
    template_frame(modified, FeatureStore(store), SEASONS)
    template_frame(spec, FeatureStore(store, inputs=FeatureInputs.from_store(store)), SEASONS)

    class Wrapped(FeatureStore):
        pass

    template_frame(spec, Wrapped(store), SEASONS)
    assert _cached(store) == []
