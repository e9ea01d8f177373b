"""Run one Lambda handler as the runtime would: ``python -S lambda_runner.py MODULE.FUNCTION PATH...``.

``sys.path`` becomes the given folders (asset, layers, runtime packages) + the standard library:
``-S`` keeps site-packages out, and this script's own folder is dropped. It prints one JSON line
when the handler module has loaded (or failed to), then reads one JSON event per line from stdin
and prints one JSON line per invocation: ``{"ok", "result"}`` or ``{"ok": false, "error_type", ...}``.

``PITWALL_HARNESS_STUBS`` (JSON list of ``"module:attribute"``) replaces loader factories that would
reach the internet (FastF1's schedule) with one that reports no data.
"""

import importlib
import json
import os
import sys
import traceback
import uuid

handler_name, *paths = sys.argv[1:]
# The protocol keeps the original stdout; whatever the handler prints (Powertools logs JSON to
# stdout, as CloudWatch wants) goes to stderr, which the harness sends to a log file.
_protocol = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
sys.stdout = sys.stderr
sys.path[:] = [*paths, *(p for p in sys.path[1:] if "site-packages" not in p)]


class Context:
    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "function")
    function_version = "$LATEST"
    memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
    invoked_function_arn = (
        f"arn:aws:lambda:{os.environ.get('AWS_REGION', 'us-east-1')}:123456789012:function:{function_name}"
    )
    log_group_name = f"/aws/lambda/{function_name}"
    log_stream_name = "harness"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 300_000


def emit(**fields):
    _protocol.write(json.dumps(fields, default=str) + "\n")
    _protocol.flush()


def failure(exc):
    return {
        "ok": False,
        "error_type": type(exc).__name__,
        "error": str(exc)[:2000],
        "trace": traceback.format_exc()[-4000:],
    }


try:
    module_name, function_name = handler_name.rsplit(".", 1)
    handler = getattr(importlib.import_module(module_name), function_name)
    for stub in json.loads(os.environ.get("PITWALL_HARNESS_STUBS", "[]")):
        stub_module, attribute = stub.split(":")
        setattr(importlib.import_module(stub_module), attribute, lambda *a, **k: lambda *a, **k: {})
except BaseException as exc:  # noqa: BLE001 - reported to the test
    emit(**failure(exc))
    sys.exit(0)
emit(ok=True)

for line in sys.stdin:
    try:
        emit(ok=True, result=handler(json.loads(line), Context()))
    except BaseException as exc:  # noqa: BLE001 - reported to the test
        emit(**failure(exc))
