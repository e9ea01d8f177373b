"""``FeatureStore``: point-in-time feature frames for training and prediction.

    fs = FeatureStore()                      # the Store of this environment
    df = fs.get_features(seasons=(2018, 2023), feature_groups=["driver", "team"], conditions="dry")

Frames come from the materialised tables when they are fresh (see ``pitwall.features.tables``)
and are computed otherwise; both give the same values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from pitwall import refs
from pitwall.data.store import Store, get_store
from pitwall.features.compute import compute_features, feature_columns
from pitwall.features.custom import FeatureEngineer, driver_data_records
from pitwall.features.errors import FeatureInputError
from pitwall.features.inputs import FeatureInputs, input_fingerprint, read_dataset, stored_seasons
from pitwall.features.laps import lap_frame, pit_stop_frame, race_frame
from pitwall.features.spec import CONDITIONS, FEATURES, GROUPS, KEY_COLUMNS, MOMENTS, known_by
from pitwall.features.tables import (
    LAPS_TABLE,
    PIT_STOPS_TABLE,
    RACES_TABLE,
    BuildReport,
    build_feature_tables,
    driver_table,
    input_digests,
    is_fresh,
)
from pitwall.features.targets import target_frame

LATEST_MOMENT = MOMENTS[-1]  # pre_race: the last moment with a (race, driver) feature table
SeasonsArg = int | tuple[int, int] | Sequence[int] | range | None


def _str_list(value: Any, field: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    try:
        items = list(value)
    except TypeError:
        raise FeatureInputError(
            f"{field}: expected a string or a list of strings, got {value!r}", field=field
        ) from None
    bad = [v for v in items if not isinstance(v, str)]
    if bad:
        raise FeatureInputError(f"{field}: expected strings, got {bad[0]!r}", field=field)
    return items


def parse_seasons(seasons: SeasonsArg, available: Iterable[int]) -> list[int]:
    """``None`` (all stored seasons) or any form of :func:`pitwall.refs.parse_seasons`, checked against the store."""
    have = sorted({int(s) for s in available})
    if seasons is None:
        if not have:
            raise FeatureInputError("seasons: the store holds no races; ingest data first", field="seasons")
        return have
    try:
        wanted = refs.parse_seasons(seasons, field="seasons")
    except refs.RefError as exc:
        raise FeatureInputError(exc.message, field=exc.field) from None
    missing = sorted(set(wanted) - set(have))
    if missing:
        span = f"{have[0]}-{have[-1]}" if have else "none"
        raise FeatureInputError(f"seasons: no races in the store for {missing} (stored: {span})", field="seasons")
    return sorted(set(wanted))


def _check_ids(values: list[str] | None, known: Iterable[str], field: str, what: str) -> None:
    if values is None:
        return
    known_set = set(known)
    unknown = [v for v in values if v not in known_set]
    if unknown:
        raise FeatureInputError(f"{field}: unknown {what} id {unknown[0]!r}", field=field)


class FeatureStore:
    """Point-in-time feature frames over a Store (default: ``get_store()``).

    ``engineer``: where custom features are looked up (default: the process-wide registry that
    every ``FeatureEngineer()`` shares).
    ``inputs``: compute from these inputs instead of the Store's (e.g. a race weekend as it stood
    at a moment, ``pitwall.features.weekend.inputs_at``); materialised tables are then not used.
    """

    def __init__(
        self, store: Store | None = None, engineer: FeatureEngineer | None = None, inputs: FeatureInputs | None = None
    ) -> None:
        self._store = store
        self.engineer = engineer if engineer is not None else FeatureEngineer()
        self._cached: tuple[tuple, FeatureInputs] | None = None
        self._given = inputs

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = get_store()
        return self._store

    def _inputs(self) -> FeatureInputs:
        """The Store's input tables; kept (with everything derived from them) while the Store's input
        objects are unchanged (``Store.versions``), so repeated calls on one FeatureStore do not re-read
        or recompute."""
        if self._given is not None:
            return self._given
        fingerprint = input_fingerprint(self.store)
        if fingerprint is not None and self._cached is not None and self._cached[0] == fingerprint:
            return self._cached[1]
        inp = FeatureInputs.from_store(self.store)
        self._cached = (fingerprint, inp) if fingerprint is not None else None
        return inp

    def _fresh(self, inp: FeatureInputs, seasons: list[int], dataset: str) -> bool:
        if self._given is not None:
            return False
        return is_fresh(self.store, inp.memo("digests", lambda: input_digests(inp)), seasons, dataset)

    # --- the (race, driver) frame ---------------------------------------------------------
    def get_features(
        self,
        seasons: SeasonsArg = None,
        feature_groups: Sequence[str] | None = None,
        circuits: str | Sequence[str] | None = None,
        drivers: str | Sequence[str] | None = None,
        teams: str | Sequence[str] | None = None,
        conditions: str | Sequence[str] | None = None,
        custom_features: str | Sequence[str] | None = None,
        moment: str = "pre_race",
        features: Sequence[str] | None = None,
        include_targets: bool = False,
    ) -> pd.DataFrame:
        """Features per (race, driver) entrant, as known at ``moment``.

        Columns: ``season, round, race_id, driver_id, constructor_id, circuit_id``, then the
        built-in features of ``feature_groups`` (default: all groups) plus the built-ins named
        in ``features`` (when ``features`` is given and ``feature_groups`` is not, only those),
        then ``custom_features``, then (``include_targets``) the target columns of ``targets``.
        Filters: ``circuits`` / ``drivers`` / ``teams`` (F1DB ids).
        ``conditions`` ('dry', 'mixed', 'wet') is a **scenario**, not a feature: it keeps the
        races whose own observed weather (``observed_weather``, known only after the race) was
        one of these, so the frame describes races *assumed* to run in those conditions (no
        forecast exists offline); the rows then carry that assumption as column
        ``scenario_weather``. Races without lap data never match.
        Features known only after the race (spec ``known_at``: ``observed_weather``) are never
        returned, and asking for one is refused; the others are null at a moment before they
        are known (``start_position`` pre_qualifying). Rows are ordered by season, round, driver_id.
        """
        if moment not in MOMENTS:
            raise FeatureInputError(f"moment: must be one of {', '.join(MOMENTS)}; got {moment!r}", field="moment")
        groups = _str_list(feature_groups, "feature_groups")
        names = _str_list(features, "features")
        if groups is None:
            groups = [] if names is not None else list(GROUPS)
        bad = [g for g in groups if g not in GROUPS]
        if bad:
            raise FeatureInputError(
                f"feature_groups: unknown group {bad[0]!r} (groups: {', '.join(GROUPS)})", field="feature_groups"
            )
        for n in names or []:
            if n not in FEATURES:
                raise FeatureInputError(f"features: unknown built-in feature {n!r}", field="features")
            if not known_by(FEATURES[n].known_at, LATEST_MOMENT):
                raise FeatureInputError(
                    f"features: {n!r} is known only from {FEATURES[n].known_at}, after every feature-table moment; "
                    "a race's observed weather can only be a scenario (conditions=)",
                    field="features",
                )
        columns = [c for c in feature_columns(groups) if known_by(FEATURES[c].known_at, LATEST_MOMENT)]
        columns += [n for n in names or [] if n not in columns]
        custom = _str_list(custom_features, "custom_features") or []
        for name in custom:
            self.engineer.get(name)  # unknown names fail here, before any work
        conds = _str_list(conditions, "conditions")
        for c in conds or []:
            if c not in CONDITIONS:
                raise FeatureInputError(
                    f"conditions: must be one of {', '.join(CONDITIONS)}; got {c!r}", field="conditions"
                )
        circuit_ids = _str_list(circuits, "circuits")
        driver_ids = _str_list(drivers, "drivers")
        team_ids = _str_list(teams, "teams")

        inp = self._inputs()
        season_list = parse_seasons(seasons, inp.races["season"])
        ent = inp.entrants
        _check_ids(circuit_ids, inp.races["circuit_id"].dropna(), "circuits", "circuit")
        _check_ids(driver_ids, ent["driver_id"], "drivers", "driver")
        _check_ids(team_ids, ent["constructor_id"].dropna(), "teams", "constructor")

        frame = self._driver_frame(inp, season_list, moment)
        keep = pd.Series(True, index=frame.index)
        if circuit_ids is not None:
            keep &= frame["circuit_id"].isin(circuit_ids)
        if driver_ids is not None:
            keep &= frame["driver_id"].isin(driver_ids)
        if team_ids is not None:
            keep &= frame["constructor_id"].isin(team_ids)
        scenario = None
        if conds is not None:
            observed = inp.race_conditions.set_index("race_id")["observed_weather"]
            scenario = frame["race_id"].map(observed).astype("string")
            keep &= scenario.isin(conds).fillna(False).astype(bool)
        frame = frame[keep.to_numpy()].reset_index(drop=True)
        out = frame[list(KEY_COLUMNS) + columns].copy()
        if scenario is not None:
            out["scenario_weather"] = scenario[keep.to_numpy()].to_numpy()
        if custom:
            values = self.engineer.compute(custom, driver_data_records(inp, frame, moment))
            for name in custom:
                out[name] = values[name].to_numpy()
        if include_targets:
            t = target_frame(inp, season_list).drop(columns=["season", "round"])
            out = out.merge(t, on=["race_id", "driver_id"], how="left")
        return out

    def _driver_frame(self, inp: FeatureInputs, seasons: list[int], moment: str) -> pd.DataFrame:
        dataset = driver_table(moment)

        def build() -> pd.DataFrame:
            if self._fresh(inp, seasons, dataset):
                df = read_dataset(self.store, dataset, seasons)
                return df.sort_values(["season", "round", "driver_id"], kind="stable").reset_index(drop=True)
            return compute_features(inp, moment=moment, seasons=seasons)

        return inp.memo(f"{dataset}:{seasons}", build).copy()

    def features_for_entries(
        self,
        entries: pd.DataFrame,
        moment: str = "pre_race",
        custom_features: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Features for explicit (race, driver) rows, e.g. an upcoming race not yet in the Store.

        ``entries`` needs ``season, round, driver_id, constructor_id, circuit_id``. History
        features use every stored race before (season, round). Session values of the race
        itself come from the Store when the race is there; columns of ``entries`` named like a
        session feature (``start_position``, ``quali_gap_to_pole``, ``fp_pace_ranking``)
        override them (e.g. the grid of a race about to start).
        """
        if moment not in MOMENTS:
            raise FeatureInputError(f"moment: must be one of {', '.join(MOMENTS)}; got {moment!r}", field="moment")
        need = ["season", "round", "driver_id", "constructor_id", "circuit_id"]
        missing = [c for c in need if c not in entries.columns]
        if missing:
            raise FeatureInputError(f"entries: missing column {missing[0]!r}", field="entries")
        inp = self._inputs()
        out = compute_features(inp, moment=moment, rows=entries)
        overrides = ("start_position", "quali_gap_to_pole", "fp_pace_ranking")
        for col in overrides:
            if col in entries.columns and moment in FEATURES[col].moments:
                given = entries[col].reset_index(drop=True)
                out[col] = given.where(given.notna(), out[col]).astype(out[col].dtype)
        custom = _str_list(custom_features, "custom_features") or []
        if custom:
            values = self.engineer.compute(custom, driver_data_records(inp, out, moment))
            for name in custom:
                out[name] = values[name].to_numpy()
        return out

    # --- other frames ---------------------------------------------------------------------
    def _frame(self, dataset: str, build: Any, seasons: SeasonsArg) -> pd.DataFrame:
        inp = self._inputs()
        season_list = parse_seasons(seasons, inp.races["season"])

        def make() -> pd.DataFrame:
            if self._fresh(inp, season_list, dataset):
                return read_dataset(self.store, dataset, season_list)
            return build(inp, seasons=season_list)

        return inp.memo(f"{dataset}:{season_list}", make).copy()

    def lap_features(self, seasons: SeasonsArg = None) -> pd.DataFrame:
        """Lap-level frame (``pitwall.features.laps.LAP_COLUMNS``), FastF1 laps 2018+."""
        return self._frame(LAPS_TABLE, lap_frame, seasons)

    def pit_stop_features(self, seasons: SeasonsArg = None) -> pd.DataFrame:
        """Pit-stop frame (``PIT_STOP_COLUMNS``), F1DB stops 1994+."""
        return self._frame(PIT_STOPS_TABLE, pit_stop_frame, seasons)

    def race_features(self, seasons: SeasonsArg = None) -> pd.DataFrame:
        """Race-level frame (``RACE_COLUMNS``): safety car, rain, DNFs and circuit priors."""
        return self._frame(RACES_TABLE, race_frame, seasons)

    def targets(self, seasons: SeasonsArg = None) -> pd.DataFrame:
        """Targets per (race, driver) entrant (``pitwall.features.targets.TARGET_COLUMNS``)."""
        inp = self._inputs()
        return target_frame(inp, parse_seasons(seasons, inp.races["season"]))

    def entrants(self, seasons: SeasonsArg = None) -> pd.DataFrame:
        """The row set of the (race, driver) frames: key columns only."""
        inp = self._inputs()
        season_list = parse_seasons(seasons, inp.races["season"])
        ent = inp.entrants
        ent = ent[ent["season"].isin(season_list)]
        return ent[list(KEY_COLUMNS)].reset_index(drop=True)

    def build(self, seasons: SeasonsArg = None) -> BuildReport:
        """Full rebuild of the materialised feature tables (default: all seasons)."""
        if seasons is None:
            return build_feature_tables(self.store)
        return build_feature_tables(self.store, parse_seasons(seasons, stored_seasons(self.store, "races")))

    @staticmethod
    def describe() -> pd.DataFrame:
        """The spec table: feature, group, definition, source, moments."""
        return pd.DataFrame(
            [
                {
                    "feature": s.name,
                    "group": s.group,
                    "definition": s.definition,
                    "source": s.source,
                    "moments": ", ".join(s.moments),
                }
                for s in FEATURES.values()
            ]
        )


def show_features(store: Store, season: int, round: int, moment: str = "pre_race") -> pd.DataFrame:  # noqa: A002
    """All built-in features of one race's entrants at ``moment`` (``pitwall features show``).

    Rows are ordered by starting slot at ``pre_race`` and by driver id at ``pre_qualifying``.
    """
    fs = FeatureStore(store)
    if not isinstance(round, int) or isinstance(round, bool) or round < 1:
        raise FeatureInputError(f"round: expected a positive integer, got {round!r}", field="round")
    df = fs.get_features(seasons=[season], moment=moment)
    df = df[df["round"] == round]
    if not len(df):
        raise FeatureInputError(f"round: season {season} has no round {round} in the store", field="round")
    order = ["start_position", "driver_id"] if moment == "pre_race" else ["driver_id"]
    return df.sort_values(order, kind="stable").reset_index(drop=True)
