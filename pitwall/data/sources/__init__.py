"""Source adapters. Each turns one external format into the canonical tables (``pitwall.data.schema``).

- ``f1db``: the F1DB YAML source tree (``src/data/``), all seasons 1950 onward.
- ``laps_csv``: FastF1 ``session.laps`` CSV exports (one file per season).
- ``fastf1_live``: live download through the ``fastf1`` library for one season/round.
"""
