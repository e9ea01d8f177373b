"""Serving benchmark: ``POST /api/v1/predict`` on the local API server vs ``mlflow models serve``.

Both serve the same model (the ``race_winner`` template, XGBoost, trained on 2022-2023 with
``train_template``) with the same 20 feature rows (Monaco 2024, as the template sees it
before the race), each in its own process on loopback. The load is the same for both:
``--clients`` concurrent keep-alive clients (each level in turn) for ``--seconds`` after a
warm-up, every request timed. Pitwall checks the API key on every request; request-rate
quotas are switched off (otherwise the tier's rate limit, not the server, is what gets
measured). A second Pitwall line per level answers ``{"race": "monaco_2024"}``, looking the
features up itself.

The MLflow copy of the model (``mlflow.sklearn`` flavour, pickled, ``predict_proba``) exists
only for this comparison; Pitwall's own artifacts never use pickle.

Targets (issue 5): p99 under 50 ms, throughput at least that of ``mlflow models serve``.

``pitwall serve`` runs ``--workers`` processes (default: one per core); ``mlflow models serve``
runs ``--mlflow-workers`` uvicorn workers (default 1, its own default: with 2 workers it answered
with ~48 ms p50 on this machine, so 1 is its best configuration here).

Run: ``.venv/bin/python benchmarks/serving.py [--clients 1,8] [--seconds 8] [--workers 2] [--lake DIR]``
(without ``--lake`` it ingests ``$PITWALL_DATA`` (F1DB + laps) into a temporary home first).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

MAX_SECONDS = 60
MAX_CLIENTS = 64
WARMUP_REQUESTS = 50


@dataclass
class LoadResult:
    name: str
    ok: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def line(self) -> str:
        return (
            f"{self.name:<42} p50 {self.percentile(0.50):7.2f} ms   p99 {self.percentile(0.99):7.2f} ms   "
            f"{self.rps:8.1f} req/s   ({self.ok} ok, {self.errors} errors, {self.seconds:.1f} s)"
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"{url} did not come up within {timeout:.0f} s")


def load(name: str, url: str, body: bytes, headers: dict[str, str], clients: int, seconds: float) -> LoadResult:
    """``clients`` threads posting ``body`` back to back for ``seconds`` (after a warm-up)."""
    with requests.Session() as warm:
        for _ in range(WARMUP_REQUESTS):
            answer = warm.post(url, data=body, headers=headers, timeout=60)
            if answer.status_code != 200:
                raise RuntimeError(f"{name}: warm-up answered {answer.status_code}: {answer.text[:300]}")
    latencies: list[float] = []
    counts = {"ok": 0, "errors": 0}
    lock = threading.Lock()
    start = time.perf_counter()
    stop_at = start + seconds

    def client() -> None:
        mine: list[float] = []
        ok = errors = 0
        with requests.Session() as session:
            while time.perf_counter() < stop_at:
                t0 = time.perf_counter()
                answer = session.post(url, data=body, headers=headers, timeout=60)
                elapsed = (time.perf_counter() - t0) * 1000
                if answer.status_code == 200:
                    ok += 1
                    mine.append(elapsed)
                else:
                    errors += 1
        with lock:
            latencies.extend(mine)
            counts["ok"] += ok
            counts["errors"] += errors

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return LoadResult(name, counts["ok"], counts["errors"], time.perf_counter() - start, latencies)


@contextmanager
def process(args: list[str], env: dict[str, str]) -> Any:
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def prepare(home: Path, lake: Path | None) -> tuple[str, list[dict[str, Any]], Any]:
    """Train + register + deploy race_winner; return (api key, Monaco 2024 rows, trained model)."""
    from pitwall.config import default_data_dir
    from pitwall.data.ingest import ingest_f1db, ingest_laps_csv
    from pitwall.data.store import LocalStore
    from pitwall.platform import keys
    from pitwall.serving.deploy import deploy_model
    from pitwall.serving.invocation import template_season_frame
    from pitwall.training import train_template

    if lake is None:
        lake = home / "lake"
        store = LocalStore(lake)
        t0 = time.perf_counter()
        ingest_f1db(store, default_data_dir() / "f1db")
        ingest_laps_csv(store, default_data_dir() / "fastf1-laps")
        print(f"ingested F1DB + laps in {time.perf_counter() - t0:.1f} s")
    else:
        (home / "lake").symlink_to(lake.resolve(), target_is_directory=True)
        store = LocalStore(home / "lake")
    key = keys.create_key("bench", "pro")
    t0 = time.perf_counter()
    result = train_template(
        "race_winner",
        seasons=[2022, 2023],
        algorithm="xgboost",
        cv_folds=2,
        name="rw",
        tenant_id="bench",
        track=False,
        store=store,
    )
    print(f"trained race_winner ({result.model.algorithm}) in {time.perf_counter() - t0:.1f} s")
    deploy_model("bench", "rw")
    season = template_season_frame("race_winner", store, 2024)
    monaco = season[season["round"] == 8]
    features = list(result.model.features)
    rows = [
        {"driver_id": d, **{f: (None if v != v else float(v)) for f, v in zip(features, values, strict=True)}}
        for d, values in zip(monaco["driver_id"], monaco[features].to_numpy().tolist(), strict=True)
    ]
    return key, rows, result.model


def save_mlflow_copy(model: Any, folder: Path) -> Path:
    import mlflow.sklearn

    path = folder / "mlflow-model"
    mlflow.sklearn.save_model(
        model.estimator, str(path), serialization_format="cloudpickle", pyfunc_predict_fn="predict_proba"
    )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,8", help="concurrency levels, e.g. 1,4,8")
    parser.add_argument("--seconds", type=float, default=8.0, help="per run")
    parser.add_argument("--lake", type=Path, default=None, help="an existing lake folder to read (not written)")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="pitwall serve processes (default: cores)"
    )
    parser.add_argument(
        "--mlflow-workers",
        type=int,
        default=1,
        help="mlflow uvicorn workers (default 1: its default, and its fastest here)",
    )
    args = parser.parse_args()
    levels = [max(1, min(int(c), MAX_CLIENTS)) for c in str(args.clients).split(",")]
    seconds = max(1.0, min(args.seconds, MAX_SECONDS))

    with tempfile.TemporaryDirectory(prefix="pitwall-bench-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        os.environ["PITWALL_HOME"] = str(home)
        os.environ["PITWALL_BACKEND"] = "local"
        key, rows, model = prepare(home, args.lake)
        mlflow_model = save_mlflow_copy(model, Path(tmp))
        bin_dir = str(Path(sys.executable).parent)  # mlflow serve runs `uvicorn` from PATH
        env = {
            **os.environ,
            "PITWALL_HOME": str(home),
            "PITWALL_BACKEND": "local",
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        }
        features = list(model.features)

        pitwall_port, mlflow_port = free_port(), free_port()
        server_code = (
            "from pitwall.api.server import LocalApiServer\n"
            "from pitwall.api.services import local_services\n"
            f"server = LocalApiServer('127.0.0.1', {pitwall_port}, local_services(enforce_rate_limits=False))\n"
            f"server.serve_forever({args.workers})\n"
        )
        mlflow_cmd = [
            str(Path(sys.executable).parent / "mlflow"), "models", "serve", "-m", str(mlflow_model),
            "--env-manager", "local", "-h", "127.0.0.1", "-p", str(mlflow_port), "--workers", str(args.mlflow_workers),
        ]  # fmt: skip
        results: dict[tuple[str, int], LoadResult] = {}
        instances = json.dumps({"instances": rows}).encode()
        race = json.dumps({"race": "monaco_2024"}).encode()
        split = json.dumps(
            {"dataframe_split": {"columns": features, "data": [[r[f] for f in features] for r in rows]}}
        ).encode()
        json_headers = {"Content-Type": "application/json"}
        with process([sys.executable, "-c", server_code], env):
            base = f"http://127.0.0.1:{pitwall_port}"
            wait_until_up(base + "/api/v1/health")
            headers = {**json_headers, "x-api-key": key}
            for c in levels:
                name = f"pitwall serve, instances (c={c})"
                results[("instances", c)] = load(name, base + "/api/v1/predict/rw", instances, headers, c, seconds)
                name = f"pitwall serve, race monaco_2024 (c={c})"
                results[("race", c)] = load(name, base + "/api/v1/predict/rw", race, headers, c, seconds)
        with process(mlflow_cmd, env):
            base = f"http://127.0.0.1:{mlflow_port}"
            wait_until_up(base + "/ping")
            for c in levels:
                name = f"mlflow models serve, dataframe_split (c={c})"
                results[("mlflow", c)] = load(name, base + "/invocations", split, json_headers, c, seconds)

    print(f"\ncores: {os.cpu_count()}, {seconds:.0f} s per run after {WARMUP_REQUESTS} warm-up requests, loopback")
    for c in levels:
        for kind in ("instances", "race", "mlflow"):
            print(results[(kind, c)].line())
        ours, theirs = results[("instances", c)], results[("mlflow", c)]
        p99 = ours.percentile(0.99)
        print(
            f"  c={c}: p99 < 50 ms {'met' if p99 < 50 else 'NOT met'} ({p99:.1f} ms); "
            f"throughput {ours.rps / theirs.rps:.2f}x mlflow serve ({'met' if ours.rps >= theirs.rps else 'NOT met'})"
        )


if __name__ == "__main__":
    main()
