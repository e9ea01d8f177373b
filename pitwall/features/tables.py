"""Materialised feature tables in the Store, and their incremental rebuild.

Datasets (each partitioned by season: ``<dataset>/season=<YYYY>/data.parquet``; DuckDB views
locally, Glue/Athena tables in the cloud):

- ``features_driver_pre_race``, ``features_driver_pre_qualifying``: the (race, driver) frame
  of ``compute_features`` at each moment (all built-in groups);
- ``features_laps``, ``features_pit_stops``, ``features_races``: the frames of
  ``pitwall.features.laps``;
- ``features_manifest``: one row per race of every season up to the last materialised one,
  with a digest of that race's input rows and ``features_version``;
- ``features_state``: snapshots of the per-race derived frames of every race before a season
  (``pitwall.features.state``), what an incremental refresh starts from.

Freshness: features of race R depend only on the inputs of races up to R. If the first race
whose input digest differs from the manifest is R0, every row of a race before R0 is still
right, and only rows from R0 onward are rebuilt (R0's season and, when they are materialised,
the following seasons). A re-ingest that changes nothing rebuilds nothing.

Cost: after a ``RaceIngested`` event only the event's seasons' raw tables are read to find R0;
the refresh then reads the snapshot of the end of the season before (the history as compact
per-race rows), the raw tables of the seasons from there on (one season for a new race of the
current season), computes the rows from R0 on from the histories of those rows' drivers,
constructors and circuits only, and rewrites R0's season partitions (and later ones).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pitwall.data.events import RaceIngested
from pitwall.data.schema import TABLES, conform, empty
from pitwall.data.store import Store
from pitwall.features.compute import at_moment, compute_features
from pitwall.features.errors import FeatureInputError
from pitwall.features.inputs import INPUT_TABLES, FeatureInputs, race_seq, read_dataset, stored_seasons
from pitwall.features.laps import lap_frame, pit_stop_frame, race_frame
from pitwall.features.spec import MOMENTS
from pitwall.features.state import read_snapshot, snapshot_cuts, snapshot_objects

FEATURES_VERSION = "5"  # bump whenever a feature definition changes: forces a full rebuild
MANIFEST = "features_manifest"
LAPS_TABLE = "features_laps"
PIT_STOPS_TABLE = "features_pit_stops"
RACES_TABLE = "features_races"


def driver_table(moment: str) -> str:
    """Dataset name of the (race, driver) frame at ``moment``: ``features_driver_pre_race``."""
    return f"features_driver_{moment}"


FEATURE_TABLES: tuple[str, ...] = (*[driver_table(m) for m in MOMENTS], LAPS_TABLE, PIT_STOPS_TABLE, RACES_TABLE)
_SORT_KEYS: dict[str, list[str]] = {
    **{driver_table(m): ["season", "round", "driver_id"] for m in MOMENTS},
    LAPS_TABLE: ["season", "round", "driver_code", "lap_number"],
    PIT_STOPS_TABLE: ["season", "round", "driver_id", "stop"],
    RACES_TABLE: ["season", "round"],
}


@dataclass
class BuildReport:
    """What a build or update did."""

    first_changed_race: str | None = None  # None: nothing changed
    seasons_written: list[int] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)  # rows (re)computed per dataset
    seconds: float = 0.0

    def summary(self) -> str:
        if not self.seasons_written:
            return f"feature tables up to date ({self.seconds:.2f}s)"
        seasons = self.seasons_written
        span = f"{seasons[0]}-{seasons[-1]}" if len(seasons) > 1 else str(seasons[0])
        cause = f"from race {self.first_changed_race}" if self.first_changed_race else "(inputs unchanged)"
        parts = [f"feature tables rebuilt {cause}: seasons {span} in {self.seconds:.2f}s"]
        parts += [f"  {name}: {n:,} rows recomputed" for name, n in sorted(self.rows.items())]
        return "\n".join(parts)


# --- input digests ------------------------------------------------------------------------
def input_digests(inp: FeatureInputs) -> pd.DataFrame:
    """One row per race: ``season, round, race_id, seq, inputs_digest`` (order-independent row hash)."""
    races = inp["races"]
    base = pd.DataFrame({"race_id": races["race_id"].astype(str).to_numpy()})
    parts: list[pd.DataFrame] = []
    for name in INPUT_TABLES:
        df = inp[name]
        if not len(df):
            continue
        h = pd.util.hash_pandas_object(df, index=False).to_numpy(dtype=np.uint64)
        codes, uniques = pd.factorize(df["race_id"])
        hi = np.bincount(codes, weights=(h >> np.uint64(32)).astype(np.float64), minlength=len(uniques))
        lo = np.bincount(codes, weights=(h & np.uint64(0xFFFFFFFF)).astype(np.float64), minlength=len(uniques))
        n = np.bincount(codes, minlength=len(uniques))
        # sums of < 2**32 values over < 2**20 rows stay below 2**53: exact in float64
        agg = pd.DataFrame(
            {"hi": hi.astype(np.int64), "lo": lo.astype(np.int64), "n": n}, index=np.asarray(uniques, dtype=object)
        )
        agg["part"] = name + ":" + agg["n"].astype(str) + ":" + agg["hi"].astype(str) + ":" + agg["lo"].astype(str)
        parts.append(agg[["part"]])
    if parts:
        text = pd.concat(parts).groupby(level=0)["part"].agg(lambda s: "|".join(sorted(s)))
        digest = base["race_id"].map(text).fillna("")
    else:
        digest = pd.Series("", index=base.index, dtype=object)
    out = pd.DataFrame(
        {
            "season": races["season"].astype("int64").to_numpy(),
            "round": races["round"].astype("int64").to_numpy(),
            "race_id": races["race_id"].astype("string").to_numpy(),
            "inputs_digest": [hashlib.sha1(t.encode()).hexdigest() for t in digest],
        }
    )
    out["seq"] = race_seq(out["season"], out["round"])
    return out.sort_values("seq").reset_index(drop=True)


def _manifest(store: Store, seasons: Iterable[int] | None = None) -> pd.DataFrame:
    df = read_dataset(store, MANIFEST, seasons)
    if not len(df):
        return pd.DataFrame(columns=["season", "round", "race_id", "inputs_digest", "features_version", "seq"])
    df["seq"] = race_seq(df["season"], df["round"])
    return df


def first_changed_seq(digests: pd.DataFrame, manifest: pd.DataFrame, max_season: int | None = None) -> int | None:
    """``seq`` of the first race whose inputs differ from the manifest (new, removed or changed); None if none."""
    if max_season is not None:
        digests = digests[digests["season"] <= max_season]
        manifest = manifest[manifest["season"] <= max_season]
    if len(manifest) and (manifest["features_version"].astype(str) != FEATURES_VERSION).any():
        seqs = pd.concat([digests["seq"], manifest["seq"]])
        return int(seqs.min()) if len(seqs) else None
    now = dict(zip(digests["seq"].astype(int), digests["inputs_digest"].astype(str), strict=True))
    then = dict(zip(manifest["seq"].astype(int), manifest["inputs_digest"].astype(str), strict=True))
    changed = [s for s in set(now) | set(then) if now.get(s) != then.get(s)]
    return min(changed) if changed else None


def materialised_seasons(store: Store) -> list[int]:
    """Seasons that have materialised (race, driver) feature tables."""
    return stored_seasons(store, driver_table("pre_race"))


def is_fresh(store: Store, digests: pd.DataFrame, seasons: Iterable[int], dataset: str) -> bool:
    """Whether ``dataset`` holds up-to-date rows for every season in ``seasons``."""
    wanted = sorted({int(s) for s in seasons})
    if not wanted:
        return False
    have = set(stored_seasons(store, dataset))
    if not set(wanted) <= have:
        return False
    manifest = _manifest(store, [s for s in stored_seasons(store, MANIFEST) if s <= wanted[-1]])
    if not len(manifest):
        return False
    return first_changed_seq(digests, manifest, max_season=wanted[-1]) is None


# --- building -----------------------------------------------------------------------------
def _frames(inp: FeatureInputs, seasons: set[int], min_seq: int, full_seasons: set[int]) -> dict[str, pd.DataFrame]:
    """Feature frames for rows of ``full_seasons`` and rows with seq >= ``min_seq`` of ``seasons``.

    Only those rows are computed (each frame's rows of a race depend on that race and the history
    before it, never on the other rows computed).
    """

    def pick(df: pd.DataFrame) -> pd.DataFrame:
        seq = race_seq(df["season"], df["round"])
        keep = df["season"].isin(full_seasons) | (df["season"].isin(seasons) & (seq >= min_seq))
        return df[keep.to_numpy()].reset_index(drop=True)

    all_seasons = seasons | full_seasons
    lo = min([min_seq, *(s * 100 for s in full_seasons)])
    pre_race = pick(compute_features(inp, moment="pre_race", seasons=all_seasons, min_seq=lo))
    out = {driver_table(m): at_moment(pre_race, m) for m in MOMENTS}
    out[LAPS_TABLE] = pick(lap_frame(inp, seasons=all_seasons, min_seq=lo))
    out[PIT_STOPS_TABLE] = pick(pit_stop_frame(inp, seasons=all_seasons, min_seq=lo))
    out[RACES_TABLE] = pick(race_frame(inp, seasons=all_seasons, min_seq=lo))
    return out


def _merge_partition(
    store: Store, dataset: str, season: int, new: pd.DataFrame, keep_before: int | None
) -> pd.DataFrame | None:
    """Partition ``season`` of ``dataset``: its stored rows before ``keep_before`` (None: none) and
    the new rows. None when that is exactly the stored partition (no row from ``keep_before`` on
    before or after: e.g. a race without lap data leaves the lap table as it is)."""
    parts = []
    rows = new[(new["season"] == season).to_numpy()]
    if keep_before is not None:
        if not len(rows) and all(race_seq(season, r) < keep_before for r in store.rounds(dataset, season)):
            return None  # nothing from keep_before on, stored or new: known from the round column alone
        old = read_dataset(store, dataset, [season])
        if len(old):
            seq = race_seq(old["season"], old["round"])
            kept = (seq < keep_before).to_numpy()
            if kept.all() and not len(rows):
                return None
            parts.append(old[kept])
    parts.append(rows)
    parts = [p for p in parts if len(p)]
    if not parts:
        return new.iloc[0:0]
    df = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    return df.sort_values(_SORT_KEYS[dataset], kind="stable").reset_index(drop=True)


def _read_raw(store: Store, seasons: Iterable[int], have: dict[int, dict[str, pd.DataFrame]]) -> FeatureInputs:
    """Raw input tables of ``seasons`` (``have``: seasons already read, reused), conformed and in the
    order ``read_dataset`` gives for all of them at once."""
    wanted = sorted({int(s) for s in seasons})
    for season in wanted:
        if season not in have:
            have[season] = {name: read_dataset(store, name, [season]) for name in INPUT_TABLES}
    tables: dict[str, pd.DataFrame] = {}
    for name in INPUT_TABLES:
        parts = [have[s][name] for s in wanted if len(have[s][name])]
        if not parts:
            tables[name] = empty(name)
        elif len(parts) == 1:
            tables[name] = parts[0]
        else:  # one stable key sort of the seasons in order: what reading them together gives
            df = conform(name, pd.concat(parts, ignore_index=True))
            key = [k for k in TABLES[name].key if k in df.columns]
            tables[name] = df.sort_values(key, kind="stable").reset_index(drop=True) if key else df
    return FeatureInputs(tables)


@dataclass
class _Plan:
    """Where an update starts: the first changed race, and the inputs to compute from."""

    r0: int | None  # seq of the first changed race (None: nothing changed)
    inputs: FeatureInputs
    digests: pd.DataFrame  # digests of the races of ``inputs``' raw tables
    manifest: pd.DataFrame  # manifest rows of the seasons of ``digests``
    cut: int | None  # cut season of the snapshot ``inputs`` starts from (None: all raw tables)


def _plan_full(store: Store, inputs: FeatureInputs | None) -> _Plan:
    inp = inputs if inputs is not None else FeatureInputs.from_store(store)
    digests = input_digests(inp)
    manifest = _manifest(store)
    return _Plan(first_changed_seq(digests, manifest), inp, digests, manifest, None)


def _plan_from_hint(store: Store, changed: list[int], first_full: int | None, data_seasons: list[int]) -> _Plan | None:
    """The plan when only the races of ``changed`` seasons can have changed (a ``RaceIngested``
    event's seasons): only those seasons' raw tables are read to find the first changed race,
    then those from the newest usable snapshot on. None: no shortcut (a full plan is needed)."""
    have: dict[int, dict[str, pd.DataFrame]] = {}
    digests: dict[int, pd.DataFrame] = {}

    def season_digests(seasons: list[int]) -> pd.DataFrame:  # per race, so per season and reused
        for s in seasons:
            if s not in digests:
                digests[s] = input_digests(_read_raw(store, [s], have))
        parts = [digests[s] for s in seasons if len(digests[s])]
        if not parts:
            return digests[seasons[0]] if seasons else input_digests(FeatureInputs.from_frames({}))
        return pd.concat(parts, ignore_index=True).sort_values("seq").reset_index(drop=True)

    manifest = _manifest(store, changed)
    if len(manifest) and (manifest["features_version"].astype(str) != FEATURES_VERSION).any():
        return None
    r0 = first_changed_seq(season_digests(changed), manifest)
    starts = [s for s in (None if r0 is None else r0 // 100, first_full) if s is not None]
    if not starts:
        return _Plan(None, _read_raw(store, changed, have), season_digests(changed), manifest, None)
    need = min(starts)
    cuts = [c for c in snapshot_cuts(store) if c <= need]
    prior = read_snapshot(store, cuts[-1], FEATURES_VERSION) if cuts else None
    if prior is None:
        return None
    cut = cuts[-1]
    fresh = [s for s in data_seasons if s >= cut]
    inp = FeatureInputs(_read_raw(store, fresh, have).tables, prior=prior)
    now = season_digests(fresh)
    now_seasons = sorted(set(now["season"].astype(int)))
    if now_seasons != changed:  # else the manifest rows read above are the ones needed
        manifest = _manifest(store, now_seasons)
    return _Plan(r0, inp, now, manifest, cut)


def update_feature_tables(
    store: Store,
    seasons: Iterable[int] | None = None,
    full: bool = False,
    inputs: FeatureInputs | None = None,
    changed_seasons: Iterable[int] | None = None,
) -> BuildReport:
    """Bring the feature tables up to date with the Store's canonical tables.

    - ``seasons``: seasons to materialise in addition to those already materialised (later
      seasons present in the Store are always added, so new seasons get tables).
    - ``full``: recompute ``seasons`` entirely (default: only rows from the first changed race).
    - ``changed_seasons``: the only seasons whose inputs may have changed (the seasons of a
      ``RaceIngested`` event). Then only their raw tables are read to find the first changed
      race R0, and the refresh starts from the newest feature-state snapshot before R0's season
      (``pitwall.features.state``): the cost of the seasons from that snapshot on, not of the
      history. Without it, every input is read and compared with the manifest.

    All partitions (features, manifest, state snapshots) are written in one commit.
    """
    start = time.perf_counter()
    report = BuildReport()
    data_seasons = sorted(set(stored_seasons(store, "races"))) if inputs is None else []
    if inputs is not None:
        data_seasons = sorted(set(inputs["races"]["season"].astype(int)))
    if not data_seasons:
        report.seconds = time.perf_counter() - start
        return report
    existing = set(materialised_seasons(store))
    requested = {int(s) for s in seasons} if seasons is not None else set()
    unknown = requested - set(data_seasons)
    if unknown:
        raise FeatureInputError(f"seasons: no races in the store for {sorted(unknown)}", field="seasons")
    target = existing | requested
    if target:
        target |= {s for s in data_seasons if s > max(target)}
    target &= set(data_seasons) | existing
    if not target:
        report.seconds = time.perf_counter() - start
        return report
    full_seasons = (requested if full else set()) | (target - existing)
    plan = None
    if changed_seasons is not None and inputs is None and not (full and requested):
        changed = sorted({int(s) for s in changed_seasons} & set(data_seasons))
        first_full = min(full_seasons) if full_seasons else None
        if not changed and first_full is None:
            report.seconds = time.perf_counter() - start
            return report
        plan = _plan_from_hint(store, changed, first_full, data_seasons)
    if plan is None:
        plan = _plan_full(store, inputs)
    inp, digests, manifest = plan.inputs, plan.digests, plan.manifest
    if not len(digests):
        report.seconds = time.perf_counter() - start
        return report
    r0 = plan.r0
    if r0 is None:  # nothing changed: only seasons to build from scratch
        r0 = int(digests["seq"].max()) + 1
        partial: set[int] = set()
    else:
        partial = {s for s in target if s not in full_seasons and s >= r0 // 100}
    write_seasons = sorted(full_seasons | partial)
    if not write_seasons:
        report.seconds = time.perf_counter() - start
        return report
    frames = _frames(inp, partial, r0, full_seasons)
    objects: dict[tuple[str, int | None], pd.DataFrame] = {}
    for dataset, frame in frames.items():
        report.rows[dataset] = len(frame)
        stored = set(stored_seasons(store, dataset))
        for season in write_seasons:
            keep = None if season in full_seasons or season not in existing else r0
            part = _merge_partition(store, dataset, season, frame, keep)
            if part is None:
                continue
            if len(part) or season in stored:  # an emptied partition is overwritten, never left stale
                objects[(dataset, season)] = part
    # manifest: every season up to the last materialised one whose digests changed
    top = max(target)
    now = digests[digests["season"] <= top]
    old = manifest[manifest["season"] <= top] if len(manifest) else manifest
    for season, group in now.groupby("season"):
        prev = old[old["season"] == season] if len(old) else old
        rows = group[["season", "round", "race_id", "inputs_digest"]].assign(features_version=FEATURES_VERSION)
        same = (
            len(prev) == len(rows)
            and set(zip(prev["race_id"].astype(str), prev["inputs_digest"].astype(str), strict=True))
            == set(zip(rows["race_id"].astype(str), rows["inputs_digest"].astype(str), strict=True))
            and (prev["features_version"].astype(str) == FEATURES_VERSION).all()
        )
        if not same:
            objects[(MANIFEST, int(season))] = rows.reset_index(drop=True)
    # state: the snapshot before the last materialised season, and every snapshot a change made stale
    # (a snapshot with cut C holds the seasons before C: a change in season S makes every C > S stale)
    cuts = set(snapshot_cuts(store))
    stale = {c for c in cuts if plan.r0 is not None and c > plan.r0 // 100}
    if top not in cuts or plan.cut is None:  # missing, or not readable when this update began
        stale.add(top)
    for cut in sorted(stale):
        objects.update(snapshot_objects(inp, cut, FEATURES_VERSION))
    store.write_partitions(objects)
    changed_races = digests[digests["seq"] >= r0]
    report.first_changed_race = str(changed_races["race_id"].iloc[0]) if len(changed_races) else None
    report.seasons_written = write_seasons
    report.seconds = time.perf_counter() - start
    return report


def build_feature_tables(store: Store, seasons: Iterable[int] | None = None) -> BuildReport:
    """Full rebuild of the feature tables for ``seasons`` (default: every season with races).

    Seasons materialised earlier are brought up to date as well. This is what
    ``pitwall features build`` and the cloud feature job run.
    """
    inp = FeatureInputs.from_store(store)
    if seasons is None:
        seasons = sorted(set(inp.races["season"].astype(int)))
    return update_feature_tables(store, seasons=seasons, full=True, inputs=inp)


def race_ingested_handler(store: Store) -> Callable[[RaceIngested], BuildReport | None]:
    """A ``RaceIngested`` subscriber that keeps materialised feature tables fresh.

    Does nothing while no tables are materialised, or when the inputs of the event's seasons
    match the manifest (only those seasons are read). Otherwise refreshes from the first changed
    race onward, from the feature state (``update_feature_tables(changed_seasons=...)``).

        bus.subscribe(race_ingested_handler(store))
    """

    def handle(event: RaceIngested) -> BuildReport | None:
        if not materialised_seasons(store):
            return None
        report = update_feature_tables(store, changed_seasons=event.seasons)
        return report if report.seasons_written else None

    return handle
