"""pitwall.vocabulary is the one spelling of each vocabulary, and the other modules use it (no I/O)."""

from __future__ import annotations

import subprocess
import sys
from typing import get_args

from pitwall import vocabulary as v


def test_tuples_are_the_literal_types() -> None:
    assert v.WEATHER_CONDITIONS == get_args(v.WeatherCondition) == ("dry", "mixed", "wet")
    assert v.JOB_STATUSES == get_args(v.JobStatus)
    assert v.JOB_KINDS == get_args(v.JobKind)
    assert v.MOMENTS == get_args(v.Moment) == ("pre_practice", "pre_qualifying", "pre_race", "in_race")
    assert v.TERMINAL_JOB_STATUSES < set(v.JOB_STATUSES) and "queued" not in v.TERMINAL_JOB_STATUSES
    assert v.TRAINING_JOB_KINDS < set(v.JOB_KINDS) and "backtest" not in v.TRAINING_JOB_KINDS
    assert set(v.DRIVER_FEATURE_MOMENTS) < set(v.MOMENTS)


def test_other_modules_use_the_single_source() -> None:
    from pitwall.features import spec
    from pitwall.platform import records
    from pitwall.serving import invocation

    assert spec.CONDITIONS is v.WEATHER_CONDITIONS
    assert spec.MOMENTS is v.DRIVER_FEATURE_MOMENTS
    assert invocation.WEATHER_CONDITIONS is v.WEATHER_CONDITIONS
    assert records.JOB_STATUSES is v.JOB_STATUSES and records.JOB_KINDS is v.JOB_KINDS
    assert records.TERMINAL_JOB_STATUSES is v.TERMINAL_JOB_STATUSES
    assert records.TRAINING_JOB_KINDS is v.TRAINING_JOB_KINDS


def test_vocabulary_and_refs_import_without_pandas_or_numpy() -> None:
    code = (
        "import sys, pitwall.vocabulary, pitwall.refs; "
        "heavy = [m for m in ('pandas', 'numpy', 'pyarrow') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
