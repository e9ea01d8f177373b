"""``verify``: the marketplace verification job reports its failures through SageMaker's contract
(``output/failure`` and the exit status), the same way ``train`` does (``pitwall_image.job``)."""

from __future__ import annotations

import json
from pathlib import Path

from pitwall_image.job import EXIT_BAD_INPUT, EXIT_INTERNAL
from pitwall_image.layout import OptMl
from pitwall_image.verify import VERIFICATION_KIND, is_verification_job, run

from pitwall.workflow.verification import RESULT_FILE
from pitwall.workflow.verification import VERIFICATION_KIND as WORKFLOW_KIND


def _failure(root: Path) -> str:
    return (root / "output" / "failure").read_text(encoding="utf-8")


def test_the_image_names_the_workflows_kind_and_result_file() -> None:
    from pitwall_image import verify

    assert (VERIFICATION_KIND, verify.RESULT_FILE) == (WORKFLOW_KIND, RESULT_FILE)


def test_bad_params_exit_2_naming_the_field_and_leave_the_model_folder_empty(new_opt_ml) -> None:  # type: ignore[no-untyped-def]
    root = new_opt_ml({"kind": VERIFICATION_KIND, "params": '{"listing_id": '}, lake=False)
    (root / "model").mkdir()
    (root / "model" / "stale.json").write_text("{}", encoding="utf-8")
    (root / "output").mkdir()
    (root / "output" / "failure").write_text("an earlier run's failure", encoding="utf-8")
    assert is_verification_job(OptMl(root))
    assert run(OptMl(root)) == EXIT_BAD_INPUT
    assert _failure(root) == "hyperparameters.params: not valid JSON\n"
    assert list((root / "model").iterdir()) == []

    (root / "input" / "config" / "hyperparameters.json").write_text(
        json.dumps({"kind": VERIFICATION_KIND, "params": "[1, 2]"}), encoding="utf-8"
    )
    assert run(OptMl(root)) == EXIT_BAD_INPUT
    assert _failure(root) == "hyperparameters.params: must be a JSON object\n"


def test_an_unexpected_error_is_an_internal_error_with_its_type(new_opt_ml, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from pitwall_image import verify

    def broken(raw: dict) -> object:
        raise KeyError("listing_id")

    monkeypatch.setattr(verify, "_request", broken)
    root = new_opt_ml({"kind": VERIFICATION_KIND, "params": "{}"}, lake=False)
    assert run(OptMl(root)) == EXIT_INTERNAL
    assert _failure(root) == "internal error: KeyError: 'listing_id'\n"


def test_the_entry_point_takes_no_arguments(new_opt_ml, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from pitwall_image.layout import ROOT_ENV
    from pitwall_image.verify import main

    root = new_opt_ml({"kind": VERIFICATION_KIND, "params": "{}"}, lake=False)
    monkeypatch.setenv(ROOT_ENV, str(root))
    assert main(["--listing", "x"]) == EXIT_BAD_INPUT
    assert _failure(root).startswith("verify: takes no arguments (got --listing x); configure it with")
