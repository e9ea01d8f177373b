"""How each tier's models are served: the ONE mapping the deploy step and the serving stack read.

Free models get SageMaker Serverless Inference (no idle cost, cold starts); Pro models get an
instance-backed endpoint (steady latency, billed per hour). Keys are the tier names of
:data:`pitwall.platform.tiers.TIERS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pitwall.platform.tiers import TIERS


@dataclass(frozen=True)
class ServerlessServing:
    """SageMaker Serverless Inference: memory in MB (1024-6144, steps of 1024) and max concurrency."""

    memory_size_mb: int
    max_concurrency: int


@dataclass(frozen=True)
class InstanceServing:
    """A real-time endpoint on ``initial_instance_count`` instances of ``instance_type``."""

    instance_type: str
    initial_instance_count: int


ServingConfig = ServerlessServing | InstanceServing

SERVING_BY_TIER: dict[str, ServingConfig] = {
    "free": ServerlessServing(memory_size_mb=2048, max_concurrency=5),
    "pro": InstanceServing(instance_type="ml.m5.large", initial_instance_count=1),
}

if set(SERVING_BY_TIER) != set(TIERS):
    raise RuntimeError(f"SERVING_BY_TIER covers {sorted(SERVING_BY_TIER)} but the tiers are {sorted(TIERS)}")


def serving_for_tier(tier: str) -> ServingConfig:
    """The serving configuration of ``tier``; ``ValueError`` naming the known tiers otherwise."""
    try:
        return SERVING_BY_TIER[tier]
    except KeyError:
        raise ValueError(f"unknown tier {tier!r}; expected one of {sorted(SERVING_BY_TIER)}") from None


def production_variant(config: ServingConfig, model_name: str, variant_name: str = "AllTraffic") -> dict[str, Any]:
    """The SageMaker ``ProductionVariant`` for ``CreateEndpointConfig`` serving ``model_name``."""
    variant: dict[str, Any] = {"VariantName": variant_name, "ModelName": model_name}
    if isinstance(config, ServerlessServing):
        variant["ServerlessConfig"] = {
            "MemorySizeInMB": config.memory_size_mb,
            "MaxConcurrency": config.max_concurrency,
        }
    else:
        variant["InstanceType"] = config.instance_type
        variant["InitialInstanceCount"] = config.initial_instance_count
    return variant
