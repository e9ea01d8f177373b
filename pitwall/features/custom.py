"""Custom features: functions of one (race, driver) ``driver_data`` mapping, registered by name.

    fe = FeatureEngineer()

    @fe.register("momentum_score")
    def momentum_score(driver_data):
        ...

``FeatureEngineer()`` instances share one process-wide registry by default, so a
``FeatureStore`` created before or after the registration sees it; pass
``FeatureEngineer(registry={})`` for a private one and ``FeatureStore(engineer=fe)`` to use it.

``driver_data`` holds only what is known at the moment of prediction, so custom features are
point-in-time exactly like the built-ins (see ``DRIVER_DATA_KEYS``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from pitwall.features.errors import CustomFeatureError, FeatureInputError
from pitwall.features.history import asof_before, sorted_history
from pitwall.features.inputs import FeatureInputs
from pitwall.features.spec import DNF_POSITION, FEATURES, KEY_COLUMNS, known_by

LAGS = 5

DRIVER_DATA_KEYS: dict[str, str] = {
    "season, round, race_id, driver_id, constructor_id, circuit_id": "the row's keys",
    "moment": "'pre_qualifying' or 'pre_race'",
    "positions_last_5": f"finish positions of the driver's last 5 starts before R, most recent first "
    f"(unclassified = {DNF_POSITION}; shorter for newcomers)",
    "quali_positions_last_5": "qualifying positions of the last 5 qualifying sessions before R, most recent first",
    "points_last_5": "points (Grand Prix + sprint) of the weekends of the last 5 starts, most recent first",
    "grid_last_5": "grid slots of the last 5 starts, most recent first (None = pit lane / unknown)",
    "grid": "pre_race: the driver's slot on R's starting grid; None pre_qualifying",
    "quali_position": "pre_race: the driver's qualifying position in R; None pre_qualifying",
    "<built-in feature name>": "every built-in feature of the row at this moment (None when null)",
}

_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_RESERVED = set(FEATURES) | set(KEY_COLUMNS) | {"race_id", "moment", "seq"}

DriverData = Mapping[str, Any]
FeatureFunc = Callable[[DriverData], Any]


@dataclass(frozen=True)
class CustomFeature:
    name: str
    func: FeatureFunc
    description: str


_DEFAULT_REGISTRY: dict[str, CustomFeature] = {}


class FeatureEngineer:
    """Registers custom features; ``registry`` defaults to the process-wide one."""

    def __init__(self, registry: dict[str, CustomFeature] | None = None) -> None:
        self._registry = _DEFAULT_REGISTRY if registry is None else registry

    def register(self, name: str, description: str | None = None) -> Callable[[FeatureFunc], FeatureFunc]:
        """Decorator: register ``func(driver_data) -> number | None`` as feature ``name``.

        Registering a name again replaces the earlier function (re-running a notebook cell).
        """
        if not isinstance(name, str) or not _NAME.match(name):
            raise FeatureInputError(
                f"name: {name!r} is not a valid feature name (lower-case letters, digits, '_')", field="name"
            )
        if name in _RESERVED:
            raise FeatureInputError(f"name: {name!r} is a built-in feature or key column", field="name")

        def decorator(func: FeatureFunc) -> FeatureFunc:
            if not callable(func):
                raise FeatureInputError(f"register({name!r}): expected a function", field="name")
            doc = description or (func.__doc__ or "").strip().split("\n")[0]
            self._registry[name] = CustomFeature(name, func, doc)
            return func

        return decorator

    def unregister(self, name: str) -> None:
        """Remove a registered feature (no error when absent)."""
        self._registry.pop(name, None)

    def names(self) -> list[str]:
        return sorted(self._registry)

    def get(self, name: str) -> CustomFeature:
        try:
            return self._registry[name]
        except KeyError:
            known = ", ".join(self.names()) or "none registered"
            raise FeatureInputError(
                f"custom_features: unknown custom feature {name!r} (registered: {known})", field="custom_features"
            ) from None

    def compute(self, names: Iterable[str], driver_data: Iterable[DriverData]) -> pd.DataFrame:
        """Apply the named features to each ``driver_data`` mapping; one column per feature (float)."""
        feats = [self.get(n) for n in names]
        records = list(driver_data)
        out: dict[str, np.ndarray] = {}
        for feat in feats:
            values = np.empty(len(records), dtype="float64")
            for i, data in enumerate(records):
                try:
                    value = feat.func(data)
                except Exception as exc:  # noqa: BLE001 - user code: report which feature and row failed
                    raise CustomFeatureError(
                        f"custom_features: {feat.name!r} failed for race {data.get('race_id')} driver "
                        f"{data.get('driver_id')}: {type(exc).__name__}: {exc}"
                    ) from exc
                values[i] = _as_float(feat.name, value, data)
            out[feat.name] = values
        return pd.DataFrame(out, index=range(len(records)))


def _as_float(name: str, value: Any, data: DriverData) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool | np.bool_):
        return float(value)
    if isinstance(value, Real | np.number):
        return float(value)
    raise CustomFeatureError(
        f"custom_features: {name!r} returned {type(value).__name__} for race {data.get('race_id')} driver "
        f"{data.get('driver_id')}; expected a number or None"
    )


def _lag_history(frame: pd.DataFrame, cols: dict[str, str]) -> pd.DataFrame:
    """Per driver: after each history row, the last ``LAGS`` values of each column (lag 0 = that row)."""
    h = sorted_history(frame, ["driver_key"])
    g = h.groupby("driver_key", sort=False)
    for src, dst in cols.items():
        for k in range(LAGS):
            h[f"{dst}_{k}"] = g[src].shift(k)
    return h


def _lists(frame: pd.DataFrame, prefix: str, as_int: bool, keep_missing: bool) -> list[list[Any]]:
    mat = frame[[f"{prefix}_{k}" for k in range(LAGS)]].to_numpy(dtype="float64")
    out: list[list[Any]] = []
    for row in mat:
        items: list[Any] = []
        for v in row:
            if np.isnan(v):
                if keep_missing:
                    items.append(None)
                continue
            items.append(int(v) if as_int and float(v).is_integer() else float(v))
        out.append(items)
    return out


def driver_data_records(inp: FeatureInputs, frame: pd.DataFrame, moment: str) -> list[dict[str, Any]]:
    """One ``driver_data`` mapping per row of a computed feature ``frame`` (keys + built-ins)."""
    rows = inp.add_keys(frame[["season", "round", "race_id", "driver_id"]].copy())
    rows["seq"] = rows["season"].astype("int64") * 100 + rows["round"].astype("int64")
    starts = inp.starts.assign(_present=1.0)
    sh = _lag_history(starts, {"finish_pos": "pos", "points": "pts", "grid": "grid", "_present": "start"})
    qh = _lag_history(inp.quali[inp.quali["quali_position"].notna()], {"quali_position": "q"})
    s_cols = [f"{p}_{k}" for p in ("pos", "pts", "grid", "start") for k in range(LAGS)]
    s_lag = asof_before(rows, sh, ["driver_key"], s_cols)
    q_lag = asof_before(rows, qh, ["driver_key"], [f"q_{k}" for k in range(LAGS)])
    positions = _lists(s_lag, "pos", True, False)
    points = _lists(s_lag, "pts", False, False)
    quali = _lists(q_lag, "q", True, False)
    present = s_lag[[f"start_{k}" for k in range(LAGS)]].notna().sum(axis=1).to_numpy()
    grids = [g[:n] for g, n in zip(_lists(s_lag, "grid", True, True), present, strict=True)]
    own = None
    if moment == "pre_race":
        q = inp.quali[["race_id", "driver_id", "quali_position"]].drop_duplicates(["race_id", "driver_id"])
        own = (
            rows[["race_id", "driver_id"]]
            .astype("string")
            .merge(q, on=["race_id", "driver_id"], how="left")["quali_position"]
            .to_numpy(dtype="float64")
        )
    # only what is known at the moment: a later feature (the race's observed weather) never reaches user code
    later = [c for c in frame.columns if c in FEATURES and not known_by(FEATURES[c].known_at, moment)]
    frame = frame.assign(**{c: None for c in later})
    base = frame.astype(object).where(frame.notna(), None).to_dict("records")
    records = []
    for i, rec in enumerate(base):
        rec["moment"] = moment
        rec["positions_last_5"] = positions[i]
        rec["quali_positions_last_5"] = quali[i]
        rec["points_last_5"] = points[i]
        rec["grid_last_5"] = grids[i]
        start = rec.get("start_position")
        rec["grid"] = int(start) if moment == "pre_race" and start is not None else None
        qp = own[i] if own is not None else math.nan
        rec["quali_position"] = None if math.isnan(qp) else int(qp)
        records.append(rec)
    return records
