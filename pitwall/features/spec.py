"""The feature spec table: every built-in feature, its group, and its one-line definition.

This table is the single definition of what each feature means; ``docs/features.md`` is
generated from the same text (``render_markdown``) and a test keeps the two in sync.

Vocabulary used in the definitions:

- *R*: the race the row is for; *d*: the row's driver; *c*: d's constructor in R.
- *before R*: in races strictly earlier than R (ordered by season, round).
- *start*: a race result that is not a non-start (DNQ, DNPQ, DNP, DNS).
- *finish position*: the classified position; unclassified (DNF, DSQ, NC, EX) counts as
  ``DNF_POSITION`` (21).
- *points*: championship points scored at a weekend, Grand Prix plus sprint.
- *clean lap*: a FastF1 race lap that is accurate, run under green flags only (track status
  "1"), not lap 1 and neither a pit-in nor a pit-out lap.
- *quali gap*: ``(best qualifying time / fastest qualifying time of the race - 1) * 100``.
- *track speed index*: a race's lap speed (course length / fastest of pole time and race
  fastest lap) divided by the median lap speed of the 20 races up to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pitwall.vocabulary import DRIVER_FEATURE_MOMENTS, WEATHER_CONDITIONS
from pitwall.vocabulary import MOMENTS as PREDICTION_MOMENTS

GROUPS: tuple[str, ...] = ("driver", "team", "session")
MOMENTS: tuple[str, ...] = DRIVER_FEATURE_MOMENTS  # the moments with a driver feature table
CONDITIONS: tuple[str, ...] = WEATHER_CONDITIONS

# Key columns of every (race, driver) feature frame, in order.
KEY_COLUMNS: tuple[str, ...] = ("season", "round", "race_id", "driver_id", "constructor_id", "circuit_id")

# --- documented constants -----------------------------------------------------------------
DNF_POSITION = 21  # finish position given to an unclassified result in position histories
NON_STARTS = frozenset({"DNQ", "DNPQ", "DNP", "DNS"})  # result texts that are not race starts
NOT_ENTRANTS = frozenset({"DNQ", "DNPQ", "DNP"})  # result texts of drivers who were not in the race
PIT_STOP_OUTLIER_S = 120.0  # pit-lane times above this (red-flag stops) are ignored
FUEL_EFFECT_S_PER_LAP = 0.055  # lap-time cost of one lap of fuel, for fuel-corrected tyre degradation
WET_COMPOUNDS = frozenset({"INTERMEDIATE", "WET"})
KNOWN_COMPOUNDS = frozenset({"SOFT", "MEDIUM", "HARD", "INTERMEDIATE", "WET"})
DRY_BELOW_WET_SHARE = 0.02  # race is 'dry' when fewer than 2% of its laps are on wet/intermediate tyres
WET_FROM_WET_SHARE = 0.60  # race is 'wet' from 60%; 'mixed' in between
POWER_TRACK_INDEX = 1.05  # track speed index at or above: high-speed ("power") circuit
DOWNFORCE_TRACK_INDEX = 0.95  # track speed index at or below: low-speed ("downforce") circuit
TRACK_SPEED_WINDOW = 20  # races in the rolling median of the track speed index
STINT_MIN_CLEAN_LAPS = 5  # clean laps a stint needs to give a degradation slope
OVERTAKING_WINDOW = 5  # races at a circuit in the mean of its grid -> finish correlation
RACE_PACE_WINDOW = 5  # races with lap data in a constructor's mean race pace vs the field
SECTOR_WINDOW = 5  # races with sector times / speed traps in sector_times and straight_line_speed

# --- known_at: the moment from which a value is known -------------------------------------
# Every feature (and every column of the lap, stint, pit-stop and race frames in
# ``pitwall.features.laps``) carries ``known_at``. A template predicting at point P may use a
# column only when ``known_by(column.known_at, P)``. The points, in time order: the weekend
# moments of ``pitwall.vocabulary.MOMENTS`` (``in_race`` refined to the in-race points of a
# lap / stint / pit-stop row), then ``post_race`` (known only once the race is over, e.g. the
# race's observed weather). In-race points are relative to the row: for a lap row of lap N,
# "end of lap N-1" is when the previous lap is complete; "start of lap N" adds the tyres the
# car runs on lap N; "end of lap N" is the lap's own outcome (its time, its track status, a pit
# entry). A stint row starts at "start of stint" (its first lap) and ends at "end of stint"; a
# pit-stop row is predicted at "end of in-lap" (pit entry) and ends at "end of stop".
KEY = "key"  # known_at of key columns (the row's identity: always known)
POST_RACE = "post_race"
IN_RACE_POINTS: tuple[str, ...] = (
    "start of stint",
    "end of lap N-1",
    "start of lap N",
    "end of in-lap",
    "end of lap N",
    "end of stop",
    "end of stint",
)
KNOWN_AT: tuple[str, ...] = (
    *(m for m in PREDICTION_MOMENTS if m != "in_race"),
    *IN_RACE_POINTS,
    POST_RACE,
)
"""Every ``known_at`` value, in time order (``KEY`` aside)."""


def known_by(known_at: str, point: str) -> bool:
    """Whether a value known from ``known_at`` is available at prediction point ``point``
    (a ``KNOWN_AT`` value, or ``in_race`` meaning any in-race point: only pre-race values)."""
    if known_at == KEY:
        return True
    if point == "in_race":
        point = IN_RACE_POINTS[0]
    for value, field in ((known_at, "known_at"), (point, "point")):
        if value not in KNOWN_AT:
            raise ValueError(f"{field}: {value!r} is not one of {', '.join(KNOWN_AT)}")
    if known_at in IN_RACE_POINTS and point in IN_RACE_POINTS:
        # lap, stint and stop points belong to different row grains; within one grain the
        # order above is the time order, and a stint starts where its first lap starts
        return IN_RACE_POINTS.index(known_at) <= IN_RACE_POINTS.index(point)
    return KNOWN_AT.index(known_at) <= KNOWN_AT.index(point)


@dataclass(frozen=True)
class FeatureSpec:
    """One built-in feature of the (race, driver) frame.

    - ``dtype``: ``"float"`` (NaN = null) or ``"string"``.
    - ``moments``: moments at which it has values; at other moments it is null by definition.
    - ``source``: the canonical tables it reads; ``"none"`` when no offline source has the inputs.
    - ``known_at``: the moment from which it is known (a ``KNOWN_AT`` value). Driver and team
      features (history strictly before R) default to ``pre_practice``; session features say.
    """

    name: str
    group: str
    definition: str
    source: str
    dtype: str = "float"
    moments: tuple[str, ...] = MOMENTS
    known_at: str = ""


_GROUP_KNOWN_AT = {"driver": "pre_practice", "team": "pre_practice"}  # history before R only


def _f(name: str, group: str, definition: str, source: str, **kw: object) -> FeatureSpec:
    kw.setdefault("known_at", _GROUP_KNOWN_AT.get(group, ""))
    return FeatureSpec(name, group, definition, source, **kw)  # type: ignore[arg-type]


_SPECS: tuple[FeatureSpec, ...] = (
    # --- driver ---------------------------------------------------------------------------
    _f(
        "avg_quali_position_last_5",
        "driver",
        "mean qualifying position of d over d's last 5 qualifying sessions before R",
        "qualifying",
    ),
    _f(
        "avg_race_position_last_5",
        "driver",
        "mean finish position of d over d's last 5 starts before R (unclassified = 21)",
        "results",
    ),
    _f(
        "avg_positions_gained",
        "driver",
        "mean of (grid slot - finish position) over d's last 5 classified finishes from a grid slot before R",
        "results",
    ),
    _f(
        "dnf_rate_season",
        "driver",
        "share of d's starts this season before R that were not classified; null before d's first start of the season",
        "results",
    ),
    _f(
        "avg_position_at_track",
        "driver",
        "mean finish position of d in d's starts at R's circuit before R (unclassified = 21); null if none",
        "results",
    ),
    _f(
        "best_finish_at_track",
        "driver",
        "best classified position of d at R's circuit before R; null if never classified there",
        "results",
    ),
    _f(
        "track_experience_races",
        "driver",
        "number of d's starts at R's circuit before R",
        "results",
    ),
    _f(
        "points_last_3_races",
        "driver",
        "points (Grand Prix + sprint) d scored at the weekends of d's last 3 starts before R",
        "results, sprint_results",
    ),
    _f(
        "quali_trend",
        "driver",
        "least-squares slope of d's qualifying position per session over d's last 5 qualifying sessions "
        "before R (negative = improving); null with fewer than 2",
        "qualifying",
    ),
    _f(
        "race_pace_vs_teammate",
        "driver",
        "mean over d's last 5 races with lap data before R of (d's median clean-lap time / teammates' median "
        "- 1) * 100 (negative = faster than teammate); null without FastF1 laps (before 2018)",
        "laps, results",
    ),
    _f("career_wins", "driver", "number of Grand Prix wins of d before R", "results"),
    _f(
        "career_poles",
        "driver",
        "number of races before R that d started from pole (starting-grid slot 1, F1DB's pole convention)",
        "starting_grid",
    ),
    _f(
        "career_points",
        "driver",
        "championship points (Grand Prix + sprint) d scored in all weekends before R",
        "results, sprint_results",
    ),
    # --- team -----------------------------------------------------------------------------
    _f(
        "constructor_position",
        "team",
        "c's position in the constructors' standings (points of this season's races before R; at round 1 the "
        "previous season's final standings); null when c has none this or last season",
        "results, sprint_results",
    ),
    _f(
        "avg_pit_stop_time",
        "team",
        "mean pit-lane time (s) of c's stops (<= 120 s) over c's last 5 races with recorded stops before R; "
        "null before 1994",
        "pit_stops",
    ),
    _f(
        "reliability_rate",
        "team",
        "1 - share of c's starts in c's last 10 races before R that ended in a technical retirement (a retirement "
        "whose reason is not an accident, collision, spin, driver health, withdrawal or regulatory exclusion)",
        "results",
    ),
    _f(
        "points_trajectory",
        "team",
        "points of c in its last 3 races before R minus its points in the 3 races before those; "
        "null with fewer than 6 races",
        "results, sprint_results",
    ),
    _f(
        "upgrade_effectiveness",
        "team",
        "c's mean best-car quali gap (%) over its 3 races before the last 3 minus that over its last 3 races before "
        "R (positive = car gained pace; a proxy: no upgrade data exists); null with fewer than 6",
        "qualifying",
    ),
    _f(
        "team_track_performance",
        "team",
        "mean finish position of c's cars (unclassified = 21) over c's last 3 races at R's circuit before R; "
        "null if none",
        "results",
    ),
    _f(
        "power_track_advantage",
        "team",
        "over c's last 20 races before R: c's mean best-car quali gap (%) at all circuits minus at high-speed "
        "circuits (track speed index >= 1.05); positive = relatively stronger on power tracks",
        "qualifying, fastest_laps, races",
    ),
    _f(
        "downforce_track_advantage",
        "team",
        "over c's last 20 races before R: c's mean best-car quali gap (%) at all circuits minus at low-speed "
        "circuits (track speed index <= 0.95); positive = relatively stronger on downforce tracks",
        "qualifying, fastest_laps, races",
    ),
    _f(
        "team_race_pace",
        "team",
        "c's race pace vs the field (%): per race, the mean of c's cars' median clean-lap times over the median of "
        "all cars' median clean-lap times, minus 1, times 100 (negative = faster than the field); mean over c's last "
        "5 races with lap data before R; null before 2018",
        "laps, results",
    ),
    # --- session --------------------------------------------------------------------------
    _f(
        "quali_gap_to_pole",
        "session",
        "pre_race: d's quali gap (%) in R's qualifying (0 = pole time); null pre_qualifying",
        "qualifying",
        moments=("pre_race",),
        known_at="pre_race",
    ),
    _f(
        "fp_pace_ranking",
        "session",
        "rank (1 = fastest) of d's best lap over R's practice sessions held before qualifying (FP1 only on "
        "sprint weekends); null without practice data",
        "practice",
        known_at="pre_qualifying",
    ),
    _f(
        "sector_times",
        "session",
        "d's ideal-lap deficit (%): per race, the sum of d's best sector 1, 2 and 3 times over his clean laps over "
        "the race's best such sum, minus 1, times 100 (0 = the best ideal lap); mean over d's last 5 races with "
        "sector times before R; null without stored sector times: FastF1 downloads (`pitwall ingest fastf1`) carry "
        "them, the bundled FastF1 lap exports do not (null offline)",
        "laps",
        known_at="pre_practice",
    ),
    _f(
        "avg_corner_speed",
        "session",
        "always null: corner speeds need car telemetry, which no source of ours downloads; FastF1 laps carry only "
        "speed traps (SpeedI1, SpeedI2, SpeedFL, SpeedST), measured at fixed points that are not corners",
        "none",
        known_at="pre_qualifying",  # would come from practice sessions
    ),
    _f(
        "straight_line_speed",
        "session",
        "d's straight-line speed edge (%): per race, d's median speed-trap speed (FastF1 SpeedST, km/h) over his "
        "clean laps over the median of all cars' medians, minus 1, times 100 (positive = faster than the field); "
        "mean over d's last 5 races with speed traps before R; null without stored speed traps: FastF1 downloads "
        "(`pitwall ingest fastf1`) carry them, the bundled FastF1 lap exports do not (null offline)",
        "laps",
        known_at="pre_practice",
    ),
    _f(
        "tire_deg_rate",
        "session",
        "d's fuel-corrected tyre degradation (s per lap of tyre age): mean per-stint least-squares slope of clean "
        "dry-compound laps (+0.055 s per lap of fuel remaining removed; stints with >= 5 clean laps) over d's last 3 "
        "races with lap data before R; null before 2018",
        "laps, races",
        known_at="pre_practice",
    ),
    _f(
        "start_position",
        "session",
        "pre_race: d's slot on R's starting grid (pit-lane start = number of cars on the grid); null pre_qualifying",
        "starting_grid",
        moments=("pre_race",),
        known_at="pre_race",
    ),
    _f(
        "predicted_strategy",
        "session",
        "expected number of pit stops: mean over R's circuit's last 3 races with stop data before R of the median "
        "number of stops (<= 120 s) per classified finisher",
        "pit_stops, results",
        known_at="pre_practice",
    ),
    _f(
        "track_speed_index",
        "session",
        "track speed index of R's circuit at its previous race (> 1: faster than a typical circuit)",
        "qualifying, fastest_laps, races",
        known_at="pre_practice",
    ),
    _f(
        "circuit_overtaking_difficulty",
        "session",
        "how much the grid decides the finish at R's circuit: per race, Spearman's correlation of grid slot and "
        "finish position among classified starters with a grid slot (races with >= 5), mean over the circuit's "
        "last 5 races before R (near 1: hard to overtake, e.g. Monaco); null at a circuit's first race",
        "results",
        known_at="pre_practice",
    ),
    _f(
        "observed_weather",
        "session",
        "R's OWN observed weather, known only after the race: 'dry' / 'mixed' / 'wet' from the share of R's race "
        "laps on intermediate or wet tyres (< 2% dry, >= 60% wet); null in every (race, driver) frame (no pre-race "
        "moment can see it): it is a target of the race frame and, named as such, a scenario (the conditions= "
        "filter); no weather forecast exists offline",
        "laps",
        dtype="string",
        moments=(),
        known_at=POST_RACE,
    ),
)

FEATURES: dict[str, FeatureSpec] = {s.name: s for s in _SPECS}


def group_features(group: str) -> list[str]:
    """Names of the built-in features of one group, in spec order."""
    return [s.name for s in _SPECS if s.group == group]


def render_markdown() -> str:
    """The feature table of ``docs/features.md`` (one row per feature)."""
    lines = ["| feature | group | known at | definition | source |", "|---|---|---|---|---|"]
    for s in _SPECS:
        text = s.definition.replace("|", "\\|")
        lines.append(f"| `{s.name}` | {s.group} | {s.known_at} | {text} | {s.source} |")
    return "\n".join(lines)
