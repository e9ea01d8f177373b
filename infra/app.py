"""The Pitwall CDK app: ``npx cdk synth`` / ``npx cdk deploy --all`` from the repository root.

Stacks (``pitwall-<stage>-<name>``) in dependency order: data, tracking (optional), serving,
training, api, events. Context: see :mod:`infra.config` (``stage``, ``useImageAsset``,
``modelImageTag``, ``withMlflowServer``, ``apiAssetPath``).
The app is environment-agnostic: account and region come from the CLI profile at deploy time.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

import aws_cdk as cdk  # noqa: E402

from infra.pitwall_app import build_app  # noqa: E402

if __name__ == "__main__":
    app = cdk.App()
    build_app(app)
    app.synth()
