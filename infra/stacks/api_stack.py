"""API stack: the platform's DynamoDB tables, the API Lambda (the Chalice app) and the REST API.

Tables come from :data:`pitwall.platform.dynamo_tables.TABLES` (keys, indexes, TTL), named
``pitwall-<stage>-<table>`` so the workflow and serving Lambdas in other stacks can address them by
name. The REST API has one resource and method per route of ``functions/api/app.py``'s Chalice
``app`` (read from the app's own route table by :mod:`infra.chalice_routes`: Chalice dispatches on the
resource path, so a ``{proxy+}`` catch-all would answer 405 everywhere), each a Lambda proxy
integration of the API function (handler ``app.app``). Methods whose Chalice route is
``api_key_required`` need an API key (health and the OpenAPI document stay open); the Free and Pro
usage plans take their throttle (rate, burst) and daily quota from :data:`pitwall.platform.tiers.TIERS`
and are attached to the deployed stage. ``pitwall keys create|set-tier|revoke`` (AWS backend) keeps a
tenant's API Gateway key in its tier's plan (:mod:`pitwall.platform.apigateway_keys`; plan names in
``PITWALL_USAGE_PLAN_NAME_<TIER>``, ids found with ``GetUsagePlans``).
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.access import LAKE_PREFIX, MODELS_BUCKET, RAW, grant_s3, grant_tables, store_environment
from infra.chalice_routes import Route, routes_of_project
from infra.config import StageConfig
from infra.python_lambda import chalice_runtime_files, code_with_pitwall, python_function
from infra.stacks.serving_stack import ServingStack
from pitwall.platform.dynamo_tables import TABLES, TableSpec
from pitwall.platform.tiers import TIERS, Tier


def usage_plan_settings(tier: Tier) -> tuple[apigw.ThrottleSettings, apigw.QuotaSettings]:
    """API Gateway throttle and quota of ``tier`` (the one tier table)."""
    return (
        apigw.ThrottleSettings(rate_limit=tier.requests_per_second, burst_limit=tier.burst),
        apigw.QuotaSettings(limit=tier.requests_per_day, period=apigw.Period.DAY),
    )


class ApiStack(cdk.Stack):
    """Tables, API Lambda, REST API with API keys and usage plans."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        state_machine: sfn.IStateMachine,
        serving: ServingStack,
        api_asset_path: Path | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        self.tables: dict[str, dynamodb.Table] = {name: self._table(spec) for name, spec in TABLES.items()}

        asset = api_asset_path or config.api_asset_path
        self.api_function = python_function(
            self,
            "ApiFunction",
            config=config,
            code=code_with_pitwall(asset, chalice_runtime_files()),
            handler="app.app",
            description="Pitwall REST API (Chalice app)",
            timeout=cdk.Duration.seconds(29),
            memory_size=1024,
            service="api",
            environment={
                **{spec.env_var: table.table_name for spec, table in self._by_spec()},
                **store_environment(config),
                **serving.serving_environment(),
                "PITWALL_TRAINING_STATE_MACHINE_ARN": state_machine.state_machine_arn,
                "PITWALL_MODELS_BUCKET": config.bucket_name(MODELS_BUCKET),
            },
        )
        grant_tables(self.api_function, self, config, {spec: True for spec in TABLES.values()})
        state_machine.grant_start_execution(self.api_function)
        self.api_function.add_to_role_policy(  # cancel: stop the job's execution and its training job
            iam.PolicyStatement(
                actions=["states:StopExecution"],
                resources=[
                    self.format_arn(
                        service="states",
                        resource="execution",
                        resource_name=f"{config.name('training')}:*",
                        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )
        self.api_function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["sagemaker:StopTrainingJob"],
                resources=[self.format_arn(service="sagemaker", resource="training-job", resource_name="*")],
            )
        )
        grant_s3(self.api_function, self, config, MODELS_BUCKET, read=True, write=True, list_objects=True)
        grant_s3(self.api_function, self, config, RAW, prefix=f"{LAKE_PREFIX}/", read=True, list_objects=True)
        serving.grant_deploy(self.api_function, undeploy=True)  # POST/DELETE /models/{name}/deploy
        self.api_function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["sagemaker:InvokeEndpoint"],
                resources=[self.format_arn(service="sagemaker", resource="endpoint", resource_name="pitwall-*")],
            )
        )

        access_logs = logs.LogGroup(
            self, "ApiAccessLogs", retention=logs.RetentionDays.THREE_MONTHS, removal_policy=config.removal_policy
        )
        self.api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=config.name("api"),
            description="Pitwall: train, deploy and call F1 prediction models",
            api_key_source_type=apigw.ApiKeySourceType.HEADER,
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=config.removal_policy,
            endpoint_types=[apigw.EndpointType.REGIONAL],
            deploy_options=apigw.StageOptions(
                stage_name=config.stage,
                tracing_enabled=True,
                logging_level=apigw.MethodLoggingLevel.INFO,
                data_trace_enabled=False,
                metrics_enabled=True,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=False,
                ),
            ),
        )
        self.routes = routes_of_project(asset)
        self._add_routes(self.routes)
        self.usage_plans: dict[str, apigw.UsagePlan] = {}
        for name, tier in TIERS.items():
            throttle, quota = usage_plan_settings(tier)
            plan = self.api.add_usage_plan(
                f"{name.title()}UsagePlan",
                name=config.name(f"{name}-plan"),
                description=f"{name} tier: {tier.requests_per_second} req/s, burst {tier.burst}, "
                f"{tier.requests_per_day} requests/day",
                throttle=throttle,
                quota=quota,
                api_stages=[apigw.UsagePlanPerApiStage(api=self.api, stage=self.api.deployment_stage)],
            )
            self.usage_plans[name] = plan
            # The plan's name, not its id: an id here would make the function depend on its own stage.
            self.api_function.add_environment(f"PITWALL_USAGE_PLAN_NAME_{name.upper()}", config.name(f"{name}-plan"))
        self._grant_key_management()
        cdk.CfnOutput(self, "ApiUrl", value=self.api.url)

    def _add_routes(self, routes: list[Route]) -> None:
        """One resource per route path and one Lambda proxy method per route (Chalice's own table)."""
        # One invoke permission for the whole API (not one per method: a function's resource policy
        # is limited to 20 KB, and the route table grows).
        integration = apigw.Integration(
            type=apigw.IntegrationType.AWS_PROXY,
            integration_http_method="POST",
            uri=f"arn:{self.partition}:apigateway:{self.region}:lambda:path/2015-03-31/functions/"
            f"{self.api_function.function_arn}/invocations",
        )
        self.api_function.add_permission(
            "InvokeFromRestApi",
            principal=iam.ServicePrincipal("apigateway.amazonaws.com"),
            source_arn=self.api.arn_for_execute_api(stage=self.config.stage),
        )
        for route in routes:
            resource = self.api.root
            for part in route.path.strip("/").split("/"):
                resource = resource.get_resource(part) or resource.add_resource(part)
            resource.add_method(route.method, integration, api_key_required=route.api_key_required)

    def _table(self, spec: TableSpec) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            f"{spec.logical_name.title()}Table",
            table_name=self.config.table_name(spec),
            partition_key=dynamodb.Attribute(name=spec.partition_key, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=spec.sort_key, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=spec.ttl_attribute,
            deletion_protection=self.config.is_prod,
            removal_policy=self.config.removal_policy,
        )
        for index in spec.indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=dynamodb.Attribute(name=index.partition_key, type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name=index.sort_key, type=dynamodb.AttributeType.STRING),
                projection_type=dynamodb.ProjectionType.ALL,
            )
        return table

    def _by_spec(self) -> list[tuple[TableSpec, dynamodb.Table]]:
        return [(TABLES[name], table) for name, table in self.tables.items()]

    def _grant_key_management(self) -> None:
        """Create, look up and delete API keys, list usage plans, attach keys to Pitwall's plans only.

        A separate policy (not the function's default policy): the function must not depend on the
        usage plans, which depend on the API stage, which depends on the function.
        """
        prefix = f"arn:{self.partition}:apigateway:{self.region}::"
        plan_paths = [f"/usageplans/{plan.usage_plan_id}" for plan in self.usage_plans.values()]
        role = self.api_function.role
        assert role is not None
        iam.Policy(
            self,
            "ApiKeyManagementPolicy",
            roles=[role],
            statements=[
                iam.PolicyStatement(actions=["apigateway:GET"], resources=[f"{prefix}/usageplans"]),
                iam.PolicyStatement(
                    actions=["apigateway:POST", "apigateway:GET", "apigateway:DELETE", "apigateway:PATCH"],
                    resources=[
                        f"{prefix}/apikeys",
                        f"{prefix}/apikeys/*",
                        *(f"{prefix}{path}/keys" for path in plan_paths),
                        *(f"{prefix}{path}/keys/*" for path in plan_paths),
                    ],
                ),
            ],
        )
