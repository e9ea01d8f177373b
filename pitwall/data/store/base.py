"""The Store protocol, the one lake layout, and the behaviour both backends share.

Lake layout (``<dataset>`` is a canonical table such as ``results`` or a materialised feature
table such as ``driver_features_pre_race``); the same keys locally (under a folder) and in S3
(under ``s3://<bucket>/<prefix>/``)::

    <dataset>/season=<YYYY>/data.parquet     # season-partitioned datasets (race-scoped tables)
    <dataset>/data.parquet                   # reference tables (drivers, constructors, circuits)

Every module that names a lake key (both stores, the workflow's training-data selection, the
training image) uses the functions here: :func:`partition_key`, :func:`partition_prefix`,
:func:`partition_glob`, :func:`parse_key` and :data:`PARTITION_LAYOUT`.

The layout part of this module is standard library only (the workflow Lambda, which has no
pandas, selects lake keys with it); :class:`BaseStore` imports pandas and pyarrow when a store
is used.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

# --- the layout ------------------------------------------------------------------------------
PARTITION_COLUMN = "season"
DATA_FILE = "data.parquet"
PARTITION_LAYOUT = f"<dataset>/{PARTITION_COLUMN}=<YYYY>/{DATA_FILE}"
REFERENCE_LAYOUT = f"<dataset>/{DATA_FILE}"
CORE_DATASET = "races"
"""Every season with data has a ``races`` partition: the dataset that says which seasons exist."""

_DATASET = r"[a-z][a-z0-9_]*"
_KEY = re.compile(rf"^(?P<dataset>{_DATASET})/(?:{PARTITION_COLUMN}=(?P<season>[0-9]{{4}})/)?data\.parquet$")


class Partition(NamedTuple):
    """What a lake key names: a dataset and its season (``None`` for a reference table)."""

    dataset: str
    season: int | None


def partition_key(dataset: str, season: int | None = None) -> str:
    """The key of a dataset partition (``season=None``: the single object of a reference table)."""
    if not re.fullmatch(_DATASET, dataset):
        raise ValueError(f"dataset: {dataset!r} is not a dataset name (lower case letters, digits and '_')")
    if season is None:
        return f"{dataset}/{DATA_FILE}"
    return f"{dataset}/{PARTITION_COLUMN}={int(season)}/{DATA_FILE}"


def partition_prefix(dataset: str, season: int | None = None) -> str:
    """The folder (key prefix, ending in ``/``) of a dataset, or of one of its season partitions."""
    return partition_key(dataset, season).removesuffix(DATA_FILE)


def partition_glob(dataset: str) -> str:
    """A glob pattern (relative to the lake root) matching every season partition of ``dataset``."""
    return f"{partition_prefix(dataset)}{PARTITION_COLUMN}=*/{DATA_FILE}"


def parse_key(key: str) -> Partition | None:
    """The partition a lake key names, or ``None`` for anything else (staging areas, stray files)."""
    m = _KEY.match(key)
    if m is None:
        return None
    return Partition(m["dataset"], int(m["season"]) if m["season"] else None)


def seasons_in(keys: Iterable[str], dataset: str) -> list[int]:
    """The sorted seasons of ``dataset`` among lake keys."""
    return sorted({p.season for k in keys if (p := parse_key(k)) and p.dataset == dataset and p.season is not None})


# --- the protocol ----------------------------------------------------------------------------
class Store(Protocol):
    """What the rest of Pitwall needs from storage; both backends implement it."""

    def read(self, dataset: str, seasons: Iterable[int] | None = None) -> pd.DataFrame:
        """A dataset (all seasons, or only ``seasons``) as one frame; canonical tables conformed."""
        ...

    def seasons(self, dataset: str) -> list[int]:
        """The seasons with a partition of ``dataset``."""
        ...

    def datasets(self) -> list[str]: ...

    def versions(self, dataset: str) -> dict[str, str]:
        """Key -> version token of each object of ``dataset``: a token changes whenever the object does."""
        ...

    def rounds(self, dataset: str, season: int) -> list[int]:
        """The distinct rounds in one season partition of ``dataset`` (only its ``round`` column is read)."""
        ...

    def write_partitions(self, frames: Mapping[tuple[str, int | None], pd.DataFrame]) -> None: ...

    def replace_races(self, season: int, rounds: Iterable[int], tables: Mapping[str, pd.DataFrame]) -> None: ...

    def sql(self, query: str) -> pd.DataFrame: ...


def _conformed(dataset: str, df: pd.DataFrame) -> bool:
    """Whether ``df`` already is what ``conform`` returns (the table's columns in order, its dtypes, no
    null in a required column): a frame a source built with ``conform``, or one read back from parquet."""
    import pandas as pd

    from pitwall.data.schema import TABLES

    columns = TABLES[dataset].columns
    if len(df.columns) != len(columns) or not isinstance(df.index, pd.RangeIndex):
        return False
    for col, name in zip(columns, df.columns, strict=True):
        if col.name != name:
            return False
        series = df[name]
        if series.dtype != _pandas_dtype(col.dtype) or (not col.nullable and series.hasnans):
            return False
    return True


_DTYPES: dict[str, object] = {}


def _pandas_dtype(name: str) -> object:
    if name not in _DTYPES:
        import pandas as pd

        _DTYPES[name] = pd.api.types.pandas_dtype(name)
    return _DTYPES[name]


def _sorted_by(df: pd.DataFrame, key: list[str]) -> bool:
    """Whether ``df``'s rows are already in ``key`` order (ties allowed; False when a key value is null).

    One vectorised comparison of each row with the next per key column, instead of a sort: frames a
    source built in order, and partitions read back, are in order already.
    """
    import numpy as np

    if len(df) < 2:
        return True
    undecided = np.ones(len(df) - 1, dtype=bool)  # rows equal to the next one on the columns so far
    for name in key:
        column = df[name]
        if column.hasnans:
            return False
        values = column.to_numpy()
        after, before = values[1:], values[:-1]
        try:
            greater = np.asarray(after > before, dtype=bool)
            equal = np.asarray(after == before, dtype=bool)
        except TypeError:  # values that do not compare (mixed types): let the sort decide
            return False
        if (undecided & ~greater & ~equal).any():
            return False
        undecided &= equal
        if not undecided.any():
            return True
    return True


def normalise(dataset: str, df: pd.DataFrame) -> pd.DataFrame:
    """``df`` as the store writes it: a canonical table conformed to its schema and in key order (a
    source that hands over normalised frames, e.g. from its parse workers, leaves the store a check)."""
    return _normalise(dataset, df)


def _normalise(dataset: str, df: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    from pitwall.data.schema import TABLES, conform

    if dataset in TABLES:
        if not _conformed(dataset, df):
            df = conform(dataset, df)
        key = [k for k in TABLES[dataset].key if k in df.columns]
        if not key or _sorted_by(df, key):  # a stable sort would keep every row where it is
            index = df.index
            fresh = isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1
            return df if fresh else df.reset_index(drop=True)
        return df.sort_values(key, kind="stable").reset_index(drop=True)
    return df.reset_index(drop=True)


class BaseStore:
    """Shared rules; backends provide ``_read_table``, ``_commit``, ``_list_objects`` and ``sql``."""

    # --- backend primitives -------------------------------------------------------------
    def _read_table(self, key: str) -> pa.Table | None:  # pragma: no cover - abstract
        """The parquet object at ``key`` as an Arrow table, or ``None`` when there is none."""
        raise NotImplementedError

    def _commit(self, objects: Mapping[str, pd.DataFrame]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _list_objects(self, prefix: str = "") -> dict[str, str]:  # pragma: no cover - abstract
        """Lake key -> version token of every layout key starting with ``prefix``."""
        raise NotImplementedError

    def sql(self, query: str) -> pd.DataFrame:  # pragma: no cover - abstract
        raise NotImplementedError

    # --- shared behaviour ---------------------------------------------------------------
    def _list_keys(self, prefix: str = "") -> list[str]:
        return sorted(self._list_objects(prefix))

    def _read_columns(self, key: str, columns: list[str]) -> pa.Table | None:
        """Only ``columns`` (those it has) of the object at ``key``; a backend may read less than all of it."""
        table = self._read_table(key)
        return None if table is None else table.select([c for c in columns if c in table.column_names])

    def _read_key(self, key: str) -> pd.DataFrame | None:
        table = self._read_table(key)
        return None if table is None else table.to_pandas(coerce_temporal_nanoseconds=True)

    def datasets(self) -> list[str]:
        return sorted({p.dataset for k in self._list_keys() if (p := parse_key(k)) is not None})

    def seasons(self, dataset: str) -> list[int]:
        return seasons_in(self._list_keys(partition_prefix(dataset)), dataset)

    def versions(self, dataset: str) -> dict[str, str]:
        return dict(sorted(self._list_objects(partition_prefix(dataset)).items()))

    def read(self, dataset: str, seasons: Iterable[int] | None = None) -> pd.DataFrame:
        """Read a dataset (all seasons, or only ``seasons``); canonical tables keep their dtypes.

        The partitions are concatenated as Arrow tables and converted to pandas once.
        """
        import pandas as pd
        import pyarrow as pa

        from pitwall.data.schema import TABLES

        spec = TABLES.get(dataset)
        if spec is not None and not spec.race_scoped:
            df = self._read_key(partition_key(dataset))
            return _normalise(dataset, df if df is not None else pd.DataFrame())
        available = self.seasons(dataset)
        wanted = available if seasons is None else sorted(set(available) & {int(s) for s in seasons})
        tables = [t for s in wanted if (t := self._read_table(partition_key(dataset, s))) is not None and t.num_rows]
        if not tables:
            return _normalise(dataset, pd.DataFrame()) if spec is not None else pd.DataFrame()
        table = pa.concat_tables(tables, promote_options="default") if len(tables) > 1 else tables[0]
        return _normalise(dataset, table.to_pandas(coerce_temporal_nanoseconds=True))

    def rounds(self, dataset: str, season: int) -> list[int]:
        import pyarrow.compute as pc

        table = self._read_columns(partition_key(dataset, season), ["round"])
        if table is None or "round" not in table.column_names or not table.num_rows:
            return []
        return sorted(int(r) for r in pc.unique(table["round"].drop_null()).to_pylist())

    def write_partitions(self, frames: Mapping[tuple[str, int | None], pd.DataFrame]) -> None:
        """Replace whole partitions ``(dataset, season)`` (``season=None``: unpartitioned) at once."""
        objects = {partition_key(ds, season): _normalise(ds, df) for (ds, season), df in frames.items()}
        self._commit(objects)

    def replace_races(self, season: int, rounds: Iterable[int], tables: Mapping[str, pd.DataFrame]) -> None:
        """Replace exactly the given races of ``season`` in each table; other races stay as they are."""
        import pandas as pd

        rounds = {int(r) for r in rounds}
        objects: dict[str, pd.DataFrame] = {}
        for dataset, new in tables.items():
            new = _normalise(dataset, new)
            bad = set(new["round"].astype(int)) - rounds if len(new) else set()
            if bad or (len(new) and set(new["season"].astype(int)) != {int(season)}):
                raise ValueError(f"{dataset}: rows outside season {season} rounds {sorted(rounds)}")
            key = partition_key(dataset, season)
            old = self._read_key(key)
            if old is not None and len(old):
                keep = old[~old["round"].astype(int).isin(rounds)]
                merged = pd.concat([keep, new], ignore_index=True) if len(new) else keep
            else:
                merged = new
            objects[key] = _normalise(dataset, merged)
        self._commit(objects)
