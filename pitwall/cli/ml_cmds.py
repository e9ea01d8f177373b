"""``pitwall features ...``, ``train``, ``evaluate``, ``backtest``, ``experiments ...``, ``templates``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from pitwall.cli.common import (
    TenantOption,
    console,
    error_message,
    fail,
    library_progress,
    parse_seasons,
    print_card_note,
    print_frame,
    resolve_tenant,
)
from pitwall.errors import PitwallError

if TYPE_CHECKING:
    import pandas as pd

features_app = typer.Typer(help="Point-in-time feature tables.", no_args_is_help=True)
experiments_app = typer.Typer(help="MLflow experiments: list and compare runs.", no_args_is_help=True)


def _store():  # type: ignore[no-untyped-def]
    from pitwall.data.store import get_store

    return get_store()


def metrics_table(model: dict[str, float], baselines: dict[str, dict[str, float]]) -> pd.DataFrame:
    """Model and baselines side by side, one row per metric."""
    import pandas as pd

    names = [k for k in model if k not in ("n_races", "k")]
    for b in baselines.values():
        names += [k for k in b if k not in names and k not in ("n_races", "k")]
    rows = []
    for k in names:
        row = {"metric": k, "model": _fmt(model.get(k))}
        row.update({f"baseline: {n}": _fmt(b.get(k)) for n, b in baselines.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def _fmt(v: float | None) -> str:
    return "" if v is None else f"{v:.4f}"


@features_app.command("build")
def features_build(seasons: str = typer.Option(None, "--seasons", help="default: all stored seasons")) -> None:
    """(Re)build the materialised feature tables."""
    from pitwall.data.catalog import refresh_catalog
    from pitwall.features import build_feature_tables

    try:
        store = _store()
        report = build_feature_tables(store, parse_seasons(seasons))
        refresh_catalog(store)  # the API's data catalogue counts the feature tables too
    except (PitwallError, ValueError) as exc:
        fail(str(exc))
    console.print(report.summary())


@features_app.command("show")
def features_show(
    season: int = typer.Option(..., "--season"),
    round_: int = typer.Option(..., "--round"),
    moment: str = typer.Option("pre_race", "--moment", help="pre_race or pre_qualifying"),
    driver: str = typer.Option(None, "--driver", help="one driver id: every feature as a row, with its group"),
    features: str = typer.Option(None, "--features", help="comma-separated feature names to show"),
) -> None:
    """Show the features of one race: one table per feature group (a row per driver), or every
    feature of one driver (--driver)."""
    from pitwall.features import show_features
    from pitwall.features.spec import FEATURES, KEY_COLUMNS

    try:
        df = show_features(_store(), season, round_, moment)
    except (PitwallError, ValueError) as exc:
        fail(str(exc))
    shown = [c for c in df.columns if c not in KEY_COLUMNS]
    if features:
        wanted = [f.strip() for f in features.split(",") if f.strip()]
        unknown = [f for f in wanted if f not in shown]
        if unknown:
            fail(f"--features: {', '.join(unknown)} not among this race's features ({', '.join(shown)})")
        shown = wanted
    if driver:
        rows = df[df["driver_id"] == driver]
        if rows.empty:
            fail(f"--driver: {driver!r} is not an entrant of {season} round {round_} ({', '.join(df['driver_id'])})")
        row = rows.iloc[0]
        table = [{"feature": c, "group": getattr(FEATURES.get(c), "group", ""), "value": _cell(row[c])} for c in shown]
        print_frame(_frame(table), title=f"{driver}: {season} round {round_}, {moment}", max_rows=len(table))
        return
    groups: dict[str, list[str]] = {}
    for c in shown:
        groups.setdefault(getattr(FEATURES.get(c), "group", "other"), []).append(c)
    for group, columns in groups.items():
        for start in range(0, len(columns), FEATURE_COLUMNS_PER_TABLE):
            part = columns[start : start + FEATURE_COLUMNS_PER_TABLE]
            view = df[["driver_id", *part]].copy()
            for c in part:
                view[c] = view[c].map(_cell)
            print_frame(view, title=f"{group} features, {season} round {round_} ({moment})", max_rows=len(view))


FEATURE_COLUMNS_PER_TABLE = 7  # feature columns per printed table (readable at 160 columns)


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) < 1e6 else f"{value:.3g}"
    return str(value)


def _frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(rows)


def templates_cmd() -> None:
    """List the model templates."""
    import pandas as pd

    from pitwall.templates import TEMPLATES

    rows = [
        {
            "template": s.name,
            "task": s.task + (f" (top {s.top_k})" if s.top_k else ""),
            "target": s.target,
            "moment": s.moment,
            "algorithm": s.default_algorithm,
            "metric": s.primary_metric,
            "baselines": "; ".join(b.doc for b in s.baselines),
        }
        for s in TEMPLATES.values()
    ]
    print_frame(pd.DataFrame(rows), title="Pitwall templates")


def train_cmd(
    template: str = typer.Argument(..., help="e.g. race_winner (see `pitwall templates`)"),
    seasons: str = typer.Option(None, "--seasons", help="e.g. 2018-2023 (default: latest 10 with data)"),
    algorithm: str = typer.Option(None, "--algorithm", help="xgboost, lightgbm, random_forest, ... or auto"),
    auto_tune: bool = typer.Option(False, "--auto-tune", help="tune hyperparameters with Optuna first"),
    tuning: str = typer.Option("bayes", "--tuning", help="bayes, grid or random"),
    trials: int = typer.Option(None, "--trials", help="tuning trial budget"),
    timeout: float = typer.Option(None, "--timeout", help="tuning / AutoML time budget in seconds"),
    cv: int = typer.Option(5, "--cv", help="race-grouped CV folds used by tuning"),
    name: str = typer.Option(None, "--name", help="model name (default: the template name)"),
    tenant: str = TenantOption,
    auto_features: str = typer.Option(
        None,
        "--auto-features",
        help="base columns for auto-features (lags, previous-race means, team-mate / field differences), "
        "e.g. start_position,points_last_3_races",
    ),
    auto_lags: str = typer.Option(None, "--auto-lags", help="auto-feature lags in races, e.g. 1,2 (default 1)"),
    auto_windows: str = typer.Option(None, "--auto-windows", help="previous-race mean windows, e.g. 3,5 (default 3)"),
    auto_relative: str = typer.Option(None, "--auto-relative", help="teammate, field, both (default) or none"),
    automl_backend: str = typer.Option(
        None, "--automl-backend", help="with --algorithm auto: optuna (default) or flaml; --timeout is its budget"
    ),
    param: list[str] = typer.Option(
        None,
        "--param",
        help="a hyperparameter of the algorithm, NAME=VALUE (repeatable), e.g. --param max_depth=3; "
        "`GET /api/v1/templates` lists each algorithm's",
    ),
    task: str = typer.Option(
        None, "--task", help="classification: on a ranking template, a yes/no model of finishing in the top k"
    ),
) -> None:
    """Train a template, evaluate it on the latest season beside its naive baselines, register it."""
    from pitwall.training import train_template
    from pitwall.workflow.request import TrainingRequest

    try:
        auto = auto_features_option(auto_features, auto_lags, auto_windows, auto_relative)
        chosen = parse_seasons(seasons)
        request = TrainingRequest(
            template=template,
            model_name=name or template,
            algorithm=algorithm,
            auto_tune=auto_tune,
            tuning=tuning,
            n_trials=trials,
            timeout=timeout,
            cv_folds=cv,
            seasons=tuple(chosen) if chosen else None,
            auto_features=auto,
            automl_backend=automl_backend,
            hyperparameters=hyperparameters_option(param),
            task=task,
        )
        with library_progress():
            result = train_template(template, **request.train_kwargs(tenant_id=resolve_tenant(tenant)))
    except (PitwallError, ValueError) as exc:
        fail(str(exc))
    version = getattr(result.record, "version", "?")
    console.print(f"trained [bold]{result.name}[/bold] v{version} ({result.model.algorithm}) -> {result.model_dir}")
    print_frame(
        metrics_table(result.metrics, {"naive": result.baseline_metrics}), title=f"evaluated on {result.evaluated_on}"
    )
    print_card_note(template)


def hyperparameters_option(pairs: list[str] | None) -> dict[str, int | float | str] | None:
    """``--param NAME=VALUE`` options as hyper-parameters (whole numbers, numbers, else text)."""
    if not pairs:
        return None
    out: dict[str, int | float | str] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip() or not text.strip():
            raise ValueError(f"--param: expected NAME=VALUE, e.g. max_depth=3; got {pair!r}")
        value: int | float | str = text.strip()
        for cast in (int, float):
            try:
                value = cast(text)
                break
            except ValueError:
                continue
        out[key.strip()] = value
    return out


def auto_features_option(
    base: str | None, lags: str | None, windows: str | None, relative: str | None
) -> dict[str, list] | None:
    """The ``auto_features`` of ``train``'s options (None without ``--auto-features``)."""

    def names(text: str) -> list[str]:
        return [t.strip() for t in text.split(",") if t.strip()]

    def numbers(text: str, option: str) -> list[int]:
        try:
            return [int(t) for t in names(text)]
        except ValueError:
            raise ValueError(f"{option}: expected comma-separated whole numbers, e.g. 1,2; got {text!r}") from None

    if not base:
        given = [o for o, v in (("--auto-lags", lags), ("--auto-windows", windows), ("--auto-relative", relative)) if v]
        if given:
            raise ValueError(f"{', '.join(given)}: only with --auto-features (the base columns)")
        return None
    out: dict[str, list] = {"base": names(base)}
    if lags is not None:
        out["lags"] = numbers(lags, "--auto-lags")
    if windows is not None:
        out["windows"] = numbers(windows, "--auto-windows")
    if relative is not None:
        choice = relative.strip().lower()
        out["relative"] = [] if choice == "none" else ["teammate", "field"] if choice == "both" else names(relative)
    return out


def evaluate_cmd(
    name: str = typer.Argument(..., help="a registered model name"),
    seasons: str = typer.Option(..., "--seasons", help="seasons to score on, e.g. 2024"),
    version: int = typer.Option(None, "--version"),
    tenant: str = TenantOption,
) -> None:
    """Score a registered model and its naive baseline on the given seasons."""
    from pitwall.training import evaluate_registered

    tenant_id = resolve_tenant(tenant)
    try:
        out = evaluate_registered(name, seasons=parse_seasons(seasons) or [], tenant_id=tenant_id, version=version)
    except (PitwallError, ValueError) as exc:
        fail(error_message(exc, tenant_id))
    print_frame(metrics_table(out["model"], {"naive": out["baseline"]}), title=f"{name} on {seasons}")


def backtest_cmd(
    template: str = typer.Argument(...),
    season: int = typer.Option(..., "--season", help="the season to predict race by race"),
    train_until: int = typer.Option(None, "--train-until", help="last season of the initial training window"),
    mode: str = typer.Option(None, "--mode", help="expanding (retrain before each race) or season_start"),
    algorithm: str = typer.Option(None, "--algorithm"),
    output: Path = typer.Option(None, "--output", help="write one JSON object per predicted event"),
    refit_every: int = typer.Option(1, "--refit-every", help="retrain before every k-th race only (expanding)"),
    jobs: int = typer.Option(
        None, "--jobs", help="processes to fit in (default: $PITWALL_JOBS or the cores; 1 = serial; same results)"
    ),
    tenant: str = TenantOption,
) -> None:
    """Walk-forward backtest of a season; prints the model beside the naive baseline (logged in
    the tenant's MLflow experiment backtest-TEMPLATE)."""
    from pitwall.training import backtest_template

    try:
        if jobs is not None:
            from pitwall.ml.parallel_fits import check_jobs

            check_jobs(jobs, "--jobs")
        with library_progress():
            report = backtest_template(
                template,
                season=season,
                train_until=train_until,
                mode=mode,
                algorithm=algorithm,
                output=output,
                refit_every=refit_every,
                n_jobs=jobs,
                tenant_id=resolve_tenant(tenant),
            )
    except (PitwallError, ValueError) as exc:
        fail(str(exc))
    res = report.result
    console.print(
        f"{template}: {len(res.per_race)} races of {season} predicted ({res.mode}, {res.algorithm}, "
        f"{res.n_models} models{f', refit every {res.refit_every} races' if res.refit_every > 1 else ''}, "
        f"{res.training_time_s:.1f}s training)"
    )
    if res.skipped_races:
        console.print(f"skipped (too little history): {', '.join(map(str, res.skipped_races))}")
    print_frame(metrics_table(report.metrics, report.baseline_metrics), title=f"walk-forward {season}")
    for metric, name in report.strongest.items():  # the paired comparison against the strongest baseline
        c = report.verdict(metric)
        console.print(
            f"{metric}: model - {name} = {c.mean_difference:+.4f} [{c.low:+.4f}, {c.high:+.4f}] "
            f"over {c.n_races} races: {c.verdict}"
        )
    if output:
        console.print(f"predictions written to {output}")


@experiments_app.command("list")
def experiments_list(tenant: str = TenantOption) -> None:
    """Every tracked run: experiment, algorithm, primary metric, F1, training time."""
    from pitwall.ml import list_runs

    tenant_id = resolve_tenant(tenant)
    df = list_runs(tenant_id=tenant_id)
    if df.empty:
        console.print(f"no runs yet for tenant {tenant_id!r}: train a model with `pitwall train`")
        return
    shown = df.assign(
        run_id=df["run_id"].str[:8],  # as `experiments compare` heads its columns
        started_at=df["started_at"].str[:16].str.replace("T", " "),
        f1=[_cell(v) for v in df["f1"]],
        training_time_s=[_cell(v) for v in df["training_time_s"]],
    )
    empty = [c for c in shown.columns if not shown[c].fillna("").astype(str).str.strip().any()]
    print_frame(shown.drop(columns=empty), title="experiments")


@experiments_app.command("compare")
def experiments_compare(
    names: list[str] = typer.Argument(..., help="experiment names"), tenant: str = TenantOption
) -> None:
    """Compare the runs of the named experiments side by side."""
    from pitwall.ml.tracking import compare

    try:
        df = compare(names, tenant_id=resolve_tenant(tenant))
    except (PitwallError, ValueError) as exc:
        fail(str(exc))
    shown = df.head(COMPARED_RUNS)
    print_frame(comparison_table(shown), title=f"comparison: {len(shown)} run(s), newest first", max_rows=10_000)
    if len(df) > len(shown):
        console.print(f"... {len(df) - len(shown)} older run(s) not shown")


COMPARED_RUNS = 8  # runs side by side (one column each)


def comparison_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs as columns (``run name (id)``), their fields and every metric as rows."""
    import pandas as pd

    header = [f"{name} ({str(rid)[:8]})" for name, rid in zip(runs["run_name"], runs["run_id"], strict=True)]
    rows = []
    for field in runs.columns:
        if field in ("run_id", "run_name", "metric"):
            continue
        values = [_cell(v) for v in runs[field]]
        if any(values):
            rows.append({"field": field, **dict(zip(header, values, strict=True))})
    return pd.DataFrame(rows)


def register(app: typer.Typer) -> None:
    app.add_typer(features_app, name="features")
    app.add_typer(experiments_app, name="experiments")
    app.command("templates")(templates_cmd)
    app.command("train")(train_cmd)
    app.command("evaluate")(evaluate_cmd)
    app.command("backtest")(backtest_cmd)
