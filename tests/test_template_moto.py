"""The template deployed into moto with cloudformation create_stack: the bucket, the table and its
index, the functions, their roles, log groups, permissions and the API routes exist as declared, and
the functions' environment points the backend at the resources the stack made.

moto has no CloudFormation support for a few types (API stage, key and usage plan, gateway responses,
OIDC provider, bucket policy, event invoke config, and every CloudFront type of the delivery); the
deployed copy leaves those out, and test_template_static.py and test_template_delivery.py check them
from the parsed template."""

from __future__ import annotations

import ast
import copy
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import boto3
import pytest
from moto import mock_aws
from moto.cloudformation.parsing import get_model_map

from helpers import fake_aws_environment
from snail_action.cfn_template import load_template
from snail_backend.config import ENVIRONMENT_VARIABLES, BackendConfig
from snail_backend.routes import ROUTES

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's account
CHECKED_STATICALLY = {
    "AWS::ApiGateway::Stage", "AWS::ApiGateway::ApiKey", "AWS::ApiGateway::UsagePlan",
    "AWS::ApiGateway::UsagePlanKey", "AWS::ApiGateway::GatewayResponse", "AWS::IAM::OIDCProvider",
    "AWS::S3::BucketPolicy", "AWS::Lambda::EventInvokeConfig",
    # moto's CloudFormation has no CloudFront types: test_template_delivery.py checks the distribution.
    "AWS::CloudFront::Distribution", "AWS::CloudFront::OriginAccessControl", "AWS::CloudFront::Function",
    "AWS::CloudFront::CachePolicy",
}
CUSTOM = {
    "AuthMode": "BOTH", "GitHubOrg": "octo", "GitHubRepo": "images", "GitHubBranch": "release",
    "GitHubOwnerId": "583231", "GitHubRepositoryId": "1296269", "CreateGitHubOidcProvider": "false",
    "VariantSizes": "sg=100,md=200,lg=300", "KeyScheme": "timestamp", "MaxImagePixels": "5000000",
    "UploadUrlExpires": "120", "BucketNamePrefix": "team-pics", "TableName": "catalog-test",
    "InsertFunctionName": "PicsInsert", "DeleteFunctionName": "PicsDelete", "IncomingFunctionName": "PicsIncoming",
    "LogRetentionDays": "7", "StageName": "v1", "Delivery": "false",
}


def function_zip() -> bytes:
    """The backend package as `make package` ships it: snail_backend/ at the zip's root."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in sorted((ROOT / "lambda" / "snail_backend").rglob("*.py")):
            zf.write(path, path.relative_to(ROOT / "lambda").as_posix())
    return buf.getvalue()


def _mentions(value: Any, names: set[str]) -> bool:
    text = json.dumps(value)
    return any(re.search(rf'"{n}"|\$\{{{n}[.}}]', text) for n in names)


def _without_branches_to(value: Any, dropped: set[str]) -> Any:
    """Fn::If with one branch naming a left-out resource -> the other branch. The deploys below
    choose those conditions false (no OIDC provider), so this is what CloudFormation would pick."""
    if isinstance(value, dict):
        if set(value) == {"Fn::If"}:
            _, yes, no = value["Fn::If"]
            if _mentions(yes, dropped) != _mentions(no, dropped):
                return _without_branches_to(no if _mentions(yes, dropped) else yes, dropped)
        return {k: _without_branches_to(v, dropped) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_branches_to(v, dropped) for v in value]
    return value


def deployable_copy(template: dict[str, Any], code_bucket: str) -> tuple[dict[str, Any], set[str]]:
    """The template with moto-unsupported resources left out and local code paths pointed at S3."""
    out = copy.deepcopy(template)
    supported = set(get_model_map())
    dropped = {name for name, res in out["Resources"].items() if res["Type"] not in supported}
    out["Resources"] = _without_branches_to(out["Resources"], dropped)
    dropped_types = {out["Resources"][name]["Type"] for name in dropped}
    for name in dropped:
        del out["Resources"][name]
    for res in out["Resources"].values():
        if "DependsOn" in res:
            deps = [d for d in ([res["DependsOn"]] if isinstance(res["DependsOn"], str) else res["DependsOn"])
                    if d not in dropped]
            res["DependsOn"] = deps
        assert not _mentions(res.get("Properties"), dropped), f"a deployed resource refers to one of {dropped}"
        if res["Type"] == "AWS::Lambda::Function":
            res["Properties"]["Code"] = {"S3Bucket": code_bucket, "S3Key": "function.zip"}
        if res["Type"] == "AWS::Lambda::LayerVersion":
            res["Properties"]["Content"] = {"S3Bucket": code_bucket, "S3Key": "layer.zip"}
    out["Outputs"] = {k: v for k, v in out["Outputs"].items() if not _mentions(v, dropped)}
    return out, dropped_types


def deploy(stack_name: str, params: dict[str, str]) -> dict[str, Any]:
    """Inside mock_aws: create the stack and return its description (outputs, resources)."""
    assert params.get("AuthMode", "API_KEY") == "API_KEY" or params.get("CreateGitHubOidcProvider") == "false"
    s3 = boto3.client("s3", region_name=REGION)
    code_bucket = f"artifacts-{stack_name}"
    s3.create_bucket(Bucket=code_bucket)
    s3.put_object(Bucket=code_bucket, Key="function.zip", Body=function_zip())
    s3.put_object(Bucket=code_bucket, Key="layer.zip", Body=b"PK\x05\x06" + b"\0" * 18)
    template, dropped_types = deployable_copy(load_template(), code_bucket)
    assert dropped_types <= CHECKED_STATICALLY, f"moto skips {dropped_types - CHECKED_STATICALLY}: check them too"
    cf = boto3.client("cloudformation", region_name=REGION)
    cf.create_stack(StackName=stack_name, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"],
                    Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()])
    stack = cf.describe_stacks(StackName=stack_name)["Stacks"][0]
    summaries = cf.list_stack_resources(StackName=stack_name)["StackResourceSummaries"]
    resources = {r["LogicalResourceId"]: r for r in summaries}
    return {"stack": stack, "resources": resources,
            "outputs": {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}}


def policy_document(document: Any) -> dict[str, Any]:
    """IAM returns inline policies URL-encoded; moto's CloudFormation stores them as a Python repr."""
    if isinstance(document, dict):
        return document
    text = unquote(document)
    return json.loads(text) if text.lstrip().startswith('{"') else ast.literal_eval(text)


@pytest.fixture(scope="module")
def stacks():
    """Two stacks side by side in one moto account: template defaults, and every name customised."""
    with pytest.MonkeyPatch.context() as mp:
        fake_aws_environment(mp, REGION)
        with mock_aws():
            yield {"default": deploy("snail", {}), "custom": deploy("pics", CUSTOM)}


@pytest.fixture
def default_stack(stacks):
    return stacks["default"]


@pytest.fixture
def custom_stack(stacks):
    return stacks["custom"]


def test_default_stack_reaches_create_complete_with_every_resource(default_stack):
    assert default_stack["stack"]["StackStatus"] == "CREATE_COMPLETE"
    statuses = {name: r["ResourceStatus"] for name, r in default_stack["resources"].items()}
    assert set(statuses.values()) == {"CREATE_COMPLETE"}
    assert {"ImageBucket", "ImageTable", "InsertFunction", "DeleteFunction", "IncomingFunction", "PillowLayer",
            "IncomingInvokePermission", "Api", "ApiDeployment"} <= set(statuses)


def test_bucket_and_table_exist_as_declared(default_stack):
    bucket = f"snail-images-{ACCOUNT}-{REGION}"
    assert default_stack["outputs"]["BucketName"] == bucket
    encryption = boto3.client("s3", region_name=REGION).get_bucket_encryption(Bucket=bucket)
    (rule,) = encryption["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    table = boto3.client("dynamodb", region_name=REGION).describe_table(TableName="image-metadata")["Table"]
    assert default_stack["outputs"]["TableName"] == "image-metadata"
    assert table["KeySchema"] == [{"AttributeName": "ImageType", "KeyType": "HASH"},
                                  {"AttributeName": "ImageId", "KeyType": "RANGE"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "RegisteredFile-Status-index"
    assert index["KeySchema"] == [{"AttributeName": "RegisteredFile", "KeyType": "HASH"},
                                  {"AttributeName": "Status", "KeyType": "RANGE"}]
    assert index["Projection"] == {"ProjectionType": "ALL"}


@pytest.mark.parametrize(("name", "handler", "timeout"), [
    ("ImageInsertProcess", "snail_backend.handlers.insert_handler", 28),
    ("ImageDeleteProcess", "snail_backend.handlers.delete_handler", 28),
    ("ImageIncomingProcess", "snail_backend.handlers.s3_event_handler", 300),
])
def test_functions_exist_as_declared_with_their_own_role_and_log_group(default_stack, name, handler, timeout):
    config = boto3.client("lambda", region_name=REGION).get_function_configuration(FunctionName=name)
    assert config["Handler"] == handler
    assert config["Runtime"] == "python3.12"
    assert config["Architectures"] == ["x86_64"]
    assert config["MemorySize"] == 1024
    assert config["EphemeralStorage"] == {"Size": 512}
    assert config["Timeout"] == timeout
    logical = {"ImageInsertProcess": "Insert", "ImageDeleteProcess": "Delete", "ImageIncomingProcess": "Incoming"}[name]
    role_name = default_stack["resources"][f"{logical}FunctionRole"]["PhysicalResourceId"]
    assert config["Role"] == f"arn:aws:iam::{ACCOUNT}:role/{role_name}"
    groups = boto3.client("logs", region_name=REGION).describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")
    assert [(g["logGroupName"], g["retentionInDays"]) for g in groups["logGroups"]] == [(f"/aws/lambda/{name}", 30)]


def test_s3_may_invoke_the_incoming_function_for_this_bucket_only(default_stack):
    policy = json.loads(boto3.client("lambda", region_name=REGION).get_policy(
        FunctionName="ImageIncomingProcess")["Policy"])
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Condition"]["ArnLike"]["AWS:SourceArn"] == f"arn:aws:s3:::snail-images-{ACCOUNT}-{REGION}"
    assert statement["Condition"]["StringEquals"]["AWS:SourceAccount"] == ACCOUNT


def test_every_function_gets_the_backend_settings_that_point_at_this_stack(custom_stack):
    bucket = f"team-pics-{ACCOUNT}-{REGION}"
    assert custom_stack["outputs"]["BucketName"] == bucket
    lam = boto3.client("lambda", region_name=REGION)
    for name in ("PicsInsert", "PicsDelete", "PicsIncoming"):
        variables = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
        env = {k: str(v) for k, v in variables.items()}  # moto keeps Number parameters as numbers
        assert env == {"S3_BUCKET_NAME": bucket, "DYNAMODB_TABLE_NAME": "catalog-test",
                       "VARIANT_SIZES": "sg=100,md=200,lg=300", "KEY_SCHEME": "timestamp",
                       "MAX_IMAGE_PIXELS": "5000000", "UPLOAD_URL_EXPIRES": "120", "DELIVERY_URL": ""}, name
        assert set(env) == set(ENVIRONMENT_VARIABLES)
        config = BackendConfig.from_environ(env)
        assert (config.bucket, config.table, config.key_scheme) == (bucket, "catalog-test", "timestamp")
        assert config.variant_sizes == {"sg": 100, "md": 200, "lg": 300}
        assert (config.max_image_pixels, config.upload_url_expires) == (5000000, 120)
    # ... and those names are the resources the stack made.
    boto3.client("s3", region_name=REGION).head_bucket(Bucket=bucket)
    boto3.client("dynamodb", region_name=REGION).describe_table(TableName="catalog-test")


def test_api_routes_reach_their_functions_and_need_key_and_signature_in_both_mode(custom_stack):
    api = boto3.client("apigateway", region_name=REGION)
    api_id = custom_stack["resources"]["Api"]["PhysicalResourceId"]
    routes = {}
    for resource in api.get_resources(restApiId=api_id, embed=["methods"])["items"]:
        for verb, method in resource.get("resourceMethods", {}).items():
            routes[(resource["path"], verb)] = method
    function = "arn:aws:lambda:{}:{}:function:{}".format(REGION, ACCOUNT, "{}")
    named = {"InsertFunction": "PicsInsert", "DeleteFunction": "PicsDelete"}  # the custom stack's names
    expected = {(r.resource, r.method): named[r.function] for r in ROUTES}
    assert set(routes) == set(expected)
    open_routes = {(r.resource, r.method) for r in ROUTES if r.open}  # the delivery's by-path redirect
    assert open_routes == {("/files/{proxy+}", "GET")}
    for route, target in expected.items():
        method = routes[route]
        want = ("NONE", False) if route in open_routes else ("AWS_IAM", True)
        assert (method["authorizationType"], method["apiKeyRequired"]) == want, route
        assert method["methodIntegration"]["type"] == "AWS_PROXY"
        assert function.format(target) in method["methodIntegration"]["uri"]


def test_oidc_role_trusts_the_immutable_subject_of_the_given_branch(custom_stack):
    role_name = custom_stack["resources"]["GitHubInvokeRole"]["PhysicalResourceId"]
    iam = boto3.client("iam", region_name=REGION)
    (trust,) = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {
        "Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"}
    assert trust["Condition"]["StringEquals"] == {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": "repo:octo@583231/images@1296269:ref:refs/heads/release"}
    (policy_name,) = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
    (statement,) = policy_document(document)["Statement"]
    assert statement["Action"] == "execute-api:Invoke"
    api_id = custom_stack["resources"]["Api"]["PhysicalResourceId"]
    assert all(r.startswith(f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/v1/") for r in statement["Resource"])
    assert custom_stack["outputs"]["GitHubRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/{role_name}"
