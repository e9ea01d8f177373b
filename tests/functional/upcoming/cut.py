"""A lake cut at 2024 round 10: the F1DB tree as it stood on the Saturday evening of round 11.

The cut tree links the real files (nothing copied): seasons before 2024 whole, 2024 rounds 1-10
whole, round 11 (Austria, a sprint weekend) with its calendar row, practice, qualifying and
starting grid but none of its outcomes (race and sprint results, pit stops, fastest laps),
rounds 12-24 with their calendar rows only, as F1DB publishes races still to come. FastF1 laps
are ingested up to 2024 round 10.
"""

from __future__ import annotations

from pathlib import Path

CUT_SEASON = 2024
LAST_RUN = 10
NEXT_ROUND = 11
WEEKEND_FILES = ("race.yml", "free-practice-1-results.yml", "qualifying-results.yml", "starting-grid-positions.yml")


def cut_tree(src: Path, dest: Path, weekend_files: tuple[str, ...] = WEEKEND_FILES) -> Path:
    """Build the cut F1DB tree under ``dest`` (symlinks into ``src``'s ``src/data``)."""
    data = src / "src" / "data"
    out = dest / "src" / "data"
    (out / "seasons").mkdir(parents=True)
    for entry in data.iterdir():
        if entry.name != "seasons":
            (out / entry.name).symlink_to(entry)
    for season in (data / "seasons").iterdir():
        if season.name != str(CUT_SEASON):
            (out / "seasons" / season.name).symlink_to(season)
    season_out = out / "seasons" / str(CUT_SEASON)
    (season_out / "races").mkdir(parents=True)
    (season_out / "entrants.yml").symlink_to(data / "seasons" / str(CUT_SEASON) / "entrants.yml")
    for race in sorted((data / "seasons" / str(CUT_SEASON) / "races").iterdir()):
        rnd = int(race.name.split("-", 1)[0])
        if rnd <= LAST_RUN:
            (season_out / "races" / race.name).symlink_to(race)
            continue
        folder = season_out / "races" / race.name
        folder.mkdir()
        keep = weekend_files if rnd == NEXT_ROUND else ("race.yml",)
        for name in keep:
            if (race / name).exists():
                (folder / name).symlink_to(race / name)
    return dest
