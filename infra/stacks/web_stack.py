"""Web stack: Pitwall Studio (the built web UI, ``pitwall/webui/static``) on S3 + CloudFront.

- The site bucket is private (public access blocked, S3-managed encryption, TLS only, access logs);
  CloudFront reads it through an **origin access control** (the bucket policy allows only this
  distribution's ``cloudfront.amazonaws.com`` service principal).
- The API is configured at deploy time (``-c apiUrl=https://<id>.execute-api.<region>.amazonaws.com/<stage>/``,
  the API stack's ``ApiUrl`` output): CloudFront forwards ``/api/*`` to it uncached, so the UI
  calls ``/api/v1/...`` on its own origin exactly as under ``pitwall serve`` (no CORS; the browser
  sends the user's ``x-api-key`` header, which the origin request policy forwards).
- Client routes (``/models/race_winner_v1``) are rewritten to ``/index.html`` by a CloudFront
  Function on the default behaviour only, so API errors are never replaced by the app's page.
- The assets are uploaded by a ``BucketDeployment`` (its ``config.json`` says ``apiBase: ""``:
  same origin) and the distribution is invalidated on every deploy.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from infra.config import StageConfig
from pitwall.webui import STATIC_DIR

SPA_REWRITE = """
function handler(event) {
  var request = event.request;
  var last = request.uri.split('/').pop();
  if (request.uri === '/' || last.indexOf('.') === -1) { request.uri = '/index.html'; }
  return request;
}
"""
"""Extension-less paths are client routes of the single-page app (CloudFront Functions, JS 1.0)."""


DISTRIBUTION_ACKNOWLEDGEMENTS = {
    "AwsSolutions-CFR1": "A public playground: no country is excluded (geo restriction is a product decision).",
    "AwsSolutions-CFR2": "Static files and an API that checks keys and throttles per usage plan; attach a WAF web "
    "ACL per deployment when needed (it bills per month).",
    "AwsSolutions-CFR4": "The default *.cloudfront.net certificate cannot pin TLSv1.2_2021; with a custom domain and "
    "an ACM certificate the distribution's minimum_protocol_version applies.",
}
_COPY = (
    "CDK's BucketDeployment handler copies the CDK asset (staging bucket objects) into the site bucket and "
    "deletes stale objects there: CDK's own grant, object wildcards of exactly those two buckets."
)
DEPLOYMENT_ACKNOWLEDGEMENTS: dict[str, str] = {
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]": (
        "The handler's basic execution policy only writes its own CloudWatch logs."
    ),
    "AwsSolutions-IAM5[Action::s3:GetObject*]": _COPY,
    "AwsSolutions-IAM5[Action::s3:GetBucket*]": _COPY,
    "AwsSolutions-IAM5[Action::s3:List*]": _COPY,
    "AwsSolutions-IAM5[Action::s3:DeleteObject*]": _COPY,
    "AwsSolutions-IAM5[Action::s3:Abort*]": _COPY,
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]": (
        _COPY
    ),
    "AwsSolutions-IAM5[Resource::<SiteBucket397A1860.Arn>/*]": _COPY,
    "AwsSolutions-IAM5[Resource::*]": (
        "cloudfront:CreateInvalidation / GetInvalidation for the distribution_paths invalidation: CDK grants them "
        "on '*' in its BucketDeployment handler."
    ),
    "AwsSolutions-L1": "The BucketDeployment handler's runtime is chosen and updated by aws-cdk-lib.",
}
"""cdk-nag findings on CDK's own BucketDeployment handler (one reason each)."""


def _acknowledge(construct: Construct, rule: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding on a construct's CloudFormation resource, with its reason."""
    node = construct.node.default_child or construct
    cdk.Validations.of(node).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))


def api_origin(api_url: str) -> tuple[str, str]:
    """(domain, origin path) of an API Gateway stage URL: ``https://x.execute-api.r.amazonaws.com/api/``
    -> (``x.execute-api.r.amazonaws.com``, ``/api``). The UI's ``/api/v1/...`` then reaches
    ``<stage>/api/v1/...`` on the API. A deploy-time token (the API stack's ``api.url``) is split
    by CloudFormation instead."""
    if cdk.Token.is_unresolved(api_url):
        parts_ = cdk.Fn.split("/", api_url)  # https: / "" / domain / stage / ""
        return cdk.Fn.select(2, parts_), "/" + cdk.Fn.select(3, parts_)
    parts = urlsplit(api_url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"apiUrl must be an https URL such as the API stack's ApiUrl output; got {api_url!r}")
    return parts.hostname, parts.path.rstrip("/")


class WebStack(cdk.Stack):
    """Private site bucket, CloudFront distribution with origin access control, ``/api/*`` to the API."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        api_url: str | None = None,
        site_dir: Path = STATIC_DIR,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        api_url = api_url if api_url is not None else self.node.try_get_context("apiUrl")
        auto_delete = not config.is_prod

        self.logs_bucket = s3.Bucket(
            self,
            "WebLogsBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,  # CloudFront standard logs use ACLs
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(90))],
            removal_policy=config.removal_policy,
            auto_delete_objects=auto_delete,
        )
        _acknowledge(self.logs_bucket, "AwsSolutions-S1", "This is the access-log bucket itself.")
        self.site_bucket = s3.Bucket(
            self,
            "SiteBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            server_access_logs_bucket=self.logs_bucket,
            server_access_logs_prefix="s3/",
            removal_policy=config.removal_policy,
            auto_delete_objects=auto_delete,
        )

        rewrite = cloudfront.Function(
            self,
            "SpaRewrite",
            code=cloudfront.FunctionCode.from_inline(SPA_REWRITE),
            comment="Pitwall Studio: client routes -> /index.html",
        )
        additional: dict[str, cloudfront.BehaviorOptions] = {}
        if api_url:
            domain, path = api_origin(api_url)
            additional["/api/*"] = cloudfront.BehaviorOptions(
                origin=origins.HttpOrigin(
                    domain,
                    origin_path=path or None,
                    protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
                    origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
                ),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
            )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"Pitwall Studio ({config.stage})",
            default_root_object="index.html",
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            enable_logging=True,
            log_bucket=self.logs_bucket,
            log_file_prefix="cloudfront/",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.site_bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
                function_associations=[
                    cloudfront.FunctionAssociation(
                        function=rewrite, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST
                    )
                ],
            ),
            additional_behaviors=additional,
        )
        for rule, reason in DISTRIBUTION_ACKNOWLEDGEMENTS.items():
            _acknowledge(self.distribution, rule, reason)

        config_json = s3deploy.Source.json_data("config.json", {"apiBase": ""})
        self.deployment = s3deploy.BucketDeployment(
            self,
            "SiteAssets",
            sources=[s3deploy.Source.asset(str(site_dir), exclude=["config.json"]), config_json],
            destination_bucket=self.site_bucket,
            distribution=self.distribution,
            distribution_paths=["/*"],
            memory_limit=256,
        )
        for construct in self.node.children:
            if construct.node.id.startswith("Custom::CDKBucketDeployment"):  # CDK's singleton handler
                for node in construct.node.find_all():
                    if isinstance(node, cdk.CfnResource):
                        for rule, reason in DEPLOYMENT_ACKNOWLEDGEMENTS.items():
                            cdk.Validations.of(node).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))

        cdk.CfnOutput(self, "WebUrl", value=f"https://{self.distribution.distribution_domain_name}/")
        cdk.CfnOutput(self, "SiteBucketName", value=self.site_bucket.bucket_name)
