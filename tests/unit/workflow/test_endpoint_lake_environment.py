"""Endpoints get the lake's settings, so race and championship bodies resolve their features there."""

from __future__ import annotations

from pitwall.serving.sagemaker import lake_environment


def test_the_endpoint_container_gets_the_store_settings_of_the_deploying_process() -> None:
    environ = {
        "PITWALL_BUCKET": "pitwall-dev-raw-1-us-east-1",
        "PITWALL_PREFIX": "lake",
        "PITWALL_GLUE_DATABASE": "pitwall_dev",
        "PITWALL_ATHENA_WORKGROUP": "pitwall-dev-athena",
        "PITWALL_MODELS_TABLE": "not for the container",
    }
    assert lake_environment(environ) == {
        "PITWALL_BACKEND": "aws",
        **{k: v for k, v in environ.items() if "TABLE" not in k},
    }
    assert lake_environment({}) == {}  # no lake configured: instances-only endpoints, as before
