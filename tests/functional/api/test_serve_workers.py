"""`pitwall serve --workers 2`: pre-forked workers share the port, and all stop with the parent."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def test_workers_serve_and_stop_with_the_parent(_isolated_home: Path) -> None:
    port = _free_port()
    cli = Path(sys.executable).parent / "pitwall"
    proc = subprocess.Popen(
        [str(cli), "serve", "--port", str(port), "--workers", "2"],
        env={**os.environ},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/api/v1/health"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.2)
        workers = _children(proc.pid)
        assert len(workers) == 1  # the parent serves too: two processes in all
        with requests.Session() as s:
            assert all(s.get(url, timeout=5).status_code == 200 for _ in range(50))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{w}").exists() for w in workers):
        assert time.monotonic() < deadline, "a worker outlived the server"
        time.sleep(0.2)
