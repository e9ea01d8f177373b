"""`npx cdk synth` through the real CDK CLI (node_modules, installed by `make test`), offline, no Docker."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from pitwall.config import REPO_ROOT


def test_cdk_cli_synthesizes_every_stack_offline(tmp_path: Path) -> None:
    cdk = REPO_ROOT / "node_modules" / ".bin" / "cdk"
    assert cdk.exists() or shutil.which("cdk"), "the aws-cdk CLI is missing: run `npm ci` (make test does)"
    out = tmp_path / "cdk.out"
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "CDK_DISABLE_VERSION_CHECK": "1"}
    proc = subprocess.run(
        [str(cdk) if cdk.exists() else "cdk", "synth", "--quiet", "--no-notices", "-o", str(out)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    manifest = json.loads((out / "manifest.json").read_text())
    stacks = {name for name, art in manifest["artifacts"].items() if art["type"] == "aws:cloudformation:stack"}
    assert {f"pitwall-dev-{s}" for s in ("data", "tracking", "serving", "training", "api", "events")} <= stacks
