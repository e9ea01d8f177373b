"""Builds every Pitwall stack into a CDK app (shared by ``infra/app.py`` and the infra tests)."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.config import StageConfig, _flag, apply_tags
from infra.nag import apply_suppressions
from infra.stacks.api_stack import ApiStack
from infra.stacks.data_stack import DataStack
from infra.stacks.events_stack import EventsStack
from infra.stacks.live_stack import LiveStack
from infra.stacks.monitoring_stack import MonitoringStack
from infra.stacks.serving_stack import ServingStack
from infra.stacks.tracking_stack import TrackingStack
from infra.stacks.training_stack import TrainingStack
from infra.stacks.web_stack import WebStack


@dataclass
class PitwallStacks:
    """The stacks of one stage."""

    config: StageConfig
    data: DataStack
    tracking: TrackingStack | None
    serving: ServingStack
    training: TrainingStack
    api: ApiStack
    events: EventsStack
    web: WebStack
    monitoring: MonitoringStack | None = None
    live: LiveStack | None = None

    def all(self) -> list[cdk.Stack]:
        stacks = [self.data, self.tracking, self.serving, self.training, self.api, self.events, self.web]
        stacks.append(self.monitoring)
        stacks.append(self.live)
        return [s for s in stacks if s is not None]


def build_app(app: cdk.App, config: StageConfig | None = None, *, nag: bool = True) -> PitwallStacks:
    """Add the stacks of ``config`` (default: from the app's context) to ``app``.

    ``nag`` adds the cdk-nag AwsSolutions checks (errors fail synth) with Pitwall's justified
    suppressions (:mod:`infra.nag`).
    """
    config = config or StageConfig.from_context(app)
    name = config.name
    data = DataStack(app, name("data"), config=config, description="Pitwall lakehouse: S3, Glue, Athena")
    tracking = None
    if _flag(app.node.try_get_context("withMlflowServer"), True):
        tracking = TrackingStack(
            app,
            name("tracking"),
            config=config,
            description="Pitwall MLflow tracking server (billed hourly while deployed)",
        )
    serving = ServingStack(
        app,
        name("serving"),
        config=config,
        description="Pitwall model image, endpoint role and deploy Lambda",
    )
    training = TrainingStack(
        app,
        name("training"),
        config=config,
        serving=serving,
        tracking=tracking,
        description="Pitwall training workflow (Step Functions + SageMaker)",
    )
    api = ApiStack(
        app,
        name("api"),
        config=config,
        state_machine=training.state_machine,
        serving=serving,
        description="Pitwall REST API, API keys, usage plans and platform tables",
    )
    training.connect_api(api.api_function)  # marketplace publish starts verification executions
    events_stack = EventsStack(
        app,
        name("events"),
        config=config,
        glue_database_name=data.database_name,
        state_machine=training.state_machine,
        description="Pitwall weekly feature job and event-driven retraining",
    )
    web = WebStack(
        app, name("web"), config=config, api_url=api.api.url, description="Pitwall Studio web UI (S3 + CloudFront)"
    )
    stacks = PitwallStacks(config, data, tracking, serving, training, api, events_stack, web)
    stacks.monitoring = MonitoringStack(
        app,
        name("monitoring"),
        config=config,
        serving=serving,
        glue_database_name=data.database_name,
        api_function=api.api_function,
        description="Pitwall model monitoring: capture prefix, after-race monitoring job, alert topic",
    )
    stacks.monitoring.add_stack_dependency(api)  # the job reads the platform tables
    stacks.live = LiveStack(
        app,
        name("live"),
        config=config,
        api_function=api.api_function,
        description="Pitwall live mode: OpenF1 poller (EventBridge Scheduler -> Lambda) and the live feed table",
    )
    api.add_stack_dependency(stacks.live)  # the API's live routes read the live table
    # Stacks address buckets, tables and the deploy function by name: make the order explicit.
    for later in stacks.all()[1:]:
        later.add_stack_dependency(data)
    training.add_stack_dependency(serving)
    events_stack.add_stack_dependency(api)  # the retraining Lambda writes the platform tables
    for stack in stacks.all():
        apply_tags(stack, config)
        apply_suppressions(stack)
    if nag:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stacks
