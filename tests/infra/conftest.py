"""One synthesized Pitwall app (all stacks, cdk-nag on) shared by every infra test.

jsii start-up and synthesis take seconds, so the app is built once per session. Bundling is skipped
(``aws:cdk:bundling-stacks: []``). The API asset is the real Chalice project (``functions/api``): the API
stack reads its route table at synth. Image assets are only staged (a few MB), never built.
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


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    import aws_cdk as cdk

    from infra.config import StageConfig
    from infra.pitwall_app import build_app

    app = cdk.App(context=NO_BUNDLING, outdir=str(tmp_path_factory.mktemp("cdk.out")))
    config = StageConfig(stage="dev")
    stacks = build_app(app, config)
    assembly = app.synth()  # raises if cdk-nag reports an unacknowledged finding
    templates = {
        stack.stack_name.removeprefix("pitwall-dev-"): assembly.get_stack_by_name(stack.stack_name).template
        for stack in stacks.all()
    }
    return SynthesizedApp(stacks=stacks, templates=templates)
