"""`pitwall serve --workers 2`: a worker killed with SIGKILL is replaced and the API keeps answering."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support.network import free_port


def _workers(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    found = []
    for child in (int(p) for p in out.stdout.split()):
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
        except OSError:
            continue
    return found


def _healthy(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_a_killed_worker_is_respawned(_isolated_home: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "pitwall"), "serve", "--port", str(port), "--workers", "2"],
        env={**os.environ},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api/v1/health"
    try:
        for _ in range(600):  # bounded wait for both workers
            if len(_workers(proc.pid)) == 2 and _healthy(url):
                break
            assert proc.poll() is None
            time.sleep(0.2)
        before = _workers(proc.pid)
        assert len(before) == 2
        os.kill(before[0], signal.SIGKILL)
        for _ in range(600):  # bounded wait for the replacement
            now = _workers(proc.pid)
            if len(now) == 2 and before[0] not in now:
                break
            time.sleep(0.2)
        now = _workers(proc.pid)
        assert len(now) == 2 and before[0] not in now and before[1] in now
        for _ in range(300):
            if _healthy(url):
                break
            time.sleep(0.2)
        with requests.Session() as s:
            assert all(s.get(url, timeout=10).status_code == 200 for _ in range(20))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
