"""``serve``: SageMaker's inference contract on a small threaded HTTP server (stdlib only).

- ``GET /ping``: 200 ``{"status": "ok", ...}`` once the model in ``/opt/ml/model`` has loaded with
  its checksums verified (``pitwall.ml.artifacts.load_model``); 503 with the reason otherwise.
- ``POST /invocations``: a JSON body (or ``text/csv`` rows, see :mod:`pitwall_image.payloads`)
  answered by ``pitwall.serving.invocation`` with the same function and the same answer as the
  local API's in-process serving: ``{"template", "kind", "top_k", "race", "predictions"}``.
  Bad input is a 4xx ``{"error": {"code", "message", "field"}}`` (the API's error mapping, which
  ``pitwall.serving.sagemaker.SageMakerServing`` passes through to the caller); never a stack trace.
- ``GET /execution-parameters``: batch transform settings.

Explicit instances need only the model. Race and championship payloads look features up in the
data lake of the environment (``pitwall.data.store.get_store``: ``PITWALL_BACKEND=aws`` reads
S3/Athena), loaded on first use.

Environment (``pitwall.serving.sagemaker.SageMakerServing`` sets the model ones):

- ``PITWALL_OPT_ML`` (default ``/opt/ml``): the model is read from ``<root>/model``;
- ``PITWALL_SERVE_PORT`` / ``SAGEMAKER_BIND_TO_PORT`` (default 8080), ``PITWALL_SERVE_HOST``
  (default ``0.0.0.0``), ``PITWALL_SERVE_MAX_BODY_BYTES`` (default 6 MiB, SageMaker's limit);
- ``PITWALL_MODEL_SHA256``: the registered sha256 of ``metadata.json``; a different artifact is
  refused (it pins the exact version the registry recorded);
- ``PITWALL_TENANT``, ``PITWALL_MODEL``, ``PITWALL_MODEL_VERSION``, ``PITWALL_TEMPLATE``: the
  model's identity (the template must match the artifact's).

Data capture (model monitoring): with ``PITWALL_CAPTURE_BUCKET`` set (``PITWALL_CAPTURE_PREFIX``,
default ``captures``), every answered prediction is offered to the one capture rule of
:mod:`pitwall.monitoring.capture` (``capture_predictor_answer``) under the model's identity above:
sampled at the deployment's rate (its settings in ``PITWALL_MONITORING_BUCKET``, re-read at most
once a minute; 100% without one), written as parquet to S3 by a background thread (flushed at
shutdown). Serverless endpoints have no ``DataCaptureConfig``, so the container does it. The request
pays a sampling draw and a queue put (and a settings read at most once a minute); a capture that
fails is logged and never fails the prediction.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pitwall_image.layout import OptMl
from pitwall_image.payloads import CSV_MEDIA, JSON_MEDIA, parse_invocation

log = logging.getLogger("pitwall_image.serve")

DEFAULT_PORT = 8080
DEFAULT_HOST = "0.0.0.0"
DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024
PORT_ENV = ("PITWALL_SERVE_PORT", "SAGEMAKER_BIND_TO_PORT")
HOST_ENV = "PITWALL_SERVE_HOST"
MAX_BODY_ENV = "PITWALL_SERVE_MAX_BODY_BYTES"
SHA256_ENV = "PITWALL_MODEL_SHA256"
CAPTURE_BUCKET_ENV = "PITWALL_CAPTURE_BUCKET"  # pitwall.monitoring.capture_aws.BUCKET_ENV
DEFAULT_TENANT = "sagemaker"


class ModelNotLoaded(Exception):
    """The model could not be loaded; the message says why."""


@dataclass(frozen=True)
class ModelIdentity:
    """Who the served model is (from the endpoint's environment; defaults for a bare container)."""

    tenant_id: str = DEFAULT_TENANT
    name: str | None = None
    version: int = 0
    template: str | None = None
    sha256: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ModelIdentity:
        env = os.environ if env is None else env
        raw_version = env.get("PITWALL_MODEL_VERSION") or "0"
        try:
            version = int(raw_version)
        except ValueError:
            raise ModelNotLoaded(f"PITWALL_MODEL_VERSION must be a whole number; got {raw_version!r}") from None
        sha256 = (env.get(SHA256_ENV) or "").strip().lower() or None
        return cls(
            tenant_id=env.get("PITWALL_TENANT") or DEFAULT_TENANT,
            name=env.get("PITWALL_MODEL") or None,
            version=version,
            template=env.get("PITWALL_TEMPLATE") or None,
            sha256=sha256,
        )


def load_predictor(model_dir: Path, identity: ModelIdentity) -> Any:
    """Verify and load the artifact in ``model_dir`` as a ``pitwall.serving.predictor.Predictor``."""
    from pitwall.ml.artifacts import METADATA_FILE, load_model, sha256_file
    from pitwall.ml.errors import ArtifactIntegrityError
    from pitwall.serving.predictor import Predictor, single_threaded

    metadata = model_dir / METADATA_FILE
    if not metadata.is_file():
        found = ", ".join(sorted(p.name for p in model_dir.iterdir())) if model_dir.is_dir() else "no folder"
        raise ModelNotLoaded(f"model {str(model_dir)!r}: no {METADATA_FILE} (found: {found or 'nothing'})")
    if identity.sha256 is not None and sha256_file(metadata) != identity.sha256:
        raise ModelNotLoaded(
            f"model {str(model_dir)!r}: {METADATA_FILE} does not have the registered sha256 {identity.sha256} "
            f"({SHA256_ENV}); the artifact is not the registered version"
        )
    try:
        model = single_threaded(load_model(model_dir))
    except ArtifactIntegrityError as exc:
        raise ModelNotLoaded(f"model {str(model_dir)!r} failed verification: {exc}") from None
    template = model.spec.template
    if identity.template is not None and template != identity.template:
        raise ModelNotLoaded(
            f"PITWALL_TEMPLATE is {identity.template!r} but the artifact was trained for template {template!r}"
        )
    return Predictor(
        tenant_id=identity.tenant_id,
        name=identity.name or template or "model",
        version=identity.version,
        template=template or identity.template or "",
        model=model,
    )


class ModelService:
    """The loaded model (or why it did not load) and how each request is answered."""

    def __init__(self, model_dir: Path, identity: ModelIdentity | None = None) -> None:
        self.model_dir = model_dir
        self.identity = identity
        self.predictor: Any = None
        self.load_error: str | None = None
        self._serving: Any = None
        self._serving_lock = threading.Lock()
        self.recorder: Any = None  # a pitwall.monitoring.capture.CaptureRecorder when capture is on

    def enable_capture(self, env: Mapping[str, str] | None = None) -> bool:
        """Capture answered predictions to S3 when ``PITWALL_CAPTURE_BUCKET`` is set; returns whether.
        Never raises: a capture that cannot be set up leaves serving as it is."""
        env = os.environ if env is None else env
        if not env.get(CAPTURE_BUCKET_ENV):
            return False
        try:
            from pitwall.monitoring.capture import CaptureRecorder
            from pitwall.monitoring.capture_aws import DEFAULT_PREFIX, PREFIX_ENV, S3CaptureSink

            sink = S3CaptureSink(env[CAPTURE_BUCKET_ENV], env.get(PREFIX_ENV) or DEFAULT_PREFIX)
            self.recorder = CaptureRecorder(sink, background=True)
        except Exception:  # noqa: BLE001 - monitoring never breaks serving
            log.exception("data capture could not be set up; serving without it")
            return False
        log.info("capturing answered predictions to s3://%s", env[CAPTURE_BUCKET_ENV])
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Write the captures still queued (at shutdown)."""
        if self.recorder is not None and not self.recorder.flush(timeout):
            log.warning("captures still queued after %.0f s at shutdown", timeout)

    def load(self) -> bool:
        """Load the model; on failure remember why (``/ping`` reports it)."""
        start = time.perf_counter()
        try:
            identity = self.identity if self.identity is not None else ModelIdentity.from_env()
            self.predictor = load_predictor(self.model_dir, identity)
        except ModelNotLoaded as exc:
            self.predictor, self.load_error = None, str(exc)
            log.error("model not loaded: %s", exc)
            return False
        self.load_error = None
        log.info(
            "loaded %s model %r (template %s, %d features) in %.2f s",
            self.predictor.kind,
            self.predictor.name,
            self.predictor.template,
            len(self.predictor.features),
            time.perf_counter() - start,
        )
        return True

    def ping(self) -> tuple[int, dict[str, Any]]:
        if self.predictor is None:
            reason = self.load_error or "the model has not been loaded"
            return 503, {"error": {"code": "model_not_loaded", "message": reason, "field": None}}
        p = self.predictor
        return 200, {"status": "ok", "model": p.name, "version": p.version, "template": p.template, "kind": p.kind}

    def serving(self) -> Any:
        """The store-backed in-process serving for race/championship payloads (built on first use)."""
        if self._serving is None:
            with self._serving_lock:
                if self._serving is None:
                    from pitwall.data.store import get_store
                    from pitwall.serving.invocation import InProcessServing

                    self._serving = InProcessServing(get_store())
        return self._serving

    def answer(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The prediction JSON for a validated payload (``pitwall.serving.invocation``)."""
        from pitwall.serving.invocation import predict_instances

        if "instances" in payload:
            return predict_instances(self.predictor, payload)
        return self.serving().invoke(self.predictor, payload)

    def invoke(self, body: bytes | None, content_type: str | None) -> tuple[int, dict[str, str], dict[str, Any]]:
        """(status, headers, JSON body) for one ``/invocations`` request; never raises."""
        from pitwall.api.errors import error_response

        if self.predictor is None:
            return 503, {}, self.ping()[1]
        try:
            payload = parse_invocation(body, content_type, self.predictor.features)
            answer = self.answer(payload)
        except Exception as exc:  # mapped like the API: PitwallError 4xx, ML input 422, else logged 500
            return error_response(exc)
        self.capture(payload, answer)
        return 200, {}, answer

    def capture(self, payload: Mapping[str, Any], answer: Mapping[str, Any]) -> str | None:
        """Offer one answered prediction to the capture rule (never raises; None: not captured)."""
        if self.recorder is None:
            return None
        try:
            from pitwall.monitoring.capture import capture_predictor_answer

            return capture_predictor_answer(self.recorder, self.predictor, self._serving, payload, answer)
        except Exception:  # noqa: BLE001 - a capture never fails the prediction
            log.exception("capturing a prediction failed")
            return None


def _error(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


class InvocationHandler(BaseHTTPRequestHandler):
    """Routes ``/ping``, ``/invocations`` and ``/execution-parameters``; JSON in, JSON out."""

    server: InferenceServer
    protocol_version = "HTTP/1.1"  # keep-alive: SageMaker reuses connections
    server_version = "pitwall-serve"

    def _send(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        content = json.dumps(body, separators=(",", ":"), allow_nan=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", JSON_MEDIA)
        self.send_header("Content-Length", str(len(content)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(content)

    def _path(self) -> str:
        return self.path.split("?", 1)[0]

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = self._path()
        if path == "/ping":
            status, body = self.server.service.ping()
            self._send(status, body)
        elif path == "/execution-parameters":
            max_mb = max(1, self.server.max_body_bytes // (1024 * 1024))
            self._send(200, {"MaxConcurrentTransforms": 4, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": max_mb})
        elif path == "/invocations":
            self._send(405, _error("method_not_allowed", "use POST /invocations"), {"Allow": "POST"})
        else:
            self._send(404, _error("not_found", f"no route {path!r}; use GET /ping or POST /invocations"))

    def do_POST(self) -> None:  # noqa: N802
        path = self._path()
        if path != "/invocations":
            if path == "/ping":
                self.close_connection = True
                self._send(405, _error("method_not_allowed", "use GET /ping"), {"Allow": "GET"})
            else:
                self.close_connection = True
                self._send(404, _error("not_found", f"no route {path!r}; use POST /invocations"))
            return
        body = self._read_body()
        if body is None:
            return
        status, headers, answer = self.server.service.invoke(body, self.headers.get("Content-Type"))
        self._send(status, answer, headers)

    def _read_body(self) -> bytes | None:
        """The request body, or None after answering 400/411/413 (the connection is then closed)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.close_connection = True
            self._send(411, _error("length_required", "send the body with a Content-Length header", "content-length"))
            return None
        raw = self.headers.get("Content-Length")
        if raw is None:
            self.close_connection = True
            self._send(411, _error("length_required", "send the body with a Content-Length header", "content-length"))
            return None
        try:
            length = int(raw)
            if length < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            self._send(400, _error("bad_request", f"invalid Content-Length header {raw!r}", "content-length"))
            return None
        limit = self.server.max_body_bytes
        if length > limit:
            self.close_connection = True
            self._send(
                413, _error("payload_too_large", f"the body is {length} bytes; at most {limit} are accepted", "body")
            )
            return None
        return self.rfile.read(length)

    def do_PUT(self) -> None:  # noqa: N802
        self._not_allowed()

    def do_DELETE(self) -> None:  # noqa: N802
        self._not_allowed()

    def do_PATCH(self) -> None:  # noqa: N802
        self._not_allowed()

    def _not_allowed(self) -> None:
        self.close_connection = True
        self._send(405, _error("method_not_allowed", "use GET /ping or POST /invocations"), {"Allow": "GET, POST"})

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        log.debug("%s %s", self.address_string(), format % args)


class InferenceServer(ThreadingHTTPServer):
    """A threaded HTTP server answering for one :class:`ModelService`."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], service: ModelService, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    ) -> None:
        self.service = service
        self.max_body_bytes = max_body_bytes
        super().__init__(address, InvocationHandler)


def make_server(
    service: ModelService, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, max_body_bytes: int | None = None
) -> InferenceServer:
    """A bound (not yet serving) server; ``port=0`` picks a free port (``server.server_address``)."""
    return InferenceServer((host, port), service, max_body_bytes or DEFAULT_MAX_BODY_BYTES)


def _env_int(names: Sequence[str], default: int) -> int:
    for name in names:
        raw = os.environ.get(name)
        if raw:
            try:
                return int(raw)
            except ValueError:
                raise SystemExit(f"serve: {name} must be a whole number; got {raw!r}") from None
    return default


def main(argv: Sequence[str] | None = None) -> int:
    """``serve``: load ``$PITWALL_OPT_ML/model`` and answer on ``$PITWALL_SERVE_PORT`` (8080) until SIGTERM."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args:
        print(
            f"serve: takes no arguments (got {' '.join(args)}); configure it with environment variables",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    port = _env_int(PORT_ENV, DEFAULT_PORT)
    max_body = _env_int((MAX_BODY_ENV,), DEFAULT_MAX_BODY_BYTES)
    host = os.environ.get(HOST_ENV) or DEFAULT_HOST
    service = ModelService(OptMl.from_env().model)
    service.load()
    service.enable_capture()
    server = make_server(service, host, port, max_body)

    def stop(signum: int, frame: Any) -> None:
        log.info("signal %d: shutting down", signum)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    bound_host, bound_port = server.server_address[:2]
    log.info("serving on http://%s:%d (%s or %s bodies)", bound_host, bound_port, JSON_MEDIA, CSV_MEDIA)
    print(f"pitwall-serve listening on {bound_host}:{bound_port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        service.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
