"""Walk-forward backtests of every template: 2024 (trained on seasons up to 2023) and the
validation seasons 2021-2023, each model beside every naive baseline on the same rows.

Runs the same code as ``pitwall backtest TEMPLATE --train-until S-1 --season S`` and writes
``benchmarks/templates.md``: per template and season the model's and each baseline's proper
scores and point metrics, the number of races, and the paired bootstrap over races (95 %
interval of model - strongest baseline, verdict win / tie / loss). A template "beats its
baseline" only where the interval against the strongest baseline excludes zero.

Run:  .venv/bin/python benchmarks/templates.py [--seasons 2024] [TEMPLATE ...]
      .venv/bin/python benchmarks/templates.py --update TEMPLATE ...  (rerun only those templates,
      all seasons, and replace their summary rows and sections in benchmarks/templates.md)
Reads $PITWALL_DATA (default ../shared/data) and ingests it into a temporary store.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from pitwall.config import default_data_dir

OUT = Path(__file__).with_name("templates.md")
REPORTED = 2024
VALIDATION = (2021, 2022, 2023)

# the seed's accuracy claims (docs/product.md), on each template's headline metric
SEED_CLAIMS = {
    "race_winner": ("top1_accuracy", "~45 %"),
    "podium": ("topk_overlap", "~65 %"),
    "points": ("topk_overlap", "~80 %"),
    "qualifying": ("spearman", "~60 % (accuracy)"),
    "fastest_lap": ("top1_accuracy", "~40 %"),
    "lap_time": ("mae", "MAE 0.3 s"),
    "pit_stop_duration": ("mae", "MAE 0.5 s"),
    "gap": ("mae", "MAE 2.1 s"),
    "tyre_degradation": ("mae", "MAE 0.02 s/lap"),
    "pit_window": ("f1", "F1 0.72"),
    "safety_car": ("f1", "F1 0.68"),
    "dnf": ("f1", "F1 0.71"),
    "rain_impact": ("f1", "F1 0.75"),
}
PROPER = ("winner_nll", "log_loss", "brier")  # the proper score a probabilistic template is judged on, in order
SHOWN = (
    "top1_accuracy",
    "topk_overlap",
    "spearman",
    "winner_nll",
    "log_loss",
    "brier",
    "mae",
    "rmse",
    "accuracy",
    "f1",
    "roc_auc",
)


def _f(v: float | None, digits: int = 4) -> str:
    return "" if v is None else f"{v:.{digits}f}"


def _judged(report, metric: str) -> str:  # type: ignore[no-untyped-def]
    c = report.verdict(metric)
    if c is None:
        return "n/a"
    verdict = {"win": "**win**", "tie": "tie", "loss": "loss"}[c.verdict]
    return (
        f"{report.strongest[metric]}: {c.mean_difference:+.4f} [{c.low:+.4f}, {c.high:+.4f}], "
        f"{c.n_races} races, {verdict}"
    )


def _headline(report, spec) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(metric, verdict text) of the headline point metric and the first proper score judged."""
    out = []
    claim_metric = SEED_CLAIMS.get(spec.name, (spec.primary_metric, ""))[0]
    point = spec.primary_metric if spec.primary_metric in report.comparisons else claim_metric
    if point in report.comparisons:
        out.append((point, _judged(report, point)))
    for metric in PROPER:
        if metric in report.comparisons:
            if metric != point:
                out.append((metric, _judged(report, metric)))
            break
    if spec.task == "regression" and "mae" in report.comparisons and not out:
        out.append(("mae", _judged(report, "mae")))
    return out


def run(names: list[str], seasons: list[int]) -> str:
    os.environ.setdefault("PITWALL_HOME", tempfile.mkdtemp(prefix="pitwall-bench-"))
    from pitwall.data.ingest import ingest_data_dir
    from pitwall.data.store import LocalStore
    from pitwall.features import build_feature_tables
    from pitwall.templates import TEMPLATES
    from pitwall.training import backtest_template

    store = LocalStore()
    ingest_data_dir(store, default_data_dir())
    build_feature_tables(store)
    summary = [
        "| template | seed claim | metric | model | strongest baseline | model - baseline [95 %] | races | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    details: list[str] = []
    for name in names or list(TEMPLATES):
        spec = TEMPLATES[name]
        details += [f"## {name}", "", f"{spec.title}. Baselines:", ""]
        details += [f"- `{b.name}` ({b.kind}): {b.doc}" for b in spec.baselines]
        if spec.card_note:
            details += ["", f"Card: {spec.card_note}."]
        details.append("")
        for season in seasons:
            t0 = time.perf_counter()
            try:
                report = backtest_template(name, season=season, train_until=season - 1, store=store, track=False)
            except Exception as exc:  # a season without the template's data: say so
                details += [f"### {season}: not run ({type(exc).__name__}: {exc})", ""]
                print(f"{name} {season}: {exc}", flush=True)
                continue
            secs = time.perf_counter() - t0
            res = report.result
            role = "reported" if season == REPORTED else "validation"
            details += [
                f"### {season} ({role}; {res.mode}, {res.algorithm}, {res.n_races} races, {secs:.0f} s)",
                "",
                "| metric | model | " + " | ".join(report.baseline_metrics) + " | model - strongest [95 %] |",
                "|---|---|" + "---|" * len(report.baseline_metrics) + "---|",
            ]
            for k in SHOWN:
                if k not in report.metrics and not any(k in v for v in report.baseline_metrics.values()):
                    continue
                row = [k, _f(report.metrics.get(k))] + [_f(v.get(k)) for v in report.baseline_metrics.values()]
                row.append(_judged(report, k) if k in report.comparisons else "")
                details.append("| " + " | ".join(row) + " |")
            details.append("")
            if season == REPORTED:
                claim_metric, claim = SEED_CLAIMS.get(name, (spec.primary_metric, ""))
                for i, (metric, _) in enumerate(_headline(report, spec)):
                    c = report.verdict(metric)
                    strongest = report.strongest[metric]
                    base_value = report.baseline_metrics[strongest].get(metric)
                    summary.append(
                        f"| {name} | {claim if i == 0 else ''} | {metric} "
                        f"| {_f(report.metrics.get(metric))} | {strongest} {_f(base_value)} "
                        f"| {c.mean_difference:+.4f} [{c.low:+.4f}, {c.high:+.4f}] | {c.n_races} | {c.verdict} |"
                    )
                if claim_metric not in report.comparisons and claim_metric in report.metrics:
                    best = {b: v.get(claim_metric) for b, v in report.baseline_metrics.items() if claim_metric in v}
                    shown = ", ".join(f"{b} {_f(v)}" for b, v in best.items())
                    summary.append(
                        f"| {name} |  | {claim_metric} | {_f(report.metrics.get(claim_metric))} | {shown} "
                        f"| (not paired: not a per-race score) | {res.n_races} | |"
                    )
            print(f"{name} {season}: {secs:.0f} s", flush=True)
    header = [
        "# Template backtests: model beside every naive baseline, with paired intervals",
        "",
        "Generated by `.venv/bin/python benchmarks/templates.py` (the one walk-forward backtest of",
        "`pitwall.ml.backtest`; each race predicted by a model that saw only earlier races, from the",
        "information known at the template's prediction moment). The same numbers come from",
        "`pitwall backtest TEMPLATE --train-until S-1 --season S`. Reported season: 2024 (trained on",
        "seasons up to 2023); validation seasons (defaults chosen on them): 2021-2023.",
        "",
        "Every comparison is paired (same rows) and resampled over races (2,000 bootstrap draws): the",
        "interval is of the model's score minus the strongest baseline's (for losses negative = the",
        "model is better; for top-k, Spearman, accuracy positive = better). A template beats its",
        "baseline only with a **win** (interval excluding zero on the model's side); a tie is a tie.",
        "Seed claims are the accuracy figures of the product description, not results.",
        "",
        f"## Summary: {REPORTED}",
        "",
    ]
    return "\n".join(header + summary + ["", *details]) + "\n"


def _section(text: str, name: str) -> str:
    start = text.index(f"\n## {name}\n") + 1
    end = text.find("\n## ", start + 1)
    return text[start : end + 1 if end >= 0 else len(text)]


def merge(old: str, new: str, names: list[str]) -> str:
    """``old`` (the whole benchmarks/templates.md) with the summary rows and sections of the
    templates ``names`` replaced by those of ``new`` (a run of just those templates)."""
    lines = old.split("\n")
    new_rows = {n: [ln for ln in new.split("\n") if ln.startswith(f"| {n} |")] for n in names}
    out: list[str] = []
    for line in lines:
        name = next((n for n in names if line.startswith(f"| {n} |")), None)
        if name is None:
            out.append(line)
        elif name in new_rows:  # the first old row of a template: all its new rows in its place
            out += new_rows.pop(name)
    text = "\n".join(out)
    for name in names:
        text = text.replace(_section(text, name), _section(new, name))
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("templates", nargs="*")
    parser.add_argument("--seasons", default=",".join(str(s) for s in (REPORTED, *VALIDATION)))
    parser.add_argument("--update", action="store_true", help="replace only these templates' rows in templates.md")
    args = parser.parse_args()
    seasons = [int(s) for s in args.seasons.split(",")]
    if args.update:
        if not args.templates or set(seasons) != {REPORTED, *VALIDATION}:
            parser.error("--update: name the templates and keep the default seasons")
        OUT.write_text(merge(OUT.read_text(), run(args.templates, seasons), args.templates))
        print(f"updated {', '.join(args.templates)} in {OUT}")
        return
    text = run(args.templates, seasons)
    if not args.templates and REPORTED in seasons:
        OUT.write_text(text)
        print(f"wrote {OUT}")
    else:
        print(text)


if __name__ == "__main__":
    main()
