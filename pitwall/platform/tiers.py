"""The tier table: the single definition of Free and Pro limits.

Both the app's quota checks (``pitwall.platform.quotas``) and the CDK usage plans
(``infra/stacks/api_stack.py``) import this table, so the limits cannot drift apart.
``None`` means unlimited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TierName = Literal["free", "pro"]


@dataclass(frozen=True)
class Tier:
    name: TierName
    training_jobs_per_day: int | None
    max_training_seconds: int
    max_dataset_bytes: int
    max_deployed_models: int | None
    gpu_training: bool
    # request limits (local app enforces them; API Gateway usage plans mirror them in the cloud)
    requests_per_second: int
    burst: int
    requests_per_day: int
    marketplace_downloads_per_day: int | None
    training_instance_type: str
    """The CPU instance of a training job that does not ask for a GPU."""
    gpu_training_instance_type: str | None
    """The GPU instance of a job that asks for one (``gpu_training`` tiers only)."""
    # expensive requests (fair shares between tenants; ``pitwall.platform.quotas``)
    max_simulations: int = 20_000
    """Monte Carlo runs one championship forecast may ask for."""
    concurrent_simulations: int = 1
    """Championship forecasts of one tenant running at once (per server process)."""
    max_batch_rows: int = 100
    """Rows one ``instances`` prediction may send."""


SIMULATIONS_PER_UNIT = 10_000
"""Request-rate cost of a championship forecast: one token per this many simulations (at least 1)."""
ROWS_PER_UNIT = 25
"""Request-rate cost of an ``instances`` prediction: one token per this many rows (at least 1)."""

MB = 1024 * 1024
GB = 1024 * MB

TIERS: dict[str, Tier] = {
    "free": Tier(
        name="free",
        training_jobs_per_day=5,
        max_training_seconds=3600,
        max_dataset_bytes=100 * MB,
        max_deployed_models=3,
        gpu_training=False,
        requests_per_second=5,
        burst=10,
        requests_per_day=1000,
        marketplace_downloads_per_day=20,
        training_instance_type="ml.m5.large",
        gpu_training_instance_type=None,
        max_simulations=20_000,
        concurrent_simulations=1,
        max_batch_rows=100,
    ),
    "pro": Tier(
        name="pro",
        training_jobs_per_day=None,
        max_training_seconds=8 * 3600,
        max_dataset_bytes=5 * GB,
        max_deployed_models=None,
        gpu_training=True,
        requests_per_second=50,
        burst=100,
        requests_per_day=100_000,
        marketplace_downloads_per_day=None,
        training_instance_type="ml.m5.xlarge",
        gpu_training_instance_type="ml.g5.xlarge",
        max_simulations=100_000,
        concurrent_simulations=4,
        max_batch_rows=1000,
    ),
}


def get_tier(name: str) -> Tier:
    """Return the tier called ``name`` or raise ``ValueError`` naming the allowed tiers."""
    try:
        return TIERS[name]
    except KeyError:
        raise ValueError(f"unknown tier {name!r}; expected one of {sorted(TIERS)}") from None


def training_instance_type(tier: Tier, *, gpu: bool) -> str:
    """The SageMaker instance of a training job on ``tier``: its GPU instance when the job asks for a
    GPU, its CPU instance otherwise. ``ValueError`` when the tier has no GPU training."""
    if not gpu:
        return tier.training_instance_type
    if not tier.gpu_training or tier.gpu_training_instance_type is None:
        raise ValueError(f"tier {tier.name!r} has no GPU training")
    return tier.gpu_training_instance_type


def is_gpu_instance(instance_type: str) -> bool:
    """True for SageMaker's accelerated instance families (``ml.g*``, ``ml.p*``): those jobs run the GPU
    image (``training_images/Dockerfile.gpu``)."""
    family = instance_type.removeprefix("ml.").split(".")[0]
    return family[:1] in ("g", "p")
