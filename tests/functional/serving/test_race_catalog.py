"""RaceCatalog resolves every race-reference form against the real races table (pitwall.refs)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pitwall.errors import ValidationFailed
from pitwall.serving.races import RaceCatalog


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> RaceCatalog:
    from pitwall.data.ingest import ingest_f1db
    from pitwall.data.store import LocalStore

    store = LocalStore(tmp_path_factory.mktemp("catalog-lake"))
    ingest_f1db(store, shared_data / "f1db", seasons=[2023, 2024])
    return RaceCatalog(store)


def test_every_form_names_the_same_race(catalog: RaceCatalog) -> None:
    monaco = catalog.resolve("monaco_2024")
    assert (monaco.season, monaco.round, monaco.race_id, monaco.grand_prix_id) == (2024, 8, "2024-08", "monaco")
    assert monaco.date == "2024-05-26"
    for ref in ("2024-08", "2024-8", (2024, 8), {"season": 2024, "round": 8}):
        assert catalog.resolve(ref) == monaco


def test_next_is_the_first_race_on_or_after_today(catalog: RaceCatalog) -> None:
    assert catalog.resolve("next", today=date(2024, 5, 20)).race_id == "2024-08"
    assert catalog.resolve("next", today=date(2024, 5, 26)).race_id == "2024-08"
    assert catalog.resolve("next", today=date(2024, 5, 27)).grand_prix_id == "canada"
    with pytest.raises(ValidationFailed, match="no race on the stored calendar on or after 2031-01-01") as err:
        catalog.resolve("next", today=date(2031, 1, 1))
    assert err.value.http_status == 422 and err.value.code == "unknown_race"


@pytest.mark.parametrize(
    ("ref", "status", "message"),
    [
        ("atlantis_2024", 422, "no grand prix 'atlantis' in season 2024 (known: "),
        ("2024-30", 422, "no round 30 in season 2024"),
        ("monaco_2019", 422, "no races stored for that season"),
        ("Monaco 2024", 400, "expected '2024-08' (season-round)"),
    ],
)
def test_unknown_and_malformed_races(catalog: RaceCatalog, ref: str, status: int, message: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        catalog.resolve(ref)
    assert err.value.field == "race" and err.value.http_status == status and message in err.value.message
