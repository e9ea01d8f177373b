"""`pitwall serve --workers 2`: two spawned workers share the port, a killed worker is replaced,
and all stop with the parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support.network import free_port


def workers_of(pid: int) -> list[int]:
    """The serving worker processes of a `pitwall serve` process (spawned children)."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    found = []
    for child in (int(p) for p in out.stdout.split()):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmdline:
            found.append(child)
    return found


def wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.2)


def start_server(workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cli = Path(sys.executable).parent / "pitwall"
    proc = subprocess.Popen(
        [str(cli), "serve", "--port", str(port), "--workers", str(workers)],
        env={**os.environ},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return proc, f"http://127.0.0.1:{port}/api/v1/health"


def test_workers_serve_and_stop_with_the_parent(_isolated_home: Path) -> None:
    proc, url = start_server(2)
    try:
        wait_healthy(url, proc)
        deadline = time.monotonic() + 60
        while len(workers := workers_of(proc.pid)) < 2:
            assert time.monotonic() < deadline, workers
            time.sleep(0.2)
        assert len(workers) == 2  # the parent supervises, two workers serve
        with requests.Session() as s:
            assert all(s.get(url, timeout=5).status_code == 200 for _ in range(50))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{w}").exists() for w in workers):
        assert time.monotonic() < deadline, "a worker outlived the server"
        time.sleep(0.2)
