"""Every F1DB file the ingest reads parses to the same values with the event builder as with PyYAML's
base loader (real data: the 2024 season's files and the reference entities)."""

from __future__ import annotations

from pathlib import Path

import yaml

from pitwall.data.sources import f1db


def test_real_f1db_files_read_the_same_as_with_the_base_loader(shared_data: Path) -> None:
    data = shared_data / "f1db/src/data"
    files = sorted((data / "seasons/2024").rglob("*.yml"))
    for folder in ("drivers", "constructors", "circuits"):
        files += sorted((data / folder).glob("*.yml"))
    assert len(files) > 1000
    differ = [f for f in files if f1db.load_yaml(f) != yaml.load(f.read_bytes(), Loader=f1db._LOADER)]
    assert differ == []
