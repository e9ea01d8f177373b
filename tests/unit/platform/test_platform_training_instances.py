"""The training instance of a job follows its tier and whether it asks for a GPU."""

from __future__ import annotations

import pytest

from pitwall.platform.tiers import TIERS, is_gpu_instance, training_instance_type


def test_gpu_jobs_get_the_tiers_gpu_instance_and_cpu_jobs_a_cpu_instance() -> None:
    pro, free = TIERS["pro"], TIERS["free"]
    assert is_gpu_instance(training_instance_type(pro, gpu=True))
    assert not is_gpu_instance(training_instance_type(pro, gpu=False))
    assert not is_gpu_instance(training_instance_type(free, gpu=False))
    with pytest.raises(ValueError, match="free"):
        training_instance_type(free, gpu=True)


@pytest.mark.parametrize(
    ("instance", "gpu"),
    [("ml.g5.xlarge", True), ("ml.p3.2xlarge", True), ("ml.m5.large", False), ("ml.c5.xlarge", False)],
)
def test_gpu_instance_families(instance: str, gpu: bool) -> None:
    assert is_gpu_instance(instance) is gpu
