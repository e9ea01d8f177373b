"""Web stack (Pitwall Studio on S3 + CloudFront): origin access control, private bucket, /api/* to
the API URL given at deploy, client-route rewrite, cdk-nag AwsSolutions clean."""

from __future__ import annotations

import os
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
API_URL = "https://abc123defg.execute-api.eu-west-1.amazonaws.com/api/"


@pytest.fixture(scope="module")
def web() -> Any:
    import aws_cdk as cdk
    from aws_cdk.assertions import Annotations, Match, Template
    from cdk_nag import AwsSolutionsChecks

    from infra.config import StageConfig
    from infra.stacks.web_stack import WebStack

    app = cdk.App(context={"aws:cdk:bundling-stacks": []})
    stack = WebStack(app, "pitwall-dev-web", config=StageConfig(stage="dev"), api_url=API_URL)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()
    errors = Annotations.from_stack(stack).find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
    return Template.from_stack(stack), errors


def _distribution(template: Any) -> dict[str, Any]:
    (dist,) = template.find_resources("AWS::CloudFront::Distribution").values()
    return dist["Properties"]["DistributionConfig"]


def test_cdk_nag_has_no_errors(web: Any) -> None:
    _, errors = web
    assert [e.entry.data for e in errors] == []


def test_site_bucket_is_private_and_read_through_origin_access_control(web: Any) -> None:
    from aws_cdk.assertions import Match

    template, _ = web
    template.resource_count_is("AWS::CloudFront::OriginAccessControl", 1)
    template.has_resource_properties(
        "AWS::CloudFront::OriginAccessControl",
        {
            "OriginAccessControlConfig": Match.object_like(
                {"OriginAccessControlOriginType": "s3", "SigningBehavior": "always"}
            )
        },
    )
    for bucket in template.find_resources("AWS::S3::Bucket").values():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert "BucketEncryption" in props
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in template.find_resources("AWS::S3::BucketPolicy").values()
    ]
    reads = [
        s
        for statements in policies
        for s in statements
        if s.get("Principal") == {"Service": "cloudfront.amazonaws.com"}
    ]
    assert reads and all("AWS:SourceArn" in s["Condition"]["StringEquals"] for s in reads), (
        "only this distribution reads"
    )
    assert not any(s.get("Principal") == "*" and s["Effect"] == "Allow" for statements in policies for s in statements)
    s3_origins = [o for o in _distribution(template)["Origins"] if "S3OriginConfig" in o]
    assert len(s3_origins) == 1 and "OriginAccessControlId" in s3_origins[0]


def test_api_url_configured_at_deploy_is_the_api_origin(web: Any) -> None:
    template, _ = web
    config = _distribution(template)
    (api,) = [o for o in config["Origins"] if "CustomOriginConfig" in o]
    assert api["DomainName"] == "abc123defg.execute-api.eu-west-1.amazonaws.com"
    assert api["OriginPath"] == "/api"
    assert api["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    (behaviour,) = config["CacheBehaviors"]
    assert behaviour["PathPattern"] == "/api/*"
    assert behaviour["TargetOriginId"] == api["Id"]
    assert set(behaviour["AllowedMethods"]) >= {"GET", "POST", "PUT", "DELETE", "OPTIONS"}
    assert "FunctionAssociations" not in behaviour, "API answers are never rewritten to index.html"
    assert "CustomErrorResponses" not in config


def test_client_routes_rewrite_and_logging(web: Any) -> None:
    template, _ = web
    config = _distribution(template)
    assert config["DefaultRootObject"] == "index.html"
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert config["DefaultCacheBehavior"]["FunctionAssociations"][0]["EventType"] == "viewer-request"
    (function,) = template.find_resources("AWS::CloudFront::Function").values()
    assert "index.html" in function["Properties"]["FunctionCode"]
    assert "Logging" in config


def test_assets_deployed_with_same_origin_config_and_invalidated(web: Any) -> None:
    template, _ = web
    (deployment,) = template.find_resources("Custom::CDKBucketDeployment").values()
    props = deployment["Properties"]
    assert len(props["SourceObjectKeys"]) == 2, "the built app and config.json"
    assert props["DistributionPaths"] == ["/*"]


def test_api_url_must_be_https() -> None:
    from infra.stacks.web_stack import api_origin

    assert api_origin("https://x.execute-api.us-east-1.amazonaws.com/prod/") == (
        "x.execute-api.us-east-1.amazonaws.com",
        "/prod",
    )
    with pytest.raises(ValueError, match="apiUrl"):
        api_origin("http://insecure.example/api/")


def test_api_url_token_from_the_api_stack_is_split_at_deploy() -> None:
    import aws_cdk as cdk

    from infra.stacks.web_stack import api_origin

    stack = cdk.Stack(cdk.App())
    url = cdk.CfnParameter(stack, "ApiUrl").value_as_string
    domain, path = api_origin(url)
    assert stack.resolve(domain) == {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "ApiUrl"}]}]}
    assert "Fn::Join" in stack.resolve(path)
