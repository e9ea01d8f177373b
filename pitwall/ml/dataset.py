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

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pitwall.ml.errors import MLInputError

TASKS = ("classification", "regression", "ranking")
TIME_COLUMNS = ("season", "round")

# Outcome columns of the race a row describes (``pitwall.features.targets``): known only after the
# race, so never inferred as features, and refused as explicit features without an override
# (``ModelBuilder(..., allow_outcome_features=True)``). Qualifying and grid slots are known before
# the race and are not in this set; sprint points neither (the sprint runs the day before).
OUTCOME_COLUMNS = frozenset(
    {
        "position",
        "position_order",
        "finished",
        "dnf",
        "points",
        "fastest_lap",
        "fastest_lap_position",
    }
)

# Columns that restate a target under another name (a model of the key is not fed the values).
TARGET_ALIASES: dict[str, tuple[str, ...]] = {
    "quali_position": ("grid_position",),
    "qualifying": ("quali_position", "grid_position"),
    "fastest_lap": ("fastest_lap",),
}
LABEL_KEYS = ("race_id", "driver_id", "lap_number", "stint", "stop")  # join keys of template labels

log = logging.getLogger("pitwall.ml")


def notice(message: str) -> None:
    """Tell the user about a decision made for them (a dropped column, a default target).

    A ``pitwall.ml`` logger warning: shown in notebooks and terminals without configuration."""
    log.warning(message)


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


def outcome_features(features: Sequence[str], spec: TaskSpec) -> list[str]:
    """The members of ``features`` that are outcomes of the same race (see ``OUTCOME_COLUMNS``)
    or the target itself under another name (a template-named target such as ``race_winner``)."""
    named = {spec.target} | set(TARGET_ALIASES.get(spec.target, ()))
    return [f for f in features if f in OUTCOME_COLUMNS or f in named]


def infer_features(df: pd.DataFrame, spec: TaskSpec, quiet: bool = False) -> list[str]:
    """The feature list: ``spec.features`` checked against ``df``, or every usable column.

    Usable = numeric or bool dtype and not a key column, the target or an outcome column of
    the same race (``OUTCOME_COLUMNS``, left out with a notice); inferred columns with no value
    in ``df`` (e.g. telemetry features that are empty offline) are dropped with a notice.
    """
    if spec.features is not None:
        require_columns(df, spec.features, "features")
        for col in spec.features:
            if not (pd.api.types.is_numeric_dtype(df[col]) or pd.api.types.is_bool_dtype(df[col])):
                raise MLInputError(f"features: column {col!r} must be numeric or bool, got {df[col].dtype}")
        features = list(spec.features)
    else:
        excluded = {*spec.key_columns, spec.target}
        features = [
            str(c)
            for c in df.columns
            if c not in excluded and (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]))
        ]
        outcomes = outcome_features(features, spec)
        if outcomes:
            if not quiet:
                notice(
                    f"features: left out {', '.join(outcomes)}: outcomes of the same race (known only after it); "
                    "name them in features= with allow_outcome_features=True to use them anyway"
                )
            features = [f for f in features if f not in outcomes]
        empty = [f for f in features if len(df) and df[f].isna().all()]
        if empty and len(empty) < len(features):
            if not quiet:
                notice(f"features: dropped {', '.join(empty)}: no value in the data (always empty)")
            features = [f for f in features if f not in empty]
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


def in_training_window(window: Mapping[str, Any], season: int, race_id: str) -> bool:
    """Whether race ``race_id`` (of ``season``) is inside a model's ``data_window``: in one of its
    seasons before the last, or in the last up to its last race. A prediction of such a race is in
    sample: its result shaped the model."""
    seasons, last = sorted(int(s) for s in window.get("seasons") or []), window.get("last_race")
    if not seasons or last is None:
        return False
    return int(season) in seasons[:-1] or (int(season) == seasons[-1] and str(race_id) <= str(last))


def attach_named_target(spec: TaskSpec, df: pd.DataFrame, store: object | None = None) -> pd.DataFrame:
    """``df`` with the column ``spec.target``: as is when present, else the target of the template
    of that name (``target='race_winner'``), joined from the store on the race/row keys.

    A ranking template's target (a finishing position with ``top_k``) becomes the yes/no
    ``position <= top_k`` for classification and regression, and stays a position for ranking.
    Rows without a label (not in the store) get a null target.
    """
    if not isinstance(df, pd.DataFrame) or spec.target in df.columns:
        return df
    import pitwall

    TEMPLATES = pitwall.assembled("pitwall.templates").TEMPLATES  # noqa: N806 - the templates' table
    template = TEMPLATES.get(spec.target)
    if template is None:
        raise MLInputError(
            f"target: column {spec.target!r} is not in the data and is not a template name "
            f"(templates: {', '.join(TEMPLATES)}); add the column or name a template"
        )
    if spec.task != "ranking" and template.task == "regression" and spec.task == "classification":
        raise MLInputError(f"target: template {spec.target!r} is a regression target; use task='regression'")
    require_columns(df, ["season", "race_id"], "data")
    from pitwall.data.store import get_store
    from pitwall.features import TARGET_COLUMNS, FeatureStore

    fs = FeatureStore(store if store is not None else get_store())  # type: ignore[arg-type]
    seasons = sorted(int(s) for s in pd.unique(df["season"]))
    if template.grain == "driver_race" and template.target in TARGET_COLUMNS:
        labels = fs.targets([s for s in seasons if s >= template.first_season])
    else:
        labels = template.frame(fs, seasons)
    keys = [k for k in LABEL_KEYS if k in labels.columns and k in df.columns]
    values = labels[template.target]
    if template.top_k is not None and spec.task != "ranking":
        pos = pd.to_numeric(values, errors="coerce")
        values = (pos <= template.top_k).fillna(False).astype(bool)
        how = f"{template.target} <= {template.top_k}"
    else:
        how = template.target
    table = labels[keys].assign(**{spec.target: values.to_numpy()}).drop_duplicates(keys)
    for k in keys:
        table[k] = table[k].astype(df[k].dtype) if df[k].dtype != table[k].dtype else table[k]
    out = df.merge(table, on=keys, how="left", validate="many_to_one")
    out.index = df.index
    notice(f"target: {spec.target!r} = template {template.name}'s target ({how}), joined on {', '.join(keys)}")
    return out
