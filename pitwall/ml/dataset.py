"""The training-frame contract and the conversions from frames to model inputs.

A *training frame* is a pandas DataFrame with

- key columns ``season`` (int), ``round`` (int) and a race id (``race_id`` = ``"2024-08"``
  by default, see ``TaskSpec.group_col``); usually an entity column (``driver_id``);
- numeric feature columns (NaN allowed);
- a target column.

Rows that share a race id form one *race group*: splits never put rows of one race on both
sides. Time order is ``(season, round)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pitwall.ml.errors import MLInputError

TASKS = ("classification", "regression", "ranking")
TIME_COLUMNS = ("season", "round")


@dataclass(frozen=True)
class TaskSpec:
    """What a model predicts and from which columns.

    - ``task``: ``"classification"``, ``"regression"`` or ``"ranking"``.
    - ``target``: the target column. For ranking it holds a finishing position (lower is
      better; null / NaN = not classified).
    - ``features``: feature columns, or ``None`` to use every numeric/bool column that is not
      a key column or the target.
    - ``top_k``: ranking only. ``1`` winner, ``3`` podium, ``10`` points, ... : a binary
      classifier on ``position <= top_k`` whose probabilities are normalised per race to sum
      to ``top_k``. ``None``: full order, a regressor on the position.
    - ``group_col``: the race id column (rows of one race are one group).
    - ``entity_col``: who is ranked (used by ``rank()`` output), normally ``driver_id``.
    - ``template``: optional name of the template that owns the model (kept in metadata).
    - ``offset``: regression only. A column holding a reference prediction (e.g. the previous
      lap's time); the estimator learns ``target - offset`` and predictions add the offset
      back, so the model refines its baseline instead of re-learning it.
    """

    task: str
    target: str
    features: tuple[str, ...] | None = None
    top_k: int | None = None
    group_col: str = "race_id"
    entity_col: str = "driver_id"
    template: str | None = None
    offset: str | None = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise MLInputError(f"task: must be one of {', '.join(TASKS)}; got {self.task!r}")
        if not isinstance(self.target, str) or not self.target:
            raise MLInputError("target: must be a non-empty column name")
        if self.top_k is not None:
            if self.task != "ranking":
                raise MLInputError(f"top_k: only meaningful for task='ranking', not {self.task!r}")
            if isinstance(self.top_k, bool) or not isinstance(self.top_k, int) or self.top_k < 1:
                raise MLInputError(f"top_k: must be a positive integer or None; got {self.top_k!r}")
        if self.offset is not None:
            if self.task != "regression":
                raise MLInputError(f"offset: only meaningful for task='regression', not {self.task!r}")
            if not isinstance(self.offset, str) or not self.offset or self.offset == self.target:
                raise MLInputError("offset: must be a column name other than the target")
        if self.features is not None:
            if isinstance(self.features, str):
                raise MLInputError("features: must be a list of column names, not a single string")
            object.__setattr__(self, "features", tuple(self.features))
            if not self.features:
                raise MLInputError("features: the list is empty")
            if self.target in self.features:
                raise MLInputError(f"features: the target column {self.target!r} cannot be a feature")

    @property
    def kind(self) -> str:
        """``"classifier"`` or ``"regressor"``: the estimator kind this task trains."""
        if self.task == "classification" or (self.task == "ranking" and self.top_k is not None):
            return "classifier"
        return "regressor"

    @property
    def key_columns(self) -> tuple[str, ...]:
        """Columns never used as features."""
        return (*TIME_COLUMNS, self.group_col, self.entity_col)

    def with_features(self, features: Sequence[str]) -> TaskSpec:
        """The same spec with an explicit feature list."""
        return TaskSpec(
            task=self.task,
            target=self.target,
            features=tuple(features),
            top_k=self.top_k,
            group_col=self.group_col,
            entity_col=self.entity_col,
            template=self.template,
            offset=self.offset,
        )


def require_columns(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise ``MLInputError`` naming every column of ``columns`` that ``df`` lacks."""
    if not isinstance(df, pd.DataFrame):
        raise MLInputError(f"{what}: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise MLInputError(f"{what}: missing column(s) {', '.join(map(repr, missing))}")


def check_race_keys(df: pd.DataFrame, group_col: str, what: str = "data") -> None:
    """Check the key columns: present, non-null, and one (season, round) per race id."""
    require_columns(df, [*TIME_COLUMNS, group_col], what)
    for col in (*TIME_COLUMNS, group_col):
        if df[col].isna().any():
            raise MLInputError(f"{what}: column {col!r} has null values")
    for col in TIME_COLUMNS:
        if not pd.api.types.is_numeric_dtype(df[col]):
            raise MLInputError(f"{what}: column {col!r} must be numeric, got {df[col].dtype}")
    per_race = df.groupby(group_col, sort=False, observed=True)[list(TIME_COLUMNS)].nunique()
    bad = per_race[(per_race > 1).any(axis=1)]
    if not bad.empty:
        raise MLInputError(
            f"{what}: race id column {group_col!r} maps to several (season, round) pairs "
            f"for {', '.join(map(str, bad.index[:5]))}"
        )


def infer_features(df: pd.DataFrame, spec: TaskSpec) -> list[str]:
    """The feature list: ``spec.features`` checked against ``df``, or every usable column.

    Usable = numeric or bool dtype and not a key column or the target.
    """
    if spec.features is not None:
        require_columns(df, spec.features, "features")
        for col in spec.features:
            if not (pd.api.types.is_numeric_dtype(df[col]) or pd.api.types.is_bool_dtype(df[col])):
                raise MLInputError(f"features: column {col!r} must be numeric or bool, got {df[col].dtype}")
        return list(spec.features)
    excluded = {*spec.key_columns, spec.target}
    features = [
        str(c)
        for c in df.columns
        if c not in excluded and (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]))
    ]
    if not features:
        raise MLInputError("features: the frame has no numeric feature column besides keys and target")
    return features


def feature_matrix(df: pd.DataFrame, features: Sequence[str]) -> np.ndarray:
    """``df[features]`` as a float64 matrix; nullable values (``pd.NA``) become NaN."""
    require_columns(df, features, "features")
    out = np.empty((len(df), len(features)), dtype=np.float64)
    for j, col in enumerate(features):
        series = df[col]
        if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
            raise MLInputError(f"features: column {col!r} must be numeric or bool, got {series.dtype}")
        out[:, j] = pd.to_numeric(series, errors="coerce").astype("float64").to_numpy(na_value=np.nan)
    return out


def race_table(df: pd.DataFrame, group_col: str) -> pd.DataFrame:
    """One row per race: ``group_col, season, round``, sorted by time (then race id)."""
    races = df[[group_col, *TIME_COLUMNS]].drop_duplicates(subset=[group_col])
    return races.sort_values([*TIME_COLUMNS, group_col], kind="mergesort").reset_index(drop=True)


def numeric_target(df: pd.DataFrame, target: str) -> np.ndarray:
    """The target as float64 with NaN for null; error if it is not numeric."""
    series = df[target]
    if pd.api.types.is_bool_dtype(series):
        return series.astype("float64").to_numpy(na_value=np.nan)
    if not pd.api.types.is_numeric_dtype(series):
        raise MLInputError(f"target: column {target!r} must be numeric, got {series.dtype}")
    return pd.to_numeric(series, errors="coerce").astype("float64").to_numpy(na_value=np.nan)


def ranking_binary_target(df: pd.DataFrame, target: str, top_k: int) -> np.ndarray:
    """``1`` where the position is ``<= top_k``, else ``0`` (not classified counts as 0)."""
    pos = numeric_target(df, target)
    return np.where(np.isnan(pos), 0, (pos <= top_k).astype(np.int64)).astype(np.int64)


def ranking_position_target(df: pd.DataFrame, target: str, group_col: str) -> np.ndarray:
    """Positions with unclassified rows set to last place of their race.

    Last place = ``max(rows in the race, best classified position + 1)``, so that a non
    finisher always ranks behind every classified finisher of the same race.
    """
    pos = numeric_target(df, target)
    frame = pd.DataFrame({"g": df[group_col].to_numpy(), "p": pos})
    grouped = frame.groupby("g", sort=False)["p"]
    fill = np.maximum(grouped.transform("size").to_numpy(), np.nan_to_num(grouped.transform("max")) + 1)
    return np.where(np.isnan(pos), fill, pos).astype(np.float64)


def data_window(df: pd.DataFrame, group_col: str) -> dict[str, object]:
    """What a model was trained on: seasons, first/last race, race and row counts."""
    races = race_table(df, group_col)
    return {
        "seasons": sorted(int(s) for s in races["season"].unique()),
        "first_race": str(races[group_col].iloc[0]) if len(races) else None,
        "last_race": str(races[group_col].iloc[-1]) if len(races) else None,
        "races": int(len(races)),
        "rows": int(len(df)),
    }
