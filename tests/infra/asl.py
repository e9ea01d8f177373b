"""Render the state machine definition of a synthesized template as plain ASL JSON (for tests).

CloudFormation intrinsics in the definition are replaced by readable stand-ins: ``Ref`` of a pseudo
parameter by a fixed value, ``Fn::GetAtt [X, Arn]`` by ``arn:aws:lambda:...:function:X``, an import by its
export name and a part of a split value by a label, so the result is valid JSON that moto or a test can use.
"""

from __future__ import annotations

import json
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::URLSuffix": "amazonaws.com"}


def intrinsic_to_text(node: Any) -> str:
    if isinstance(node, str):
        return node
    if "Ref" in node:
        return PSEUDO.get(node["Ref"], node["Ref"])
    if "Fn::GetAtt" in node:
        logical_id, _attribute = node["Fn::GetAtt"]
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{logical_id}"
    if "Fn::ImportValue" in node:
        return str(node["Fn::ImportValue"])
    if "Fn::Join" in node:
        delimiter, parts = node["Fn::Join"]
        return delimiter.join(intrinsic_to_text(p) for p in parts)
    if "Fn::Select" in node:
        index, items = node["Fn::Select"]
        if isinstance(items, list):
            return intrinsic_to_text(items[index])
        return f"part{index}-of-{intrinsic_to_text(items['Fn::Split'][1])}"  # e.g. account of an imported ARN
    raise ValueError(f"unsupported intrinsic {node!r}")


def state_machine_asl(template: dict[str, Any]) -> dict[str, Any]:
    """The training state machine's ASL document of ``template`` (the training stack also holds the
    marketplace verification state machine, ``VerificationWorkflow``)."""
    machines = [
        r
        for logical_id, r in template["Resources"].items()
        if r["Type"] == "AWS::StepFunctions::StateMachine" and not logical_id.startswith("VerificationWorkflow")
    ]
    assert len(machines) == 1, f"expected one training state machine, found {len(machines)}"
    definition = machines[0]["Properties"]["DefinitionString"]
    return json.loads(intrinsic_to_text(definition))


def transitions(state: dict[str, Any]) -> list[str]:
    """Every state an ASL state can move to: Next, Choices, Default, Catch."""
    targets = [state["Next"]] if "Next" in state else []
    targets += [choice["Next"] for choice in state.get("Choices", [])]
    targets += [state["Default"]] if "Default" in state else []
    targets += [catch["Next"] for catch in state.get("Catch", [])]
    return targets
