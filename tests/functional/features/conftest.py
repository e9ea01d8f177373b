"""Real-data fixtures for the feature-store tests: inputs read once per module from the shared lake."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from pitwall.config import REPO_ROOT

if str(REPO_ROOT) not in sys.path:  # feature_jobs/ is a top-level folder, not an installed package
    sys.path.insert(0, str(REPO_ROOT))


@pytest.fixture(scope="module")
def lake_inputs(lake):
    from pitwall.features.inputs import FeatureInputs

    return FeatureInputs.from_store(lake)


def copy_lake(lake, target: Path):
    """A writable copy of the read-only session lake."""
    from pitwall.data.store import LocalStore

    shutil.copytree(lake.root, target)
    return LocalStore(target)
