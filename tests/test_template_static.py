"""cloudformation/template.yaml read as data: what each AuthMode deploys, who may do what, and that
the template agrees with the backend package it runs (handlers, environment, defaults)."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore import xform_name

from snail_action.cfn_template import load_template, resources_of_type
from snail_backend.routes import ROUTES, Route

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = load_template()
BUCKET_NAME = {"Fn::Sub": "${BucketNamePrefix}-${AWS::AccountId}-${AWS::Region}"}
BUCKET_ARN = "arn:${AWS::Partition}:s3:::${BucketNamePrefix}-${AWS::AccountId}-${AWS::Region}"
INDEX = "RegisteredFile-Status-index"
GITHUB = "token.actions.githubusercontent.com"


# ------------------------------------------------------------------ a small condition evaluator
class Stack:
    """The template as CloudFormation would see it for given parameters: conditions decided,
    Fn::If resolved, !Ref to parameters replaced by their values; other intrinsics left as written."""

    def __init__(self, **overrides: str):
        params = TEMPLATE["Parameters"]
        unknown = set(overrides) - set(params)
        assert not unknown, f"not template parameters: {unknown}"
        self.params = {name: str(p.get("Default", "")) for name, p in params.items()} | overrides
        self._conditions: dict[str, bool] = {}
        self.resources = {
            name: {**res, "Properties": self.resolve(res.get("Properties") or {})}
            for name, res in TEMPLATE["Resources"].items()
            if "Condition" not in res or self.condition(res["Condition"])
        }

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = self._truth(TEMPLATE["Conditions"][name])
        return self._conditions[name]

    def _truth(self, expr: Any) -> bool:
        (fn, args), = expr.items()
        if fn == "Condition":
            return self.condition(args)
        if fn == "Fn::Equals":
            left, right = (self.resolve(a) for a in args)
            return str(left) == str(right)
        if fn == "Fn::Not":
            return not self._truth(args[0])
        if fn == "Fn::And":
            return all(self._truth(a) for a in args)
        if fn == "Fn::Or":
            return any(self._truth(a) for a in args)
        raise AssertionError(f"unexpected condition function {fn}")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"Fn::If"}:
                name, yes, no = value["Fn::If"]
                return self.resolve(yes if self.condition(name) else no)
            if set(value) == {"Ref"} and value["Ref"] in self.params:
                return self.params[value["Ref"]]
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def of_type(self, type_name: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == type_name}

    def props(self, logical: str) -> dict[str, Any]:
        return self.resources[logical]["Properties"]


def statements(policy_doc: dict[str, Any]) -> list[dict[str, Any]]:
    found = policy_doc["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(stack: Stack, role: str) -> list[dict[str, Any]]:
    props = stack.props(role)
    assert "ManagedPolicyArns" not in props, f"{role} must not use managed policies"
    return [s for p in props.get("Policies", []) for s in statements(p["PolicyDocument"])]


def granted(stack: Stack, role: str, service: str) -> dict[str, set[str]]:
    """action -> resource patterns (Fn::Sub strings, or GetAtt/Sub of the table) for one service."""
    out: dict[str, set[str]] = {}
    for st in role_statements(stack, role):
        assert st["Effect"] == "Allow"
        for action in as_list(st["Action"]):
            if action.startswith(service + ":"):
                for res in as_list(st["Resource"]):
                    out.setdefault(action, set()).add(repr(res))
    return out


# (resource path, method) -> the function behind it: the API's one route table.
API_ROUTES = {(r.resource, r.method): r.function for r in ROUTES}
OPEN = {(r.resource, r.method) for r in ROUTES if r.open}


def execute_api_route(route: Route) -> str:
    """The route as an execute-api ARN names it after the stage: `PUT/images/*`."""
    return route.method + re.sub(r"\{[^}]*\}", "*", route.resource)
FUNCTIONS = {
    "InsertFunction": ("snail_backend.handlers.insert_handler", "ImageInsertProcess"),
    "DeleteFunction": ("snail_backend.handlers.delete_handler", "ImageDeleteProcess"),
    "IncomingFunction": ("snail_backend.handlers.s3_event_handler", "ImageIncomingProcess"),
}


# ------------------------------------------------------------------ evaluator sanity
def test_conditions_follow_auth_mode():
    assert (Stack(AuthMode="API_KEY").condition("UseApiKey"), Stack(AuthMode="API_KEY").condition("UseIam")) == (
        True, False)
    assert (Stack(AuthMode="IAM").condition("UseApiKey"), Stack(AuthMode="IAM").condition("UseIam")) == (False, True)
    assert (Stack(AuthMode="BOTH").condition("UseApiKey"), Stack(AuthMode="BOTH").condition("UseIam")) == (True, True)


# ------------------------------------------------------------------ storage
def test_table_is_literal_and_matches_the_catalog_contract():
    (logical, table), = resources_of_type(TEMPLATE, "AWS::DynamoDB::Table").items()
    props = table["Properties"]
    assert props["TableName"] == {"Ref": "TableName"}
    assert TEMPLATE["Parameters"]["TableName"]["Default"] == "image-metadata"
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [{"AttributeName": "ImageType", "KeyType": "HASH"},
                                  {"AttributeName": "ImageId", "KeyType": "RANGE"}]
    assert {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]} == {
        "ImageType": "S", "ImageId": "S", "RegisteredFile": "S", "Status": "S"}
    assert props["GlobalSecondaryIndexes"] == [{
        "IndexName": INDEX,
        "KeySchema": [{"AttributeName": "RegisteredFile", "KeyType": "HASH"},
                      {"AttributeName": "Status", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "ALL"}}]
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    # The embedded backend builds its table from these properties: no intrinsic but the name's !Ref.
    rest = {k: v for k, v in props.items() if k != "TableName"}
    assert not re.search(r"'(Ref|Fn::\w+|Condition)'", repr(rest))


def test_bucket_blocks_public_access_encrypts_and_expires_incoming():
    props = Stack().props("ImageBucket")
    assert props["BucketName"] == BUCKET_NAME
    assert props["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"], True)
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    (expiry,) = props["LifecycleConfiguration"]["Rules"]
    assert expiry["Status"] == "Enabled" and expiry["Prefix"] == "images/incoming/"
    assert int(expiry["ExpirationInDays"]) >= 1


def test_incoming_uploads_notify_the_s3_event_function_without_a_cycle():
    stack = Stack()
    bucket = stack.resources["ImageBucket"]
    (notify,) = bucket["Properties"]["NotificationConfiguration"]["LambdaConfigurations"]
    assert notify["Event"] == "s3:ObjectCreated:*"
    assert notify["Filter"] == {"S3Key": {"Rules": [{"Name": "prefix", "Value": "images/incoming/"}]}}
    assert notify["Function"] == {"Fn::GetAtt": ["IncomingFunction", "Arn"]}
    # S3 checks it may invoke the function when the notification is set: the permission comes first.
    permission = stack.props("IncomingInvokePermission")
    assert "IncomingInvokePermission" in as_list(bucket["DependsOn"])
    assert permission["Principal"] == "s3.amazonaws.com"
    assert permission["FunctionName"] == {"Fn::GetAtt": ["IncomingFunction", "Arn"]}
    assert permission["SourceArn"] == {"Fn::Sub": BUCKET_ARN}
    assert permission["SourceAccount"] == {"Ref": "AWS::AccountId"}


def _dependencies(stack: Stack, value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and inner in stack.resources:
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0])
            elif key == "Fn::Sub":
                text = inner if isinstance(inner, str) else inner[0]
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text)} & set(stack.resources)
                found |= _dependencies(stack, inner if isinstance(inner, list) else None)
            else:
                found |= _dependencies(stack, inner)
    elif isinstance(value, list):
        for inner in value:
            found |= _dependencies(stack, inner)
    return found


@pytest.mark.parametrize("mode", ["API_KEY", "IAM", "BOTH"])
def test_resources_form_no_dependency_cycle(mode):
    stack = Stack(AuthMode=mode, GitHubOrg="octo", GitHubRepo="images")
    graph = {name: _dependencies(stack, res.get("Properties")) | set(as_list(res.get("DependsOn", [])))
             for name, res in stack.resources.items()}
    for deps in graph.values():
        assert deps <= set(graph), f"reference to a resource that is not deployed: {deps - set(graph)}"
    done: set[str] = set()

    def visit(node: str, path: tuple[str, ...]) -> None:
        assert node not in path, "circular dependency: " + " -> ".join((*path, node))
        if node not in done:
            for dep in graph[node]:
                visit(dep, (*path, node))
            done.add(node)

    for node in graph:
        visit(node, ())


# ------------------------------------------------------------------ functions
def test_functions_run_python312_with_the_sizes_of_the_issue():
    stack = Stack()
    functions = stack.of_type("AWS::Lambda::Function")
    assert set(functions) == set(FUNCTIONS)
    for logical, (handler, default_name) in FUNCTIONS.items():
        props = functions[logical]["Properties"]
        assert props["Handler"] == handler
        assert props["FunctionName"] == default_name
        assert props["Runtime"] == "python3.12"
        assert props["Architectures"] == ["x86_64"]
        assert props["MemorySize"] == 1024
        assert props["EphemeralStorage"] == {"Size": 512}
        assert props["Layers"] == [{"Ref": "PillowLayer"}]


def test_api_functions_time_out_within_api_gateways_limit_and_the_s3_one_gets_longer():
    functions = Stack().of_type("AWS::Lambda::Function")
    assert functions["InsertFunction"]["Properties"]["Timeout"] <= 29
    assert functions["DeleteFunction"]["Properties"]["Timeout"] <= 29
    assert functions["IncomingFunction"]["Properties"]["Timeout"] > 29
    for method in Stack().of_type("AWS::ApiGateway::Method").values():
        assert method["Properties"]["Integration"]["TimeoutInMillis"] <= 29000


def test_an_existing_layer_arn_replaces_the_built_layer():
    arn = "arn:aws:lambda:ap-northeast-2:770693421928:layer:Klayers-p312-Pillow:1"
    stack = Stack(PillowLayerArn=arn)
    assert "PillowLayer" not in stack.resources
    for props in (f["Properties"] for f in stack.of_type("AWS::Lambda::Function").values()):
        assert props["Layers"] == [arn]
    layer = Stack().props("PillowLayer")
    assert layer["CompatibleRuntimes"] == ["python3.12"] and layer["CompatibleArchitectures"] == ["x86_64"]
    assert layer["Content"] == "../build/pillow-layer.zip"


def test_each_function_logs_to_its_own_group_with_retention():
    stack = Stack(LogRetentionDays="14")
    for logical, (_, default_name) in FUNCTIONS.items():
        group_ref = stack.props(logical)["LoggingConfig"]["LogGroup"]
        group = stack.props(group_ref["Ref"])
        assert group["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${" + logical + "Name}"}
        assert group["RetentionInDays"] == "14"


@pytest.mark.parametrize("logical", sorted(FUNCTIONS))
def test_every_handler_the_template_names_exists(logical):
    module_name, _, attr = FUNCTIONS[logical][0].rpartition(".")
    assert Stack().props(logical)["Handler"] == FUNCTIONS[logical][0]
    handler = getattr(importlib.import_module(module_name), attr)
    assert callable(handler)


def test_every_environment_variable_the_backend_reads_is_set_with_the_right_value():
    from snail_backend.config import ENVIRONMENT_VARIABLES

    expected = {
        "S3_BUCKET_NAME": BUCKET_NAME,
        "DYNAMODB_TABLE_NAME": {"Ref": "ImageTable"},
        "VARIANT_SIZES": {"Ref": "VariantSizes"},
        "KEY_SCHEME": {"Ref": "KeyScheme"},
        "MAX_IMAGE_PIXELS": {"Ref": "MaxImagePixels"},
        "UPLOAD_URL_EXPIRES": {"Ref": "UploadUrlExpires"},
        "DELIVERY_URL": {"Fn::If": ["UseDelivery", {"Fn::If": [
            "UseDeliveryDomain", {"Fn::Sub": "https://${DeliveryDomainName}"},
            {"Fn::Sub": "https://${DeliveryDistribution.DomainName}"}]}, ""]},
    }
    assert set(ENVIRONMENT_VARIABLES) <= set(expected), "a new variable: add it to the template and here"
    for logical, res in resources_of_type(TEMPLATE, "AWS::Lambda::Function").items():
        variables = res["Properties"]["Environment"]["Variables"]
        assert set(variables) == set(ENVIRONMENT_VARIABLES), logical
        for name in ENVIRONMENT_VARIABLES:
            assert variables[name] == expected[name], f"{logical}: {name}"


def test_parameter_defaults_are_the_backends_defaults():
    from snail_backend.config import BackendConfig

    params = {name: str(p.get("Default", "")) for name, p in TEMPLATE["Parameters"].items()}
    from_template = BackendConfig.from_environ({
        "S3_BUCKET_NAME": "b", "DYNAMODB_TABLE_NAME": params["TableName"], "VARIANT_SIZES": params["VariantSizes"],
        "KEY_SCHEME": params["KeyScheme"], "MAX_IMAGE_PIXELS": params["MaxImagePixels"],
        "UPLOAD_URL_EXPIRES": params["UploadUrlExpires"]})
    assert from_template == BackendConfig.from_environ({"S3_BUCKET_NAME": "b"})
    assert TEMPLATE["Parameters"]["KeyScheme"]["AllowedValues"] == ["hash", "timestamp"]


# ------------------------------------------------------------------ REST API
def test_binary_media_types_carry_images_intact_and_leave_json_as_text():
    types = Stack().props("Api")["BinaryMediaTypes"]
    assert "image/*" in types
    # */* or application/json would base64 the JSON body of POST /uploads too.
    assert "*/*" not in types and "application/json" not in types and "application/*" not in types


def _routes(stack: Stack) -> dict[tuple[str, str], dict[str, Any]]:
    """(resource path, method) -> the method's properties."""
    parents = {name: (stack.props(name)["ParentId"], stack.props(name)["PathPart"])
               for name in stack.of_type("AWS::ApiGateway::Resource")}

    def path_of(name: str) -> str:
        parent, part = parents[name]
        return ("" if "Fn::GetAtt" in parent else path_of(parent["Ref"])) + "/" + part

    return {(path_of(m["Properties"]["ResourceId"]["Ref"]), m["Properties"]["HttpMethod"]): m["Properties"]
            for m in stack.of_type("AWS::ApiGateway::Method").values()}


def test_routes_are_lambda_proxy_integrations_to_the_right_function():
    stack = Stack()
    paths = {name: (stack.props(name)["ParentId"], stack.props(name)["PathPart"])
             for name in stack.of_type("AWS::ApiGateway::Resource")}
    assert paths == {"ImagesResource": ({"Fn::GetAtt": ["Api", "RootResourceId"]}, "images"),
                     "ImageProxyResource": ({"Ref": "ImagesResource"}, "{proxy+}"),
                     "UploadsResource": ({"Fn::GetAtt": ["Api", "RootResourceId"]}, "uploads"),
                     "SyncResource": ({"Fn::GetAtt": ["Api", "RootResourceId"]}, "sync"),
                     "SyncRepositoryResource": ({"Ref": "SyncResource"}, "{repository}"),
                     "SyncRefResource": ({"Ref": "SyncRepositoryResource"}, "{ref}"),
                     "FilesResource": ({"Fn::GetAtt": ["Api", "RootResourceId"]}, "files"),
                     "FileProxyResource": ({"Ref": "FilesResource"}, "{proxy+}")}
    routes = _routes(stack)
    assert set(routes) == set(API_ROUTES)
    for route, function in API_ROUTES.items():
        integration = routes[route]["Integration"]
        assert integration["Type"] == "AWS_PROXY" and integration["IntegrationHttpMethod"] == "POST"
        assert "${" + function + ".Arn}/invocations" in integration["Uri"]["Fn::Sub"]


@pytest.mark.parametrize(("mode", "key", "iam"), [("API_KEY", True, False), ("IAM", False, True),
                                                  ("BOTH", True, True)])
def test_every_method_requires_what_auth_mode_says(mode, key, iam):
    stack = Stack(AuthMode=mode, GitHubOrg="octo", GitHubRepo="images")
    for route, props in _routes(stack).items():
        if route in OPEN:  # the by-path redirect: only 302s to public object URLs, or 404
            assert (props["ApiKeyRequired"], props["AuthorizationType"]) == (False, "NONE"), route
            continue
        assert props["ApiKeyRequired"] is key, route
        assert props["AuthorizationType"] == ("AWS_IAM" if iam else "NONE"), route
    for kind in ("AWS::ApiGateway::ApiKey", "AWS::ApiGateway::UsagePlan", "AWS::ApiGateway::UsagePlanKey"):
        assert bool(stack.of_type(kind)) is key, kind
    assert bool(stack.of_type("AWS::IAM::OIDCProvider")) is iam
    assert ("GitHubInvokeRole" in stack.resources) is iam


def test_api_key_belongs_to_a_usage_plan_on_the_stage_and_the_stage_is_throttled():
    stack = Stack(ThrottleRateLimit="7", ThrottleBurstLimit="9")
    plan = stack.props("UsagePlan")
    assert plan["ApiStages"] == [{"ApiId": {"Ref": "Api"}, "Stage": {"Ref": "ApiStage"}}]
    assert plan["Throttle"] == {"RateLimit": "7", "BurstLimit": "9"}
    assert stack.props("UsagePlanKey") == {"KeyId": {"Ref": "ApiKey"}, "KeyType": "API_KEY",
                                           "UsagePlanId": {"Ref": "UsagePlan"}}
    assert stack.props("ApiKey")["Enabled"] is True
    stage = stack.props("ApiStage")
    assert stage["StageName"] == "prod" and stage["DeploymentId"] == {"Ref": "ApiDeployment"}
    assert stage["MethodSettings"] == [{"ResourcePath": "/*", "HttpMethod": "*",
                                        "ThrottlingRateLimit": "7", "ThrottlingBurstLimit": "9"}]
    deployment = stack.resources["ApiDeployment"]
    assert {f"{m}" for m in stack.of_type("AWS::ApiGateway::Method")} <= set(deployment["DependsOn"])


def test_api_gateway_may_invoke_each_function_only_on_its_routes():
    stack = Stack()
    arns = {(p["FunctionName"]["Fn::GetAtt"][0], p["SourceArn"]["Fn::Sub"])
            for p in (r["Properties"] for r in stack.of_type("AWS::Lambda::Permission").values())
            if p["Principal"] == "apigateway.amazonaws.com"}
    prefix = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/${StageName}/"
    assert arns == {(r.function, prefix + execute_api_route(r)) for r in ROUTES}


# ------------------------------------------------------------------ GitHub OIDC
def test_oidc_trust_pins_audience_and_the_name_based_subject():
    stack = Stack(AuthMode="IAM", GitHubOrg="octo", GitHubRepo="images", GitHubBranch="release")
    (trust,) = statements(stack.props("GitHubInvokeRole")["AssumeRolePolicyDocument"])
    assert trust["Effect"] == "Allow" and trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Principal"] == {"Federated": {"Ref": "GitHubOidcProvider"}}
    assert trust["Condition"] == {"StringEquals": {
        f"{GITHUB}:aud": "sts.amazonaws.com",
        f"{GITHUB}:sub": {"Fn::Sub": "repo:${GitHubOrg}/${GitHubRepo}:ref:refs/heads/${GitHubBranch}"}}}
    provider = stack.props("GitHubOidcProvider")
    assert provider["Url"] == f"https://{GITHUB}" and provider["ClientIdList"] == ["sts.amazonaws.com"]


def test_oidc_trust_uses_the_immutable_subject_when_ids_are_given():
    stack = Stack(AuthMode="BOTH", GitHubOrg="octo", GitHubRepo="images", GitHubOwnerId="123",
                  GitHubRepositoryId="456")
    (trust,) = statements(stack.props("GitHubInvokeRole")["AssumeRolePolicyDocument"])
    assert trust["Condition"]["StringEquals"][f"{GITHUB}:sub"] == {
        "Fn::Sub": "repo:${GitHubOrg}@${GitHubOwnerId}/${GitHubRepo}@${GitHubRepositoryId}"
                   ":ref:refs/heads/${GitHubBranch}"}


def test_an_existing_oidc_provider_is_trusted_by_its_arn():
    stack = Stack(AuthMode="IAM", GitHubOrg="o", GitHubRepo="r", CreateGitHubOidcProvider="false")
    assert not stack.of_type("AWS::IAM::OIDCProvider")
    (trust,) = statements(stack.props("GitHubInvokeRole")["AssumeRolePolicyDocument"])
    assert trust["Principal"]["Federated"] == {
        "Fn::Sub": f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:oidc-provider/{GITHUB}"}


def test_oidc_role_may_only_invoke_this_apis_routes_on_its_stage():
    stack = Stack(AuthMode="IAM", GitHubOrg="o", GitHubRepo="r")
    (st,) = role_statements(stack, "GitHubInvokeRole")
    assert st["Effect"] == "Allow" and st["Action"] == "execute-api:Invoke"
    prefix = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/${StageName}/"
    # Open routes (the by-path redirect) need no permission: the role is for the routes that check one.
    assert {r["Fn::Sub"] for r in st["Resource"]} == {prefix + execute_api_route(r) for r in ROUTES if not r.open}


def test_sigv4_modes_require_the_repository_to_trust():
    rule = TEMPLATE["Rules"]["SigV4NeedsRepository"]
    assert rule["RuleCondition"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AuthMode"}, "API_KEY"]}]}
    asserted = [a["Assert"] for a in rule["Assertions"]]
    assert {"Fn::Not": [{"Fn::Equals": [{"Ref": "GitHubOrg"}, ""]}]} in asserted
    assert {"Fn::Not": [{"Fn::Equals": [{"Ref": "GitHubRepo"}, ""]}]} in asserted


# ------------------------------------------------------------------ least privilege per function
def _objects(*prefixes: str) -> set[str]:
    return {repr({"Fn::Sub": f"{BUCKET_ARN}/images/{p}/*"}) for p in prefixes}


TABLE = {repr({"Fn::GetAtt": ["ImageTable", "Arn"]})}
BUCKET = {repr({"Fn::Sub": BUCKET_ARN})}
STORED = ("raw", "sg", "md", "lg")
# Derived from the code paths (app.py routes -> registry -> storage/catalog):
#  insert: PUT registers (put, head+delete when old content is collected), presigns into incoming/,
#          GET /images lists; delete: unregisters and collects; incoming: reads the upload, registers
#          like PUT, deletes the upload. ListBucket: a missing key is 404, not 403.
EXPECTED_S3 = {
    "InsertFunctionRole": {"s3:PutObject": _objects(*STORED, "incoming"), "s3:GetObject": _objects(*STORED),
                           "s3:DeleteObject": _objects(*STORED), "s3:ListBucket": BUCKET},
    "DeleteFunctionRole": {"s3:GetObject": _objects(*STORED), "s3:DeleteObject": _objects(*STORED),
                           "s3:ListBucket": BUCKET},
    "IncomingFunctionRole": {
        "s3:GetObject": _objects(*STORED, "incoming"), "s3:DeleteObject": _objects(*STORED, "incoming"),
        "s3:PutObject": _objects(*STORED), "s3:ListBucket": BUCKET},
}
# Every path may sweep pending collections (a Query on the table), so all three query it.
ITEMS = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"}
EXPECTED_DYNAMODB = {
    "InsertFunctionRole": ITEMS,
    "DeleteFunctionRole": ITEMS,
    "IncomingFunctionRole": ITEMS,
}


@pytest.mark.parametrize("role", sorted(EXPECTED_S3))
def test_function_roles_grant_only_the_s3_actions_each_uses_on_this_buckets_prefixes(role):
    assert granted(Stack(), role, "s3") == EXPECTED_S3[role]


@pytest.mark.parametrize("role", sorted(EXPECTED_DYNAMODB))
def test_function_roles_grant_only_catalog_actions_on_this_table_and_index(role):
    found = granted(Stack(), role, "dynamodb")
    assert set(found) == EXPECTED_DYNAMODB[role]
    for action, resources in found.items():
        assert resources == TABLE, action


@pytest.mark.parametrize("role", sorted(EXPECTED_S3))
def test_function_roles_write_logs_only_to_their_group_and_nothing_else(role):
    stack = Stack()
    services = {a.split(":")[0] for st in role_statements(stack, role) for a in as_list(st["Action"])}
    assert services == {"logs", "s3", "dynamodb"}
    assert granted(stack, role, "logs") == {
        "logs:CreateLogStream": {repr({"Fn::GetAtt": [role.replace("FunctionRole", "LogGroup"), "Arn"]})},
        "logs:PutLogEvents": {repr({"Fn::GetAtt": [role.replace("FunctionRole", "LogGroup"), "Arn"]})}}
    (trust,) = statements(stack.props(role)["AssumeRolePolicyDocument"])
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
    function = role.replace("Role", "")
    assert stack.props(function)["Role"] == {"Fn::GetAtt": [role, "Arn"]}


# What each client call needs in IAM. TransactWriteItems has no action of its own: it is authorized
# per item as PutItem/UpdateItem/DeleteItem/ConditionCheckItem.
IAM_FOR_CALL = {
    # A missing key answers 404 only with s3:ListBucket (else 403), and the backend tells them apart.
    "put_object": {"s3:PutObject"}, "get_object": {"s3:GetObject", "s3:ListBucket"},
    "head_object": {"s3:GetObject", "s3:ListBucket"}, "delete_object": {"s3:DeleteObject"},
    "delete_objects": {"s3:DeleteObject"}, "list_objects_v2": {"s3:ListBucket"},
    "get_item": {"dynamodb:GetItem"}, "put_item": {"dynamodb:PutItem"}, "update_item": {"dynamodb:UpdateItem"},
    "delete_item": {"dynamodb:DeleteItem"}, "query": {"dynamodb:Query"},
    "transact_write_items": {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"},
    "ConditionCheck": {"dynamodb:ConditionCheckItem"},
}


def _backend_calls() -> set[str]:
    session = botocore.session.get_session()
    operations = {xform_name(op) for service in ("s3", "dynamodb")
                  for op in session.get_service_model(service).operation_names}
    calls: set[str] = set()
    for path in (ROOT / "lambda" / "snail_backend").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in operations:
                calls.add(node.attr)
            if isinstance(node, ast.Constant) and node.value in operations:  # generate_presigned_url("put_object")
                calls.add(node.value)
            # Transaction items and index queries need more than their call's name says.
            if isinstance(node, ast.Constant) and node.value == "ConditionCheck":
                calls.add("ConditionCheck")
            if (isinstance(node, ast.keyword) and node.arg == "IndexName") or (
                    isinstance(node, ast.Constant) and node.value == "IndexName"):
                calls.add("IndexName")
    return calls


def test_the_roles_together_grant_every_call_the_backend_makes():
    calls = _backend_calls()
    assert calls, "no S3 or DynamoDB call found in lambda/snail_backend"
    unknown = calls - set(IAM_FOR_CALL)
    assert not unknown, f"backend calls {unknown}: map them to IAM actions here and grant them in the template"
    stack = Stack()
    allowed = set()
    for role in EXPECTED_S3:
        allowed |= set(granted(stack, role, "s3")) | set(granted(stack, role, "dynamodb"))
    needed = set().union(*(IAM_FOR_CALL[c] for c in calls - {"IndexName"}))
    assert needed <= allowed
    if "IndexName" in calls:  # the backend queries the index: some role must grant Query on it
        index = repr({"Fn::Sub": "${ImageTable.Arn}/index/" + INDEX})
        assert any(index in granted(stack, role, "dynamodb").get("dynamodb:Query", set()) for role in EXPECTED_S3)


# ------------------------------------------------------------------ outputs and docs
def test_outputs_name_the_url_key_role_bucket_and_table():
    outputs = TEMPLATE["Outputs"]
    assert outputs["ApiUrl"]["Value"] == {
        "Fn::Sub": "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${ApiStage}"}
    assert outputs["ApiKeyId"]["Value"] == {"Ref": "ApiKey"} and outputs["ApiKeyId"]["Condition"] == "UseApiKey"
    assert outputs["ApiKeyValueCommand"]["Value"]["Fn::Sub"].startswith(
        "aws apigateway get-api-key --api-key ${ApiKey} --include-value --query value --output text")
    assert outputs["GitHubRoleArn"]["Value"] == {"Fn::GetAtt": ["GitHubInvokeRole", "Arn"]}
    assert outputs["BucketName"]["Value"] == {"Ref": "ImageBucket"}
    assert outputs["TableName"]["Value"] == {"Ref": "ImageTable"}


def test_the_deploying_page_documents_every_parameter():
    text = (ROOT / "docs" / "deploying.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `(\w+)` \|", text, flags=re.MULTILINE))
    assert set(TEMPLATE["Parameters"]) <= rows
    for name, param in TEMPLATE["Parameters"].items():
        default = str(param.get("Default", ""))
        shown = f"`{default}`" if default else "(empty)"
        assert re.search(rf"^\| `{name}` \| {re.escape(shown)} \|", text, flags=re.MULTILINE), name
    # ... with the make variable that sets it.
    mk = (ROOT / "cloudformation" / "cloudformation.mk").read_text(encoding="utf-8")
    mapping = mk.split("CFN_PARAMETER_MAP :=", 1)[1].split("CFN_PARAMETERS", 1)[0]
    for variable, name in re.findall(r"([A-Z_]+):([A-Za-z]+)", mapping):
        assert re.search(rf"^\| `{name}` \| [^|]+ \| `{variable}` \|", text, flags=re.MULTILINE), name


def test_every_value_a_parameter_admits_is_one_the_backend_accepts():
    """A parameter range wider than the backend's would deploy functions that fail every request."""
    from snail_backend.config import BackendConfig

    params = TEMPLATE["Parameters"]
    for name, variable in (("MaxImagePixels", "MAX_IMAGE_PIXELS"), ("UploadUrlExpires", "UPLOAD_URL_EXPIRES")):
        for bound in ("MinValue", "MaxValue"):
            assert bound in params[name], f"{name} has no {bound}"
            BackendConfig.from_environ({"S3_BUCKET_NAME": "b", variable: str(params[name][bound])})
