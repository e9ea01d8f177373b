"""The feature store: point-in-time (race, driver) features, lap/pit/race frames, custom features.

Public API::

    from pitwall.features import FeatureStore, FeatureEngineer

    fs = FeatureStore()                                   # over get_store(), or FeatureStore(store)
    fs.get_features(seasons=(2018, 2023), feature_groups=["driver", "team", "session"],
                    circuits=None, drivers=None, teams=None, conditions=None,
                    custom_features=[], moment="pre_race")
    fs.targets(seasons) / fs.entrants(seasons)
    fs.lap_features(seasons) / fs.pit_stop_features(seasons) / fs.race_features(seasons)

Materialised tables: ``build_feature_tables(store, seasons)``, ``update_feature_tables(store)``,
``race_ingested_handler(store)`` (a ``RaceIngested`` subscriber), ``show_features(store, season, round)``.
Feature definitions: ``FEATURES`` (spec table) and ``docs/features.md``. Auto-features (lags,
previous-race means, team-mate / field differences of a base set, each with its ``known_at``):
``add_auto_features(df, AutoFeatures(base=[...]))``.
"""

from pitwall.features.auto import AutoFeatures, add_auto_features
from pitwall.features.custom import DRIVER_DATA_KEYS, CustomFeature, FeatureEngineer
from pitwall.features.errors import CustomFeatureError, FeatureInputError
from pitwall.features.feature_store import FeatureStore, show_features
from pitwall.features.laps import LAP_COLUMNS, PIT_STOP_COLUMNS, RACE_COLUMNS
from pitwall.features.spec import FEATURES, GROUPS, KEY_COLUMNS, MOMENTS, FeatureSpec
from pitwall.features.tables import (
    FEATURE_TABLES,
    BuildReport,
    build_feature_tables,
    driver_table,
    race_ingested_handler,
    update_feature_tables,
)
from pitwall.features.targets import TARGET_COLUMNS

__all__ = [
    "DRIVER_DATA_KEYS",
    "AutoFeatures",
    "add_auto_features",
    "FEATURES",
    "FEATURE_TABLES",
    "GROUPS",
    "KEY_COLUMNS",
    "LAP_COLUMNS",
    "MOMENTS",
    "PIT_STOP_COLUMNS",
    "RACE_COLUMNS",
    "TARGET_COLUMNS",
    "BuildReport",
    "CustomFeature",
    "CustomFeatureError",
    "FeatureEngineer",
    "FeatureInputError",
    "FeatureSpec",
    "FeatureStore",
    "build_feature_tables",
    "driver_table",
    "race_ingested_handler",
    "show_features",
    "update_feature_tables",
]
