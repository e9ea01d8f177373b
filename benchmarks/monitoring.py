"""Data capture cost and the monitoring figures on real data.

Builds a temporary Pitwall home from ``$PITWALL_DATA`` (F1DB 2012-2024 + FastF1 laps), trains
race_winner on 2022-2023, deploys it (capture 0 % and 100 %) behind
``CapturingServing(LocalServing())`` and times race requests for the 2024 rounds. Then:

- live record: every 2024 race predicted the day before it (capture clock) and scored after
  it: cumulative top-1 accuracy of the model vs the grid-order baseline;
- drift: requests built from 2014 feature rows vs the real 2024 requests, against the same
  model (status, largest PSI among the top features).

Prints one JSON object.

    .venv/bin/python benchmarks/monitoring.py [--requests 240]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=240)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="pitwall-monitoring-bench-"))
    os.environ["PITWALL_HOME"] = str(home)

    from pitwall.config import default_data_dir
    from pitwall.data.ingest import ingest_f1db, ingest_laps_csv
    from pitwall.data.store import LocalStore
    from pitwall.features import build_feature_tables
    from pitwall.monitoring.capture import CaptureRecorder, CapturingServing, LocalCaptureSink
    from pitwall.monitoring.drift import drift_report
    from pitwall.monitoring.record import score_race
    from pitwall.monitoring.settings import configure
    from pitwall.platform.records import Principal
    from pitwall.serving.deploy import DeploymentService, LocalServing
    from pitwall.training import register_copy, train_template

    data = default_data_dir()
    store = LocalStore()
    ingest_f1db(store, data / "f1db", seasons=range(2012, 2025))
    ingest_laps_csv(store, data / "fastf1-laps")
    build_feature_tables(store)
    trained = train_template(
        "race_winner", seasons=[2022, 2023], store=store, tenant_id="bench", name="off", track=False
    )
    register_copy(trained.record, "on")
    sink = LocalCaptureSink()
    recorder = CaptureRecorder(sink, background=True)  # as `capturing()` wires it for serving
    service = DeploymentService(CapturingServing(LocalServing(), recorder))
    principal = Principal("bench", "pro")
    configure("bench", "off", capture_percent=0)
    configure("bench", "on", capture_percent=100)
    rounds = sorted(store.read("races", [2024])["round"].astype(int))
    timings: dict[str, list[float]] = {}
    for name in ("off", "on"):
        service.deploy(principal, name)
        for rnd in rounds:  # warm the frame cache
            service.invoke(principal, name, {"race": f"2024-{rnd:02d}"})
    for name in ("off", "on") * 2:  # interleaved, twice
        for i in range(args.requests // 2):
            rnd = rounds[i % len(rounds)]
            t0 = time.perf_counter()
            service.invoke(principal, name, {"race": f"2024-{rnd:02d}"})
            timings.setdefault(name, []).append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    recorder.flush(timeout=300)
    flush_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = drift_report("bench", "on", sink=sink, store=store)
    drift_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    score_race("bench", "on", 2024, rounds[-1], store=store, sink=sink)
    score_s = time.perf_counter() - t0

    # live record of the 2024 season: predicted the evening before each race, scored after it
    from datetime import timedelta

    import pandas as pd

    from pitwall.features import FeatureStore
    from pitwall.monitoring.record import race_cutoff, read_record, score_races
    from pitwall.templates import get_template

    register_copy(trained.record, "live")
    register_copy(trained.record, "old2014")
    moment = {"now": None}
    replay = DeploymentService(CapturingServing(LocalServing(), CaptureRecorder(sink, clock=lambda: moment["now"])))
    races = store.read("races", [2024])
    for name in ("live", "old2014"):
        replay.deploy(principal, name)
    for rnd in rounds:
        day = races.loc[races["round"] == rnd, "date"].iloc[0]
        moment["now"] = race_cutoff(pd.Timestamp(day)) - timedelta(hours=6)
        replay.invoke(principal, "live", {"race": f"2024-{rnd:02d}"})
    score_races([(2024, r) for r in rounds], [("bench", "live")], store=store, sink=sink)
    live = read_record("bench", "live")
    features = list(trained.record.features)
    old = get_template("race_winner").frame(FeatureStore(store), [2014])
    for _, race in old.groupby("race_id", sort=True):
        rows = [
            {**{f: (None if pd.isna(r[f]) else float(r[f])) for f in features}, "driver_id": str(r["driver_id"])}
            for _, r in race.iterrows()
        ]
        replay.invoke(principal, "old2014", {"instances": rows})

    def drift_figures(name: str) -> dict:
        rep = drift_report("bench", name, sink=sink, store=store)
        top = {f.name: round(f.psi, 3) for f in rep.features if f.top and f.psi is not None}
        return {
            "status": rep.status,
            "drifted": rep.drifted_features,
            "top_feature_psi": top,
            "rows": rep.n_served_rows,
        }

    def pct(values: list[float], q: float) -> float:
        return round(sorted(values)[min(len(values) - 1, int(q * len(values)))], 2)

    print(
        json.dumps(
            {
                "requests_per_arm": len(timings["on"]),
                "capture_off_ms": {"p50": pct(timings["off"], 0.5), "p99": pct(timings["off"], 0.99)},
                "capture_on_ms": {"p50": pct(timings["on"], 0.5), "p99": pct(timings["on"], 0.99)},
                "capture_overhead_p50_ms": round(
                    statistics.median(timings["on"]) - statistics.median(timings["off"]), 2
                ),
                "captured_rows": report.n_served_rows,
                "background_writer_drain_s": round(flush_s, 2),
                "drift_report_s (first, builds the training profile)": round(drift_s, 2),
                "score_one_race_s": round(score_s, 2),
                "live_record_2024": {
                    "races": len(live),
                    "metric": str(live["metric"].iloc[-1]),
                    "model_cumulative": round(float(live["cumulative"].iloc[-1]), 4),
                    "grid_baseline_cumulative": round(float(live["baseline_cumulative"].iloc[-1]), 4),
                },
                "drift_2014_requests": drift_figures("old2014"),
                "drift_2024_requests": drift_figures("live"),
                "home": str(home),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
