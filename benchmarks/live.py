"""Live race mode benchmark: per-lap update latency, and live P(win) by race fraction.

``uptime``'s load average is printed with the figures (the machine is shared).

The live race-result template is trained on every stored lap of the seasons up to 2023 and
replays each stored 2024 race (rounds 1-18, Bahrain to Singapore) lap by lap through
``connect_to_stream(source='replay')``, exactly as a user would.

- **Latency**: per lap, the time to build the lap's state from the stored laps (``source_ms``) and
  to turn the state into predictions (``latency_ms``: features + three LightGBM models).
- **Accuracy** at 10/25/50/75 % of the race distance (lap ``round(f * scheduled laps)``): the
  winner's negative log-likelihood (multiclass log loss over the field) and the multiclass Brier
  score of P(win), per race, averaged over the 18 races, against two naive rules fitted on the same
  training seasons: the empirical P(win | running position, laps left) and the pre-race rule
  P(win | grid slot). ``diff`` is model minus rule with a 95 % paired bootstrap interval over races
  (negative = the model is better).
- **P(podium)** at the same fractions, at 90 % and in the last update: the log loss (binary, summed
  over the running drivers, per race) and Brier score of P(podium) against the empirical P(top 3 |
  running position, laps left) of the same training seasons (``EmpiricalBaseline.p_podium_position``:
  scaled to sum to 3 over the running drivers), with the paired interval. The model's P(podium) is
  its Plackett-Luce order (the first place from its P(win) utilities, the later ones blending them
  into that table's log as the race runs: ``pitwall.live.predictors.place_utilities``), moved on to
  the table itself as the race ends (``podium_blend``, weight s ** 4 of the share s run).
- **Per race at 50 %**: the eventual winner's P(win) from the model and from the empirical rule.
- **Last lap**: the eventual winner's P(win) in the last update of each race.

Validation: ``--train-until 2020 --season 2021`` (and 2021/2022, 2022/2023) are the seasons the
template's choices were made on; 2024 is reported, not tuned on.

Run: ``.venv/bin/python benchmarks/live.py [--lake DIR] [--train-until 2023] [--season 2024]``
(without ``--lake`` it ingests F1DB and the FastF1 laps of 2018-2024 from ``$PITWALL_DATA`` into a
temporary home first).
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np

FRACTIONS = (0.10, 0.25, 0.50, 0.75)
PODIUM_FRACTIONS = (*FRACTIONS, 0.90)  # P(podium) also near the end, where it moves on to the table


def _lake(args: argparse.Namespace, tmp: Path):  # type: ignore[no-untyped-def]
    from pitwall.config import default_data_dir
    from pitwall.data.ingest import ingest_f1db, ingest_laps_csv
    from pitwall.data.store import LocalStore

    if args.lake:
        return LocalStore(args.lake)
    data = default_data_dir()
    store = LocalStore(tmp / "lake")
    seasons = range(args.first_season, args.season + 1)
    ingest_f1db(store, data / "f1db", seasons=seasons)
    ingest_laps_csv(store, data / "fastf1-laps", seasons=seasons)
    return store


def _bootstrap(diff: np.ndarray, n: int = 5000, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), size=(n, len(diff)))].mean(axis=1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def podium_scores(p, on_podium, running) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(binary log loss summed over the running drivers, Brier summed over them)."""
    q = np.clip(p[running], 1e-6, 1 - 1e-6)
    y = on_podium[running]
    return float(-(y * np.log(q) + (1 - y) * np.log(1 - q)).sum()), float(((q - y) ** 2).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lake", help="an existing lake folder (default: ingest $PITWALL_DATA into a temp home)")
    parser.add_argument("--train-until", type=int, default=2023)
    parser.add_argument("--first-season", type=int, default=2018, help="first season with lap data")
    parser.add_argument("--season", type=int, default=2024, help="the season replayed")
    parser.add_argument("--model", help="a saved live model folder to use instead of training one")
    parser.add_argument("--save-model", help="save the trained model to this folder")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        os.environ["PITWALL_HOME"] = str(tmp / "home")
        from pitwall.live.sources.replay import season_tables
        from pitwall.live.stream import connect_to_stream
        from pitwall.live.template import load_live_model, state_frame, stored_races, train_live_model

        store = _lake(args, tmp)
        t = time.perf_counter()
        if args.model:
            model = load_live_model(args.model)
        else:
            model = train_live_model("live_bench", train_until=args.train_until, store=store, save=False)
            if args.save_model:
                model.save(args.save_model)
        train_s = time.perf_counter() - t
        print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1/5/15 min)")
        print(
            f"trained on {model.train_seasons[0]}-{model.train_until}: {int(model.metrics['train_races'])} races, "
            f"{int(model.metrics['train_rows']):,} driver-laps in {train_s:.1f} s"
        )
        results = season_tables(store, args.season)["results"]
        races = stored_races(store, [args.season])
        podium: dict[tuple[str, str], list[tuple[float, float]]] = {}  # (fraction, rule) -> per race
        source_ms: list[float] = []
        load_ms: list[float] = []
        latency_ms: list[float] = []
        scores: dict[tuple[float, str], list[tuple[float, float]]] = {}
        last_lap: list[tuple[str, str, float, int]] = []
        halfway: list[tuple[str, str, int, float, float]] = []  # race, winner, his position, model, rule
        for season, round_ in races:
            winner = results[(results["round"] == round_) & (results["position"] == 1)]["driver_id"].iloc[0]
            updates = list(connect_to_stream(model, source="replay", season=season, round=round_, store=store))
            load_ms.append(updates[0].source_ms)  # the first lap reads the race from the store
            source_ms += [u.source_ms for u in updates[1:]]
            latency_ms += [u.latency_ms for u in updates]
            total = updates[0].total_laps
            by_lap = {u.lap: u for u in updates}
            top3 = set(results[(results["round"] == round_) & (results["position"] <= 3)]["driver_id"])
            for f in (*PODIUM_FRACTIONS, None):  # None: the last update
                update = by_lap[min(max(1, round(f * total)), updates[-1].lap)] if f is not None else updates[-1]
                frame = state_frame(update.state)
                on_podium = frame["driver_id"].isin(top3).to_numpy(float)
                running = frame["running"].to_numpy(bool)
                label = f"{f:.0%}" if f is not None else "last lap"
                model_pod = np.array([p.p_podium for p in update.predictions])
                for rule, p in (("model", model_pod), ("rule", model.baseline.p_podium_position(frame))):
                    podium.setdefault((label, rule), []).append(podium_scores(p, on_podium, running))
            for f in FRACTIONS:
                lap = min(max(1, round(f * total)), updates[-1].lap)
                update = by_lap[lap]
                frame = state_frame(update.state)
                won = (frame["driver_id"] == winner).to_numpy(float)
                for rule, p in (
                    ("model", np.array([p.p_win for p in update.predictions])),
                    ("empirical P(win | position, laps left)", model.baseline.p_win_position(frame)),
                    ("pre-race P(win | grid)", model.baseline.p_win_grid(frame)),
                ):
                    nll = -math.log(max(float(p[won == 1].sum()), 1e-6))
                    brier = float(((p - won) ** 2).sum())
                    scores.setdefault((f, rule), []).append((nll, brier))
                if f == 0.50:
                    at = frame.index[frame["driver_id"] == winner]
                    position = int(frame.loc[at[0], "position"]) if len(at) else 0
                    model_p = math.exp(-scores[(f, "model")][-1][0])
                    rule_p = math.exp(-scores[(f, "empirical P(win | position, laps left)")][-1][0])
                    halfway.append((f"{season}-{round_:02d}", winner, position, model_p, rule_p))
            last = updates[-1]
            p_win = {p.driver_id: p.p_win for p in last.predictions}
            leader = last.predictions[0].driver_id or "?"
            last_lap.append((f"{season}-{round_:02d}", winner, p_win.get(winner, 0.0), int(leader == winner)))

        lat = np.array(latency_ms)
        src = np.array(source_ms)
        print(f"\n## Per-lap update latency ({len(lat)} laps of {len(races)} races, replay source)\n")
        print("| step | p50 ms | p95 ms | p99 ms | max ms |")
        print("|---|---:|---:|---:|---:|")
        for name, arr in (
            ("reading the race from the store (once per race, first lap)", np.array(load_ms)),
            ("state of lap N from the laps <= N (later laps)", src),
            ("state -> predictions (every lap)", lat),
        ):
            q = np.quantile(arr, [0.5, 0.95, 0.99])
            print(f"| {name} | {q[0]:.2f} | {q[1]:.2f} | {q[2]:.2f} | {arr.max():.2f} |")

        print(f"\n## Live P(win), {args.season} rounds 1-{len(races)}, model trained <= {model.train_until}\n")
        print("| race fraction | rule | winner log loss | Brier | log loss diff (model - rule) [95% CI] |")
        print("|---|---|---:|---:|---|")
        for f in FRACTIONS:
            mine = np.array(scores[(f, "model")])
            for rule in ("model", "empirical P(win | position, laps left)", "pre-race P(win | grid)"):
                s = np.array(scores[(f, rule)])
                if rule == "model":
                    ci = ""
                else:
                    d = mine[:, 0] - s[:, 0]
                    lo, hi = _bootstrap(d)
                    ci = f"{d.mean():+.3f} [{lo:+.3f}, {hi:+.3f}]"
                print(f"| {f:.0%} | {rule} | {s[:, 0].mean():.3f} | {s[:, 1].mean():.3f} | {ci} |")

        print("\n## Live P(podium), the same races, against the empirical P(top 3 | position, laps left)\n")
        print("| race fraction | model log loss | rule log loss | diff (model - rule) [95% CI] | Brier | rule Brier |")
        print("|---|---:|---:|---|---:|---:|")
        for label in (*(f"{f:.0%}" for f in PODIUM_FRACTIONS), "last lap"):
            mine, rule = np.array(podium[(label, "model")]), np.array(podium[(label, "rule")])
            d = mine[:, 0] - rule[:, 0]
            lo, hi = _bootstrap(d)
            print(
                f"| {label} | {mine[:, 0].mean():.3f} | {rule[:, 0].mean():.3f} | {d.mean():+.3f} "
                f"[{lo:+.3f}, {hi:+.3f}] | {mine[:, 1].mean():.3f} | {rule[:, 1].mean():.3f} |"
            )

        print("\n## At 50 % of the race: the eventual winner's P(win), model and empirical rule\n")
        print("| race | winner | his position | model | rule | log loss diff |")
        print("|---|---|---:|---:|---:|---:|")
        for race_id, winner, position, model_p, rule_p in halfway:
            diff = math.log(rule_p) - math.log(model_p)
            print(f"| {race_id} | {winner} | {position} | {model_p:.3f} | {rule_p:.3f} | {diff:+.3f} |")

        print("\n## The eventual winner's P(win) in the last update\n")
        print("| race | winner | P(win) | led the last lap |")
        print("|---|---|---:|---|")
        for race_id, winner, p, led in last_lap:
            print(f"| {race_id} | {winner} | {p:.3f} | {'yes' if led else 'no'} |")
        above = sum(p > 0.9 for _, _, p, _ in last_lap)
        print(f"\nP(win) > 0.9 for the eventual winner in {above} of {len(last_lap)} races.")


if __name__ == "__main__":
    main()
