"""One synthesized Pitwall app (all stacks, cdk-nag on) shared by every infra test.

jsii start-up and synthesis take seconds, so the app is built once per session. Bundling is skipped
(``aws:cdk:bundling-stacks: []``); the API and feature-job code folders are small stand-ins in a tmp
dir, since the stacks only package them.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

NO_BUNDLING = {"aws:cdk:bundling-stacks": [], "@aws-cdk/core:defaultCrossStackReferences": "strong"}


@dataclass
class SynthesizedApp:
    stacks: Any  # infra.pitwall_app.PitwallStacks
    templates: dict[str, dict[str, Any]]  # short stack name ("data", "api"...) -> template JSON

    def template(self, name: str) -> Any:
        from aws_cdk.assertions import Template

        return Template.from_json(self.templates[name])

    def resources(self, name: str, cfn_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.templates[name]["Resources"].items() if v["Type"] == cfn_type}


def code_folders(root: Path) -> tuple[Path, Path]:
    """Stand-in API and feature-job code folders (the stacks only package them)."""
    api, feature_job = root / "api", root / "feature_job"
    api.mkdir()
    feature_job.mkdir()
    (api / "app.py").write_text("def app(event, context):\n    return {'statusCode': 200}\n")
    (feature_job / "build_features.py").write_text("def handler(event, context):\n    return {}\n")
    return api, feature_job


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    import aws_cdk as cdk

    from infra.config import StageConfig
    from infra.pitwall_app import build_app

    api, feature_job = code_folders(tmp_path_factory.mktemp("code"))
    app = cdk.App(context=NO_BUNDLING, outdir=str(tmp_path_factory.mktemp("cdk.out")))
    config = StageConfig(stage="dev", api_asset_path=api, feature_job_asset_path=feature_job)
    stacks = build_app(app, config)
    assembly = app.synth()  # raises if cdk-nag reports an unacknowledged finding
    templates = {
        stack.stack_name.removeprefix("pitwall-dev-"): assembly.get_stack_by_name(stack.stack_name).template
        for stack in stacks.all()
    }
    return SynthesizedApp(stacks=stacks, templates=templates)
