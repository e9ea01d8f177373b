"""Container images built by ``cdk deploy`` from the repository root (CDK Docker image assets).

Synth only stages the build context (no Docker needed); ``cdk deploy`` builds and pushes each image
(Docker on the deploying machine). The context is an allowlist (Docker ignore rules: exclude
everything, then re-include what the Dockerfiles copy), so staging copies a few MB, not the venv.

| image | Dockerfile | used by |
|---|---|---|
| model (CPU) | ``training_images/Dockerfile`` | training jobs without GPU, every endpoint |
| model (GPU) | ``training_images/Dockerfile.gpu`` | Pro training jobs that ask for a GPU (``ml.g5.*``) |
| feature job | ``feature_jobs/Dockerfile`` | the weekly post-race feature-job Lambda |
"""

from __future__ import annotations

import aws_cdk as cdk

from infra.config import REPO_ROOT

MODEL_DOCKERFILE = "training_images/Dockerfile"
MODEL_GPU_DOCKERFILE = "training_images/Dockerfile.gpu"
FEATURE_JOB_DOCKERFILE = "feature_jobs/Dockerfile"

# What the Dockerfiles COPY (relative to the repository root).
_CONTEXT = ("pyproject.toml", "README.md", "pitwall", "training_images", "feature_jobs", "monitoring_job")


def context_excludes() -> list[str]:
    """Docker-ignore rules keeping only :data:`_CONTEXT` (and no caches or tests inside it)."""
    return ["*", *(f"!{path}" for path in _CONTEXT), "**/__pycache__", "**/*.pyc", "**/tests"]


def image_asset_options() -> dict[str, object]:
    """Keyword arguments shared by every image asset of the repository root."""
    return {
        "directory": str(REPO_ROOT),
        "exclude": context_excludes(),
        "ignore_mode": cdk.IgnoreMode.DOCKER,
    }
