"""The deployed-shape harness: the synthesized app's Lambda functions, run from their asset folders
with only what Lambda gives them, fed the events their triggers send, AWS behind a moto server.

- :func:`synthesize`: the whole CDK app (real local bundling: the assets ``cdk deploy`` uploads).
- :class:`Function`: one ``AWS::Lambda::Function`` of the templates: its asset folder, handler, layers
  and environment (CloudFormation intrinsics resolved by :class:`Resolver` as a deployment would).
- :class:`LambdaProcess`: a subprocess whose ``sys.path`` is the asset + its layers + the runtime's
  boto3 (``python -S``: no site-packages), answering one JSON event per line.
- :func:`deploy_to_moto`: the stateful resources of the templates (tables, buckets, state machine,
  usage plans, Glue database) created in the moto server.
- :func:`rest_event`: an API Gateway REST proxy event as the synthesized resource/method sends it.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
REGION = "us-east-1"
STAGE = "dev"
RUNNER = Path(__file__).with_name("lambda_runner.py")
PSEUDO = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "stack",
    "AWS::NoValue": None,
}


# --------------------------------------------------------------------------- synthesis


@dataclass
class Synth:
    outdir: Path
    templates: dict[str, dict[str, Any]]  # stack name -> template

    def resources(self, cfn_type: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """``(stack, logical id, resource)`` of every resource of ``cfn_type``."""
        for stack, template in self.templates.items():
            for logical_id, resource in template.get("Resources", {}).items():
                if resource["Type"] == cfn_type:
                    yield stack, logical_id, resource


def synthesize(outdir: Path) -> Synth:
    """Synthesize every stack of the dev stage into ``outdir`` with bundling (cdk-nag on)."""
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    import aws_cdk as cdk

    from infra.config import StageConfig
    from infra.pitwall_app import build_app

    context = {"@aws-cdk/core:defaultCrossStackReferences": "strong", "aws:cdk:enable-asset-metadata": True}
    app = cdk.App(outdir=str(outdir), context=context)
    stacks = build_app(app, StageConfig(stage=STAGE))
    assembly = app.synth()
    templates = {s.stack_name: assembly.get_stack_by_name(s.stack_name).template for s in stacks.all()}
    return Synth(outdir=outdir, templates=templates)


# --------------------------------------------------------------------------- intrinsics


class Resolver:
    """CloudFormation intrinsics -> the values a deployment in ``ACCOUNT``/``REGION`` would give."""

    def __init__(self, synth: Synth) -> None:
        self.synth = synth
        self.exports: dict[str, tuple[str, Any]] = {}
        for stack, template in synth.templates.items():
            for output in template.get("Outputs", {}).values():
                name = output.get("Export", {}).get("Name")
                if name:
                    self.exports[name] = (stack, output["Value"])

    def __call__(self, value: Any, stack: str) -> Any:
        if isinstance(value, list):
            return [self(v, stack) for v in value]
        if not isinstance(value, dict):
            return value
        if "Ref" in value:
            return self.ref(value["Ref"], stack)
        if "Fn::GetAtt" in value:
            logical, attribute = value["Fn::GetAtt"]
            return self.get_att(logical, attribute, stack)
        if "Fn::Join" in value:
            delimiter, items = value["Fn::Join"]
            return delimiter.join(str(self(i, stack)) for i in self(items, stack))
        if "Fn::Select" in value:
            index, items = value["Fn::Select"]
            return self(items, stack)[int(self(index, stack))]
        if "Fn::Split" in value:
            delimiter, text = value["Fn::Split"]
            return str(self(text, stack)).split(delimiter)
        if "Fn::ImportValue" in value:
            export_stack, exported = self.exports[self(value["Fn::ImportValue"], stack)]
            return self(exported, export_stack)
        if "Fn::Sub" in value:
            text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
            out = text
            while "${" in out:
                start = out.index("${")
                end = out.index("}", start)
                name = out[start + 2 : end]
                out = out[:start] + str(self.ref(name.split(".")[0], stack)) + out[end + 1 :]
            return out
        if "Fn::If" in value or "Fn::Equals" in value:
            raise NotImplementedError(f"conditions are not used by Pitwall's templates: {value}")
        return {k: self(v, stack) for k, v in value.items()}

    def ref(self, name: str, stack: str) -> Any:
        if name in PSEUDO:
            return PSEUDO[name]
        template = self.synth.templates[stack]
        if name in template.get("Parameters", {}):
            return f"param:{template['Parameters'][name].get('Default', name)}"
        resource = template["Resources"][name]
        props = resource.get("Properties", {})
        kind = resource["Type"]
        named = {
            "AWS::DynamoDB::Table": "TableName",
            "AWS::S3::Bucket": "BucketName",
            "AWS::Lambda::Function": "FunctionName",
            "AWS::Events::EventBus": "Name",
        }
        if kind in named and named[kind] in props:
            return self(props[named[kind]], stack)
        if kind == "AWS::StepFunctions::StateMachine":
            return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{self(props['StateMachineName'], stack)}"
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"
        return name

    def get_att(self, logical: str, attribute: str, stack: str) -> Any:
        resource = self.synth.templates[stack]["Resources"][logical]
        kind, props = resource["Type"], resource.get("Properties", {})
        if attribute == "Arn":
            service = {
                "AWS::IAM::Role": ("iam", f":role/{logical}"),
                "AWS::Lambda::Function": ("lambda", f":function:{self.ref(logical, stack)}"),
                "AWS::SQS::Queue": ("sqs", f":{logical}"),
                "AWS::S3::Bucket": ("s3", f":::{self.ref(logical, stack)}"),
                "AWS::DynamoDB::Table": ("dynamodb", f":table/{self.ref(logical, stack)}"),
                "AWS::ECR::Repository": ("ecr", f":repository/{self(props.get('RepositoryName', logical), stack)}"),
                "AWS::StepFunctions::StateMachine": ("states", None),
            }.get(kind, ("unknown", f":{logical}"))
            if kind == "AWS::StepFunctions::StateMachine":
                return self.ref(logical, stack)
            if kind in ("AWS::IAM::Role", "AWS::S3::Bucket"):
                return f"arn:aws:{service[0]}:{'' if kind == 'AWS::S3::Bucket' else ':' + ACCOUNT}{service[1]}"
            return f"arn:aws:{service[0]}:{REGION}:{ACCOUNT}{service[1]}"
        if kind == "AWS::ApiGateway::RestApi" and attribute == "RootResourceId":
            return f"{logical}-root"
        return f"{logical}.{attribute}"


# --------------------------------------------------------------------------- functions


@dataclass
class Function:
    stack: str
    logical_id: str
    props: dict[str, Any]
    asset_dir: Path
    environment: dict[str, str]
    layers: list[str]  # resolved layer references
    image: bool

    @property
    def handler(self) -> str:
        if self.image:
            return self.props["ImageConfig"]["Command"][0]
        return self.props["Handler"]

    @property
    def name(self) -> str:
        return f"{self.stack}/{self.logical_id}"


def functions(synth: Synth) -> list[Function]:
    """Every Lambda function of the templates, with its asset folder and resolved environment."""
    resolve = Resolver(synth)
    found = []
    for stack, logical_id, resource in synth.resources("AWS::Lambda::Function"):
        path = resource.get("Metadata", {}).get("aws:asset:path")
        props = resource["Properties"]
        image = props.get("PackageType") == "Image"
        if path is None and not image:
            continue  # CDK's own inline providers (bucket auto-delete, log retention): not Pitwall code
        # an image pushed by hand (useImageAsset=false) is built from the repository root's Dockerfiles
        asset_dir = synth.outdir / path if path is not None else REPO_ROOT
        env = resolve(props.get("Environment", {}).get("Variables", {}), stack)
        found.append(
            Function(
                stack=stack,
                logical_id=logical_id,
                props=props,
                asset_dir=asset_dir,
                environment={k: str(v) for k, v in env.items()},
                layers=[str(resolve(layer, stack)) for layer in props.get("Layers", [])],
                image=image,
            )
        )
    return found


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def install_distributions(target: Path, distributions: tuple[str, ...]) -> Path:
    """Copy the installed files of ``distributions`` (from this venv: Linux x86_64 CPython 3.11, the
    Lambda runtime's platform) into ``target``, as a layer's ``python/`` folder holds them."""
    for name in distributions:
        for file in md.distribution(name).files or []:
            source = Path(file.locate())
            if ".." in file.parts or "__pycache__" in file.parts or not source.is_file():
                continue
            destination = target / file
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
    return target


@dataclass
class Layers:
    """Folders standing in for the Lambda runtime's packages and the public layers the stacks use."""

    runtime: Path
    powertools: Path

    def for_function(self, function: Function) -> list[Path]:
        from infra.python_lambda import POWERTOOLS_LAYER_PARAMETER

        folders = []
        for layer in function.layers:
            if layer == f"param:{POWERTOOLS_LAYER_PARAMETER}":
                folders.append(self.powertools)
            else:
                raise AssertionError(f"{function.name}: unknown layer {layer}; teach the harness what it holds")
        return folders


def build_layers(root: Path) -> Layers:
    from infra.python_lambda import LAMBDA_RUNTIME_DISTRIBUTIONS, POWERTOOLS_LAYER_DISTRIBUTIONS

    return Layers(
        runtime=install_distributions(root / "runtime", LAMBDA_RUNTIME_DISTRIBUTIONS),
        powertools=install_distributions(root / "powertools" / "python", POWERTOOLS_LAYER_DISTRIBUTIONS),
    )


def image_site_packages() -> Path:
    """The container image's packages (``pip install .`` of the project: this venv holds a superset)."""
    return Path(md.distribution("pandas").locate_file(""))


# --------------------------------------------------------------------------- running a handler


@dataclass
class Invocation:
    ok: bool
    result: Any = None
    error_type: str | None = None
    error: str | None = None
    trace: str | None = None


class LambdaProcess:
    """One function's handler in a subprocess: ``sys.path`` = the given folders + the standard library."""

    def __init__(
        self,
        function: Function,
        paths: list[Path],
        environment: Mapping[str, str],
        home: Path,
        stubs: list[str] | None = None,
    ) -> None:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),  # read-only, as Lambda's home is
            "LANG": "C.UTF-8",
            "AWS_LAMBDA_FUNCTION_NAME": function.logical_id,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.props.get("MemorySize", 128)),
            "LAMBDA_TASK_ROOT": str(function.asset_dir),
            **function.environment,
            **environment,
        }
        command = [sys.executable, "-S", "-B", str(RUNNER), function.handler, *(str(p) for p in paths)]
        if stubs:
            env["PITWALL_HARNESS_STUBS"] = json.dumps(stubs)
        self.function = function
        self.log_path = home.parent / f"{function.logical_id}.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            command,
            cwd=str(function.asset_dir),
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        ready = self._read()
        if not ready.ok:
            self.close()
            raise AssertionError(f"{function.name}: handler {function.handler} does not load: {ready.trace}")

    def _read(self) -> Invocation:
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line:
            self.proc.wait(timeout=10)
            err = self.log_path.read_text(errors="replace")
            raise AssertionError(f"{self.function.name}: the handler process died: {err[-3000:]}")
        return Invocation(**json.loads(line))

    def invoke(self, event: Any) -> Invocation:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(event) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def log_tail(self, chars: int = 4000) -> str:
        """The end of what the handler wrote (its logs, tracebacks)."""
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def close(self) -> None:
        if self.proc.poll() is None:
            if self.proc.stdin:
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self._log.close()


# --------------------------------------------------------------------------- moto


def aws_environment(endpoint: str) -> dict[str, str]:
    """What every process (the test's and the handlers') needs to reach the moto server."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }


@dataclass
class Deployed:
    tables: list[str] = field(default_factory=list)
    buckets: list[str] = field(default_factory=list)
    state_machines: dict[str, str] = field(default_factory=dict)  # name -> arn
    usage_plans: dict[str, str] = field(default_factory=dict)  # name -> id
    rest_api_id: str = ""


def deploy_to_moto(synth: Synth, session: Any) -> Deployed:
    """Create the templates' tables, buckets, state machine, Glue database, REST API and usage plans."""
    resolve = Resolver(synth)
    out = Deployed()
    dynamodb = session.client("dynamodb")
    for stack, _, resource in synth.resources("AWS::DynamoDB::Table"):
        p = resolve(resource["Properties"], stack)
        kwargs: dict[str, Any] = {
            "TableName": p["TableName"],
            "KeySchema": p["KeySchema"],
            "AttributeDefinitions": p["AttributeDefinitions"],
            "BillingMode": "PAY_PER_REQUEST",
        }
        if p.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = [
                {k: v for k, v in index.items() if k in ("IndexName", "KeySchema", "Projection")}
                for index in p["GlobalSecondaryIndexes"]
            ]
        dynamodb.create_table(**kwargs)
        out.tables.append(p["TableName"])
    s3 = session.client("s3")
    for stack, _, resource in synth.resources("AWS::S3::Bucket"):
        name = resolve(resource["Properties"].get("BucketName"), stack)
        if name:
            s3.create_bucket(Bucket=name)
            out.buckets.append(name)
    iam = session.client("iam")
    role = iam.create_role(RoleName="harness", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    sfn = session.client("stepfunctions")
    for stack, _, resource in synth.resources("AWS::StepFunctions::StateMachine"):
        p = resource["Properties"]
        name = resolve(p["StateMachineName"], stack)
        definition = resolve(p["DefinitionString"], stack)
        arn = sfn.create_state_machine(name=name, definition=definition, roleArn=role)["stateMachineArn"]
        out.state_machines[name] = arn
    glue = session.client("glue")
    for stack, _, resource in synth.resources("AWS::Glue::Database"):
        glue.create_database(DatabaseInput={"Name": resolve(resource["Properties"]["DatabaseInput"]["Name"], stack)})
    apigw = session.client("apigateway")
    for stack, _, resource in synth.resources("AWS::ApiGateway::RestApi"):
        out.rest_api_id = apigw.create_rest_api(name=resolve(resource["Properties"]["Name"], stack))["id"]
    for stack, _, resource in synth.resources("AWS::ApiGateway::UsagePlan"):
        name = resolve(resource["Properties"]["UsagePlanName"], stack)
        plan = apigw.create_usage_plan(name=name, apiStages=[{"apiId": out.rest_api_id, "stage": STAGE}])
        out.usage_plans[name] = plan["id"]
    return out


# --------------------------------------------------------------------------- API Gateway


@dataclass(frozen=True)
class ApiMethod:
    path: str  # the resource path, e.g. /api/v1/predict/{model}
    method: str
    api_key_required: bool
    proxy_to: str  # the logical id of the function the AWS_PROXY integration invokes


def api_methods(synth: Synth) -> dict[tuple[str, str], ApiMethod]:
    """(resource path, method) -> the synthesized method of the REST API."""
    methods: dict[tuple[str, str], ApiMethod] = {}
    for stack, template in synth.templates.items():
        resources = {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::ApiGateway::Resource"}
        paths: dict[str, str] = {}

        def path_of(logical: str, resources: dict[str, Any] = resources, paths: dict[str, str] = paths) -> str:
            if logical not in paths:
                props = resources[logical]["Properties"]
                parent = props["ParentId"]
                base = "" if "Fn::GetAtt" in parent else path_of(parent["Ref"])
                paths[logical] = f"{base}/{props['PathPart']}"
            return paths[logical]

        for resource in template["Resources"].values():
            if resource["Type"] != "AWS::ApiGateway::Method":
                continue
            props = resource["Properties"]
            ref = props["ResourceId"]
            path = "/" if "Fn::GetAtt" in ref else path_of(ref["Ref"])
            uri = json.dumps(props.get("Integration", {}).get("Uri", {}))
            target = next((k for k in template["Resources"] if f'"{k}"' in uri), "")
            assert props["Integration"]["Type"] == "AWS_PROXY", (stack, path)
            methods[(path, props["HttpMethod"])] = ApiMethod(
                path, props["HttpMethod"], bool(props.get("ApiKeyRequired")), target
            )
    return methods


def rest_event(
    method: ApiMethod,
    path_params: Mapping[str, str],
    *,
    api_id: str,
    api_key: str | None = None,
    api_key_id: str | None = None,
    body: Any = None,
    query: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The Lambda proxy event API Gateway (REST, stage ``STAGE``) sends for one request."""
    path = method.path
    for name, value in path_params.items():
        path = path.replace("{" + name + "}", value)
    headers = {"accept": "application/json", "host": f"{api_id}.execute-api.{REGION}.amazonaws.com"}
    if body is not None:
        headers["content-type"] = "application/json"
    if api_key is not None:
        headers["x-api-key"] = api_key
    now = time.time()
    return {
        "resource": method.path,
        "path": path,
        "httpMethod": method.method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": dict(path_params) or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "r" + uuid.uuid4().hex[:6],
            "resourcePath": method.path,
            "httpMethod": method.method,
            "extendedRequestId": uuid.uuid4().hex[:16],
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "path": f"/{STAGE}{path}",
            "accountId": ACCOUNT,
            "protocol": "HTTP/1.1",
            "stage": STAGE,
            "domainPrefix": api_id,
            "requestTimeEpoch": int(now * 1000),
            "requestId": str(uuid.uuid4()),
            "identity": {
                "apiKey": api_key,
                "apiKeyId": api_key_id,
                "sourceIp": "127.0.0.1",
                "userAgent": "pitwall-deployed-harness",
            },
            "domainName": f"{api_id}.execute-api.{REGION}.amazonaws.com",
            "apiId": api_id,
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


def response_of(invocation: Invocation) -> tuple[int, Any]:
    """(status, parsed JSON body) of an API handler's proxy response."""
    assert invocation.ok, f"{invocation.error_type}: {invocation.error}\n{invocation.trace}"
    result = invocation.result
    body = result.get("body")
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = body
    return int(result["statusCode"]), parsed
