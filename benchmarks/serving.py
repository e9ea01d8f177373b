"""Serving benchmark: ``pitwall serve`` (uvicorn, 2 workers, rate limits off) vs its floors and
vs ``mlflow models serve``, on the same model and rows, everything on loopback.

The model is the ``race_winner`` template (XGBoost, trained on 2022-2023 with ``train_template``);
the rows are Monaco 2024's 20 entrants as the template sees them before the race. Every request
carries an API key (checked, cached per worker) and posts ``{"instances": [...]}``.

Printed, each beside its reference as a ratio (issue 13 / issue 18 goals in brackets), with the
1-minute load average at the end of each run (the machine is shared: quote figures with it):

- p50 at 1 client vs the in-process request handling (``pitwall.api.http.handle`` on the same
  body in a fresh process, no HTTP, measured before and after the HTTP runs) [<= 2x];
- throughput at 8 clients vs in-process capacity (``workers`` / mean in-process handling time)
  [>= 0.6x] and vs ``mlflow models serve`` at 8 clients [>= 2x], the latter both at mlflow's
  default (``--workers 1``) and at pitwall's worker count (the like-for-like comparison), with
  ``--env-manager local``, the same XGBoost model (``mlflow.sklearn``, ``predict_proba``), the same
  rows (``dataframe_split``) and the same environment (``OMP_NUM_THREADS=1`` for both); p99 at 8
  clients [<= 50 ms]. pitwall's 8-client run is done twice, before and after mlflow's (pooled in
  the summary), so a change in the machine's load shows as a gap between the two;
- the same 8-client run with the deployment's monitoring capture off (``capture_percent=0``;
  the default captures every request), to show what the capture costs;
- errors and timeouts at 1, 8, 16, 32 and 64 keep-alive connections for ``--sweep-seconds`` each
  [none]; the per-worker connection bound (``ServerLimits.max_connections``) is printed beside;
- noisy neighbour: a Pro tenant's predict p99 (1 client) while a Free tenant saturates its
  championship-forecast cap (``--attackers`` clients posting the Free maximum of simulations back
  to back), vs the same with the Free tenant idle [<= 2x].

Clients are threads with ``http.client`` keep-alive connections (lighter than ``requests``);
they share the machine's cores with the servers, as a local user's would.

Run: ``.venv/bin/python benchmarks/serving.py [--seconds 8] [--sweep-seconds 30] [--workers 2] [--lake DIR]``
(without ``--lake`` it ingests ``$PITWALL_DATA`` (F1DB + laps) into a temporary home first).
"""

from __future__ import annotations

import argparse
import functools
import http.client
import json
import operator
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from bench_env import use_bytecode_cache  # benchmarks/ is on the path of a script run from it

MAX_SECONDS = 60
MAX_CLIENTS = 64
WARMUP_REQUESTS = 50
REQUEST_TIMEOUT = 30.0
WARMUP_CONNECTIONS = 8


@dataclass
class LoadResult:
    name: str
    ok: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    load: float = field(default_factory=lambda: os.getloadavg()[0])

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
            f"{self.rps:8.1f} req/s   ({self.ok} ok, {self.errors} errors, {self.seconds:.1f} s, load {self.load:.1f})"
        )

    def __add__(self, other: LoadResult) -> LoadResult:
        """Two runs of the same load pooled (counts, time and latencies)."""
        return LoadResult(
            self.name,
            self.ok + other.ok,
            self.errors + other.errors,
            self.seconds + other.seconds,
            self.latencies_ms + other.latencies_ms,
            max(self.load, other.load),
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


def load(
    name: str,
    url: str,
    body: bytes,
    headers: dict[str, str],
    clients: int,
    seconds: float,
    *,
    warmup: int = WARMUP_REQUESTS,
    expect: int = 200,
) -> LoadResult:
    """``clients`` threads, one keep-alive connection each, posting ``body`` back to back for
    ``seconds`` (after a warm-up); a non-``expect`` status or a socket error/timeout is an error."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")

    def connection() -> http.client.HTTPConnection:
        return keep_alive(parts.hostname, parts.port)

    def post(conn: http.client.HTTPConnection) -> int:
        conn.request("POST", target, body=body, headers=headers)
        answer = conn.getresponse()
        answer.read()
        return answer.status

    warm = [connection() for _ in range(WARMUP_CONNECTIONS)]  # reach every worker
    for i in range(warmup):
        j = i % len(warm)
        try:
            status = post(warm[j])
        except (OSError, http.client.HTTPException):  # idled out while another worker warmed up
            warm[j].close()
            warm[j] = connection()
            status = post(warm[j])
        if status != expect:
            raise RuntimeError(f"{name}: warm-up answered {status}")
    for conn in warm:
        conn.close()
    latencies: list[float] = []
    counts = {"ok": 0, "errors": 0}
    lock = threading.Lock()
    ready = threading.Barrier(clients + 1)
    window: dict[str, float] = {}

    def client() -> None:
        mine: list[float] = []
        ok = errors = 0
        conn = connection()
        for _ in range(min(warmup, 3)):  # this connection's worker is warm too
            post(conn)
        ready.wait()
        stop_at = window["stop_at"]
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            try:
                status = post(conn)
            except (OSError, http.client.HTTPException):
                errors += 1
                conn.close()
                conn = connection()
                continue
            elapsed = (time.perf_counter() - t0) * 1000
            if status == expect:
                ok += 1
                mine.append(elapsed)
            else:
                errors += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            counts["ok"] += ok
            counts["errors"] += errors

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    start = time.perf_counter()
    window["stop_at"] = start + seconds
    ready.wait()
    for t in threads:
        t.join()
    return LoadResult(name, counts["ok"], counts["errors"], time.perf_counter() - start, latencies)


class InProcess:
    """The request handling without HTTP: ``pitwall.api.http.handle`` on the same body, in this
    process (model loaded, key cached, rate limits off), back to back for a window."""

    def __init__(self, body: bytes, key: str) -> None:
        from pitwall.api.http import ApiRequest
        from pitwall.api.operations import OPERATIONS
        from pitwall.api.services import local_services

        self.services = local_services(enforce_rate_limits=False)
        self.operation = next(op for op in OPERATIONS if op.operation_id == "predict")
        self.request = ApiRequest(
            "POST",
            "/api/v1/predict/rw",
            {"model": "rw"},
            {},
            {"x-api-key": key, "content-type": "application/json"},
            body,
        )
        for _ in range(WARMUP_REQUESTS):
            self.window(0)

    def window(self, seconds: float) -> LoadResult:
        from pitwall.api.http import handle

        latencies: list[float] = []
        start = time.perf_counter()
        while True:
            t0 = time.perf_counter()
            answer = handle(self.operation, self.request, self.services)
            latencies.append((time.perf_counter() - t0) * 1000)
            assert answer.status == 200
            if time.perf_counter() - start >= seconds:
                break
        return LoadResult("in-process handle()", len(latencies), 0, time.perf_counter() - start, latencies)


class FloorProcess:
    """:class:`InProcess` in a fresh process like a server worker's (``OMP_NUM_THREADS=1``), kept
    running so its windows can be interleaved with the HTTP runs."""

    def __init__(self, key: str, body_file: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--floor-only", key, str(body_file)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def window(self, seconds: float) -> LoadResult:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{seconds}\n")
        self.proc.stdin.flush()
        measured = json.loads(self.proc.stdout.readline())
        return LoadResult(
            "in-process handle() (fresh process)",
            len(measured["latencies_ms"]),
            0,
            measured["seconds"],
            measured["latencies_ms"],
        )

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def floor_server(key: str, body_file: Path) -> None:
    """``--floor-only``: one window per line of stdin (its seconds), one JSON line out each."""
    session = InProcess(body_file.read_bytes(), key)
    for line in sys.stdin:
        result = session.window(float(line))
        print(json.dumps({"seconds": result.seconds, "latencies_ms": result.latencies_ms}), flush=True)


def keep_alive(host: str | None, port: int | None) -> http.client.HTTPConnection:
    """A keep-alive client connection with Nagle off, as ``requests``/urllib3 make them
    (``http.client`` sends headers and body in two writes: with Nagle on, the body waits for
    the server's delayed ACK, ~40 ms per request on Linux loopback)."""
    conn = http.client.HTTPConnection(host or "127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    conn.connect()
    assert conn.sock is not None
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


class Attackers:
    """``n`` threads posting championship forecasts for a Free tenant back to back; with
    ``backoff`` a refused one waits its ``Retry-After`` (a client keeping its cap saturated),
    without it the refusals come back to back too (a flood, which rate limits are for)."""

    def __init__(self, url: str, body: bytes, headers: dict[str, str], n: int, backoff: bool = True) -> None:
        self.url, self.body, self.headers, self.n, self.backoff = url, body, headers, n, backoff
        self.stop = threading.Event()
        self.statuses: dict[int, int] = {}
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run) for _ in range(n)]

    def _run(self) -> None:
        parts = urlsplit(self.url)
        conn = keep_alive(parts.hostname, parts.port)
        while not self.stop.is_set():
            try:
                conn.request("POST", parts.path, body=self.body, headers=self.headers)
                answer = conn.getresponse()
                answer.read()
                status = answer.status
                if status in (429, 503) and self.backoff:
                    self.stop.wait(float(answer.getheader("Retry-After") or 1))
            except (OSError, http.client.HTTPException):
                status = -1
                conn.close()
                conn = keep_alive(parts.hostname, parts.port)
            with self._lock:
                self.statuses[status] = self.statuses.get(status, 0) + 1

    def __enter__(self) -> Attackers:
        for t in self._threads:
            t.start()
        time.sleep(1.0)  # let the forecasts start
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self._threads:
            t.join()


@contextmanager
def process(args: list[str], env: dict[str, str]) -> Any:
    """A server in its own process group, stopped with the whole group (``mlflow models serve``
    runs uvicorn as a child that outlives a plain terminate). Its output goes to a temporary file
    (a pipe nobody reads would stall a server that logs every request); the tail is printed if
    the block fails."""
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    except BaseException:
        log.seek(0)
        print(log.read().decode("utf-8", "replace")[-3000:], file=sys.stderr)
        raise
    finally:
        log.close()
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


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


def ratio(value: float, reference: float) -> str:
    return f"{value / reference:.2f}x" if reference else "n/a"


def mlflow_command(model_dir: Path, port: int, workers: int) -> list[str]:
    return [
        str(Path(sys.executable).parent / "mlflow"), "models", "serve", "-m", str(model_dir),
        "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "--workers", str(workers),
    ]  # fmt: skip


def main() -> None:
    use_bytecode_cache()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="per measured run")
    parser.add_argument("--sweep-seconds", type=float, default=30.0, help="per connection level of the sweep")
    parser.add_argument("--sweep", default="1,8,16,32,64", help="connection levels of the error sweep")
    parser.add_argument("--lake", type=Path, default=None, help="an existing lake folder to read (not written)")
    parser.add_argument("--workers", type=int, default=2, help="pitwall serve worker processes")
    parser.add_argument("--attackers", type=int, default=4, help="Free-tenant forecast clients (noisy neighbour)")
    parser.add_argument(
        "--mlflow-workers",
        default=None,
        help="mlflow uvicorn worker counts to compare with (default: 1, mlflow's default, and --workers)",
    )
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds of floor, c=1, c=8 and mlflow")
    parser.add_argument("--skip-noisy", action="store_true", help="skip the noisy-neighbour runs")
    parser.add_argument("--floor-only", nargs=2, metavar=("KEY", "BODY_FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_only:  # the in-process floor, in a fresh process like a server worker's
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        floor_server(args.floor_only[0], Path(args.floor_only[1]))
        return
    seconds = max(1.0, min(args.seconds, MAX_SECONDS))
    sweep_seconds = max(1.0, min(args.sweep_seconds, MAX_SECONDS))
    levels = [max(1, min(int(c), MAX_CLIENTS)) for c in str(args.sweep).split(",")]
    mlflow_workers = sorted(
        {int(w) for w in (args.mlflow_workers or f"1,{args.workers}").split(",")} if not args.skip_mlflow else set()
    )

    from pitwall.api.server import ServerLimits
    from pitwall.monitoring.settings import configure
    from pitwall.platform import keys
    from pitwall.platform.tiers import get_tier

    with tempfile.TemporaryDirectory(prefix="pitwall-bench-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        os.environ["PITWALL_HOME"] = str(home)
        os.environ["PITWALL_BACKEND"] = "local"
        key, rows, model = prepare(home, args.lake)
        free_key = keys.create_key("freeloader", "free")
        from pitwall.platform import models as platform_models
        from pitwall.serving.deploy import deploy_model

        bench = platform_models.get_model("bench", "rw")
        platform_models.register_model(
            "freeloader",
            "rw",
            template=bench.template,
            task=bench.task,
            algorithm=bench.algorithm,
            features=list(bench.features),
            target=bench.target,
            data_window=bench.data_window,
            metrics=bench.metrics,
            baseline_metrics=bench.baseline_metrics,
            artifact_uri=bench.artifact_uri,
            sha256=bench.sha256,
        )
        deploy_model("freeloader", "rw")
        env = {
            **os.environ,
            "PITWALL_HOME": str(home),
            "PITWALL_BACKEND": "local",
            "OMP_NUM_THREADS": "1",  # what pitwall serve sets in its workers; mlflow gets the same
            "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
        }
        features = list(model.features)
        instances = json.dumps({"instances": rows}).encode()
        headers = {"Content-Type": "application/json", "x-api-key": key}
        body_file = Path(tmp) / "instances.json"
        body_file.write_bytes(instances)
        floor = FloorProcess(key, body_file, env)
        pitwall_port = free_port()
        server_code = (
            "from pitwall.api.server import LocalApiServer\n"
            "from pitwall.api.services import local_services\n"
            f"server = LocalApiServer('127.0.0.1', {pitwall_port}, local_services(enforce_rate_limits=False))\n"
            f"server.serve_forever({args.workers})\n"
        )
        predict_url = f"http://127.0.0.1:{pitwall_port}/api/v1/predict/rw"
        split = json.dumps(
            {"dataframe_split": {"columns": features, "data": [[r[f] for f in features] for r in rows]}}
        ).encode()
        mlflow_model = save_mlflow_copy(model, Path(tmp)) if mlflow_workers else None
        results: dict[str, LoadResult] = {}
        sweep: dict[int, LoadResult] = {}
        rounds: list[dict[str, LoadResult]] = []
        with ExitStack() as servers:
            servers.enter_context(process([sys.executable, "-c", server_code], env))
            mlflow_urls = {}
            for w in mlflow_workers:  # up beside pitwall's workers; an idle server costs no CPU
                assert mlflow_model is not None
                mlflow_port = free_port()
                servers.enter_context(process(mlflow_command(mlflow_model, mlflow_port, w), env))
                mlflow_urls[w] = f"http://127.0.0.1:{mlflow_port}"
            wait_until_up(f"http://127.0.0.1:{pitwall_port}/api/v1/health")
            for url in mlflow_urls.values():
                wait_until_up(f"{url}/ping")
            window = seconds / args.rounds
            for r in range(args.rounds):  # interleaved, so a change in the machine's load hits all alike
                this = {"floor": floor.window(window)}
                this["c1"] = load("pitwall serve (c=1)", predict_url, instances, headers, 1, window)
                this["c8"] = load("pitwall serve (c=8)", predict_url, instances, headers, 8, window)
                for w, url in mlflow_urls.items():
                    this[f"mlflow{w}"] = load(
                        f"mlflow models serve --workers {w} (c=8)",
                        f"{url}/invocations",
                        split,
                        {"Content-Type": "application/json"},
                        8,
                        window,
                    )
                rounds.append(this)
                print(f"round {r + 1}: " + "; ".join(f"{k} {v.rps:.0f}/s" for k, v in this.items()))
            floor.close()
            for name in rounds[0]:
                results[name] = functools.reduce(operator.add, (r[name] for r in rounds))
                print(results[name].line())
            for c in levels:
                sweep[c] = load(f"sweep: pitwall serve (c={c})", predict_url, instances, headers, c, sweep_seconds)
                print(sweep[c].line())
            if not args.skip_noisy:
                # noisy neighbour: Pro predict p99 at 1 client, Free tenant idle vs saturating its forecast cap
                results["idle"] = load("Pro predict, Free tenant idle", predict_url, instances, headers, 1, seconds)
                print(results["idle"].line())
                free = get_tier("free")
                forecast = json.dumps({"season": 2024, "after_round": 14, "simulations": free.max_simulations}).encode()
                free_headers = {"Content-Type": "application/json", "x-api-key": free_key}
                champ_url = f"http://127.0.0.1:{pitwall_port}/api/v1/predict/rw/championship"
                load("championship warm-up", champ_url, forecast, free_headers, 1, 0.1, warmup=2)
                with Attackers(champ_url, forecast, free_headers, args.attackers) as attack:
                    results["noisy"] = load(
                        "Pro predict, Free tenant saturating", predict_url, instances, headers, 1, seconds
                    )
                print(results["noisy"].line())
                print(f"  Free tenant's forecasts during that run: {dict(sorted(attack.statuses.items()))}")
                with Attackers(champ_url, forecast, free_headers, args.attackers, backoff=False) as flood:
                    results["flood"] = load(
                        "Pro predict, Free tenant flooding (no back-off)", predict_url, instances, headers, 1, seconds
                    )
                print(results["flood"].line())
                print(f"  Free tenant's forecasts during that run: {dict(sorted(flood.statuses.items()))}")
            results["capture"] = load(
                "pitwall serve, instances (c=8, capture on)", predict_url, instances, headers, 8, seconds
            )
            print(results["capture"].line())
            configure("bench", "rw", capture_percent=0)  # the workers see the settings file change
            results["nocapture"] = load(
                "pitwall serve, instances (c=8, capture off)", predict_url, instances, headers, 8, seconds
            )
            print(results["nocapture"].line())

    bound = ServerLimits().max_connections
    floor = results["floor"]
    capacity = args.workers / (statistics.fmean(floor.latencies_ms) / 1000)
    c1, c8 = results["c1"], results["c8"]

    def per_round(name: str, reference: str | None = None) -> str:
        """The ratio in each round (``reference``: another run; None: the in-process capacity)."""
        values = []
        for r in rounds:
            base = (
                args.workers / (statistics.fmean(r["floor"].latencies_ms) / 1000)
                if reference is None
                else r[reference].rps
            )
            values.append(r[name].rps / base if base else float("nan"))
        return f"per round {', '.join(f'{v:.2f}' for v in values)}; median {statistics.median(values):.2f}x"

    print(f"\ncores: {os.cpu_count()}, workers: {args.workers}, rate limits off, loopback, clients share the cores")
    print(
        f"p50 at 1 client        {c1.percentile(0.5):7.2f} ms  vs in-process handle() p50 "
        f"{floor.percentile(0.5):.2f} ms: {ratio(c1.percentile(0.5), floor.percentile(0.5))}  [goal <= 2x]"
    )
    print(
        f"throughput at 8 clients {c8.rps:7.1f} req/s vs in-process capacity {capacity:.1f} req/s "
        f"({args.workers} x 1/mean): {ratio(c8.rps, capacity)} ({per_round('c8')})  [goal >= 0.6x]"
    )
    for w in mlflow_workers:
        other = results[f"mlflow{w}"]
        like = " (like for like)" if w == args.workers else " (mlflow's default)" if w == 1 else ""
        print(
            f"throughput at 8 clients vs mlflow models serve --workers {w}{like} {other.rps:.1f} req/s: "
            f"{ratio(c8.rps, other.rps)} ({per_round('c8', f'mlflow{w}')})  [goal >= 2x]; "
            f"mlflow's p99 {other.percentile(0.99):.2f} ms"
        )
    print(
        f"p99 at 8 clients       {c8.percentile(0.99):7.2f} ms  vs 50 ms: {ratio(c8.percentile(0.99), 50.0)}"
        "  [goal <= 1x]"
    )
    nocap = results["nocapture"]
    print(
        f"monitoring capture: 8 clients with capture off {nocap.rps:.1f} req/s, p99 {nocap.percentile(0.99):.2f} ms "
        f"vs {results['capture'].rps:.1f} req/s with it on (the default) just before: "
        f"{ratio(nocap.rps, results['capture'].rps)}"
    )
    errors = {c: r.errors for c, r in sweep.items()}
    print(
        f"errors/timeouts, {sweep_seconds:.0f} s per level: {errors}  (per-worker connection bound {bound}; "
        f"{max(levels)} connections over {args.workers} workers stay inside it)  [goal: none]"
    )
    if not args.skip_noisy:
        idle, noisy = results["idle"], results["noisy"]
        print(
            f"Pro predict p99 with a Free tenant saturating its forecast cap {noisy.percentile(0.99):.2f} ms "
            f"vs idle {idle.percentile(0.99):.2f} ms: {ratio(noisy.percentile(0.99), idle.percentile(0.99))}"
            "  [goal <= 2x]"
        )
        flood = results["flood"]
        print(f"  the same Free tenant ignoring Retry-After (rate limits off): {flood.percentile(0.99):.2f} ms: "
              f"{ratio(flood.percentile(0.99), idle.percentile(0.99))}")  # fmt: skip
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
