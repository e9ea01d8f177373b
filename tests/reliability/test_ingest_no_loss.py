"""Ingest that loses nothing (issue 18.5): bad sources fail naming the file, crashes roll back, one ingest at a time.

Each case ingests real F1DB/FastF1 data into a fresh store, breaks a copy of the source (or kills a
commit between the two moves of a swap), and checks that every stored table's row count is what it
was before, and that the error names the file.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pitwall.data import ingest
from pitwall.data.ingest_state import IngestLockedError
from pitwall.data.store import LocalStore
from pitwall.data.validation import SourceValidationError


@pytest.fixture
def f1db_copy(tmp_path: Path, shared_data: Path) -> Path:
    src = shared_data / "f1db/src/data"
    out = tmp_path / "src/f1db/src/data"
    for folder in ("drivers", "constructors", "circuits"):
        shutil.copytree(src / folder, out / folder)
    for s in (2023, 2024):
        shutil.copytree(src / "seasons" / str(s), out / "seasons" / str(s))
    return tmp_path / "src/f1db"


@pytest.fixture
def store(tmp_path: Path, f1db_copy: Path) -> LocalStore:
    store = LocalStore(tmp_path / "lake")
    ingest.ingest_f1db(store, f1db_copy, workers=1)
    return store


def _counts(store: LocalStore) -> dict[str, int]:
    return {ds: len(store.read(ds)) for ds in store.datasets()}


def _race_dir(f1db_copy: Path, season: int = 2024, rnd: int = 8) -> Path:
    return next((f1db_copy / f"src/data/seasons/{season}/races").glob(f"{rnd:02d}-*"))


def test_a_lap_row_of_another_season_is_an_error_not_a_replacement(
    tmp_path: Path, store: LocalStore, shared_data: Path
) -> None:
    laps_dir = tmp_path / "laps"
    laps_dir.mkdir()
    shutil.copy(shared_data / "fastf1-laps/laps_2023.csv", laps_dir)
    shutil.copy(shared_data / "fastf1-laps/laps_2024.csv", laps_dir)
    ingest.ingest_laps_csv(store, laps_dir)
    before = _counts(store)
    f = laps_dir / "laps_2024.csv"
    lines = f.read_text().splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    row = lines[5].rstrip("\n").split(",")
    row[header.index("Season")] = "2023"
    lines[5] = ",".join(row) + "\n"
    f.write_text("".join(lines))
    with pytest.raises(SourceValidationError) as exc:
        ingest.ingest_laps_csv(store, laps_dir)
    assert exc.value.file == str(f) and exc.value.row == 6 and exc.value.field == "Season"
    assert _counts(store) == before


def test_a_deleted_race_yml_is_an_error_not_a_removal(store: LocalStore, f1db_copy: Path) -> None:
    before = _counts(store)
    race_yml = _race_dir(f1db_copy) / "race.yml"
    race_yml.unlink()
    with pytest.raises(SourceValidationError, match="race.yml") as exc:
        ingest.ingest_f1db(store, f1db_copy, workers=1, force=True)
    assert exc.value.file == str(race_yml)
    assert _counts(store) == before


def test_a_deleted_race_folder_needs_allow_removal(store: LocalStore, f1db_copy: Path) -> None:
    before = _counts(store)
    shutil.rmtree(_race_dir(f1db_copy))
    with pytest.raises(SourceValidationError, match="2024-08.*--allow-removal"):
        ingest.ingest_f1db(store, f1db_copy, workers=1, force=True)
    assert _counts(store) == before
    ingest.ingest_f1db(store, f1db_copy, workers=1, allow_removal=True)
    assert "2024-08" not in set(store.read("races", [2024])["race_id"])


@pytest.mark.parametrize("how", ["deleted", "emptied"])
def test_a_missing_or_empty_results_file_is_an_error_not_a_wipe(store: LocalStore, f1db_copy: Path, how: str) -> None:
    before = _counts(store)
    results = _race_dir(f1db_copy) / "race-results.yml"
    if how == "deleted":
        results.unlink()
    else:
        results.write_text("")
    with pytest.raises(SourceValidationError, match="required file is") as exc:
        ingest.ingest_f1db(store, f1db_copy, workers=1)
    assert exc.value.file == str(results)
    assert _counts(store) == before


def test_results_truncated_at_a_record_boundary_fail_naming_both_files(store: LocalStore, f1db_copy: Path) -> None:
    before = _counts(store)
    results = _race_dir(f1db_copy) / "race-results.yml"
    text = results.read_text()
    cut = text.rindex("\n- ")  # drop the last record: still valid YAML, one row fewer
    results.write_text(text[: cut + 1])
    with pytest.raises(SourceValidationError, match="starting-grid-positions.yml") as exc:
        ingest.ingest_f1db(store, f1db_copy, workers=1)
    assert exc.value.file == str(results)
    assert _counts(store) == before


_KILL_MID_SWAP = textwrap.dedent(
    """
    import os, signal, sys
    import pitwall.data.store.local as local
    from pitwall.data.store import LocalStore

    store = LocalStore(sys.argv[1])
    real = os.replace
    moves = []

    def replace(src, dst):
        real(src, dst)
        if "/.backup/" in str(dst):  # the first of a partition's two moves: old file out of the way
            moves.append(dst)
            os.kill(os.getpid(), signal.SIGKILL)

    local.os.replace = replace
    results = store.read("results", [2024])
    store.write_partitions({("results", 2024): results.iloc[:1], ("races", 2024): store.read("races", [2024])})
    """
)


def test_sigkill_between_the_two_moves_of_a_swap_leaves_the_store_as_it_was(tmp_path: Path, store: LocalStore) -> None:
    before = _counts(store)
    proc = subprocess.run([sys.executable, "-c", _KILL_MID_SWAP, str(store.root)], capture_output=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert not (store.root / "results/season=2024/data.parquet").exists()  # killed mid-swap indeed
    reopened = LocalStore(store.root)  # recovery at start
    assert _counts(reopened) == before
    assert not list((store.root / ".journal").glob("*.json"))
    assert not any((store.root / ".staging").iterdir()) and not any((store.root / ".backup").iterdir())


_HOLD_LOCK = textwrap.dedent(
    """
    import sys, time
    from pitwall.data.ingest_state import ingest_lock
    from pitwall.data.store import LocalStore

    with ingest_lock(LocalStore(sys.argv[1])):
        print("locked", flush=True)
        time.sleep(120)
    """
)


def test_a_second_ingest_is_refused_with_a_clear_message(store: LocalStore, f1db_copy: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(store.root)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        before = _counts(store)
        with pytest.raises(IngestLockedError, match=f"another ingest \\(pid {holder.pid}\\)"):
            ingest.ingest_f1db(store, f1db_copy, workers=1, force=True)
        assert _counts(store) == before
    finally:
        holder.kill()
        holder.wait()
    ingest.ingest_f1db(store, f1db_copy, workers=1)  # free again once the holder is gone


def _children(pid: int) -> set[int]:
    out = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.add(int(entry))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_of_the_cli_ingest_leaves_no_orphan_and_status_says_what_is_missing(
    tmp_path: Path, shared_data: Path
) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "PITWALL_HOME": str(home)}
    pitwall = Path(sys.executable).parent / "pitwall"
    proc = subprocess.Popen([str(pitwall), "ingest", "f1db", str(shared_data / "f1db")], env=env)
    workers: set[int] = set()
    for _ in range(600):  # until the parse workers are up (bounded: 60 s)
        workers = _children(proc.pid)
        if len(workers) >= 1 or proc.poll() is not None:
            break
        time.sleep(0.1)
    assert workers, "the ingest never started its parse workers"
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for _ in range(100):  # the kernel delivers PDEATHSIG promptly; bounded wait
        if not any(_alive(w) for w in workers):
            break
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers), f"orphan parse workers: {[w for w in workers if _alive(w)]}"
    status = subprocess.run([str(pitwall), "data", "status"], env=env, capture_output=True, text=True, timeout=300)
    assert status.returncode == 0, status.stderr
    assert "incomplete history" in status.stdout and "seasons not committed" in status.stdout
    # the library reports the same (what `pitwall data status` prints)
    assert ingest.data_warnings(LocalStore(home / "lake")) != []
