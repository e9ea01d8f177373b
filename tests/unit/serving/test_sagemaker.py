"""SageMaker naming and the tier -> endpoint table (no I/O)."""

from __future__ import annotations

import re

from pitwall.platform.tiers import TIERS
from pitwall.serving.sagemaker import (
    NAME_PREFIX,
    SERVING_BY_TIER,
    InstanceServing,
    ServerlessServing,
    production_variant,
    sagemaker_name,
    serving_for_tier,
)


def test_sagemaker_names_are_valid_unique_and_prefixed() -> None:
    long = sagemaker_name("t" * 64, "m" * 64, "v12")
    assert len(long) <= 63
    assert re.fullmatch(r"pitwall-[a-zA-Z0-9](-*[a-zA-Z0-9]){0,54}", long)
    assert sagemaker_name("a.b", "c") != sagemaker_name("a-b", "c")
    assert sagemaker_name("acme", "job-1").startswith("pitwall-acme-job-1-")
    assert NAME_PREFIX == "pitwall-"  # the prefix the IAM policies of the serving stack are scoped to


def test_serving_by_tier_variants() -> None:
    assert set(SERVING_BY_TIER) == set(TIERS)
    free_config = SERVING_BY_TIER["free"]
    assert isinstance(free_config, ServerlessServing)
    free = production_variant(free_config, "pitwall-m")
    assert free["ServerlessConfig"] == {
        "MemorySizeInMB": free_config.memory_size_mb,
        "MaxConcurrency": free_config.max_concurrency,
    }
    assert "InstanceType" not in free
    pro_config = SERVING_BY_TIER["pro"]
    assert isinstance(pro_config, InstanceServing)
    pro = production_variant(pro_config, "pitwall-m")
    assert pro["InstanceType"] == pro_config.instance_type and "ServerlessConfig" not in pro


def test_serving_for_an_unknown_tier_names_the_known_ones() -> None:
    import pytest

    with pytest.raises(ValueError, match=r"unknown tier 'gold'; expected one of \['free', 'pro'\]"):
        serving_for_tier("gold")
    assert serving_for_tier("pro") is SERVING_BY_TIER["pro"]
