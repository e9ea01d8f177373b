"""The Store: canonical tables (and materialised feature tables) in a columnar lakehouse.

One interface (:class:`Store`, :mod:`pitwall.data.store.base`, which also holds the one lake
layout ``<dataset>/season=<YYYY>/data.parquet``), two backends with the same keys:

- :class:`LocalStore` (:mod:`~pitwall.data.store.local`): parquet files under
  ``$PITWALL_HOME/lake``, queried with DuckDB.
- :class:`AwsStore` (:mod:`~pitwall.data.store.aws`): the same keys in S3, registered as Glue
  Data Catalog tables, queried with Athena (through awswrangler).

Writes are validated in memory first and then swapped in as whole objects, so a failure never
leaves half a partition; ``replace_races`` replaces exactly the given races of a season.

The layout names import without pandas; the backends are loaded when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pitwall.config import backend_kind
from pitwall.data.store.base import (
    CORE_DATASET,
    PARTITION_COLUMN,
    PARTITION_LAYOUT,
    REFERENCE_LAYOUT,
    BaseStore,
    Partition,
    Store,
    normalise,
    parse_key,
    partition_glob,
    partition_key,
    partition_prefix,
    seasons_in,
)

if TYPE_CHECKING:
    from pitwall.data.store.aws import AwsStore
    from pitwall.data.store.local import LocalStore

__all__ = [
    "CORE_DATASET",
    "PARTITION_COLUMN",
    "PARTITION_LAYOUT",
    "REFERENCE_LAYOUT",
    "AwsStore",
    "BaseStore",
    "LocalStore",
    "Partition",
    "Store",
    "get_store",
    "normalise",
    "parse_key",
    "partition_glob",
    "partition_key",
    "partition_prefix",
    "seasons_in",
]


def __getattr__(name: str) -> Any:
    if name == "LocalStore":
        from pitwall.data.store.local import LocalStore

        return LocalStore
    if name == "AwsStore":
        from pitwall.data.store.aws import AwsStore

        return AwsStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_store() -> Store:
    """The Store for this environment: ``PITWALL_BACKEND=aws`` (:func:`pitwall.config.backend_kind`)
    selects S3/Glue/Athena, otherwise the local lake."""
    if backend_kind() == "aws":
        from pitwall.data.store.aws import AwsStore

        return AwsStore.from_env()
    from pitwall.data.store.local import LocalStore

    return LocalStore()
