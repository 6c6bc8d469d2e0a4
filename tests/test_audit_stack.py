"""`snail-images audit --stack NAME`: the bucket and table come from the stack's outputs, read with the
caller's credentials (moto's CloudFormation, S3 and DynamoDB stand in for the account)."""

from __future__ import annotations

import io
import json

import boto3
from moto import mock_aws

from backend_support import aws_env
from snail_action.audit_cmd import run_audit
from snail_action.cli import build_parser

TEMPLATE = {
    "Resources": {
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "audit-stack-bucket"}},
        "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {
            "TableName": "audit-stack-table", "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "ImageType", "AttributeType": "S"},
                                     {"AttributeName": "ImageId", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "ImageType", "KeyType": "HASH"},
                          {"AttributeName": "ImageId", "KeyType": "RANGE"}]}},
    },
    "Outputs": {"BucketName": {"Value": {"Ref": "Bucket"}}, "TableName": {"Value": {"Ref": "Table"}}},
}


def _audit(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return run_audit(build_parser().parse_args(["audit", *argv]), out), out.getvalue()


def test_audit_of_a_stack_reads_its_outputs_and_reports_what_is_broken(monkeypatch) -> None:
    aws_env()
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    with mock_aws():
        boto3.client("cloudformation", region_name="eu-central-1").create_stack(
            StackName="pics", TemplateBody=json.dumps(TEMPLATE))
        code, text = _audit("--stack", "pics", "--at-rest")
        assert (code, text.strip()) == (0, "audit: every invariant holds (bucket audit-stack-bucket, "
                                           "table audit-stack-table)")
        boto3.client("s3", region_name="eu-central-1").put_object(Bucket="audit-stack-bucket",
                                                                  Key="images/raw/stray.png", Body=b"x")
        code, text = _audit("--stack", "pics", "--at-rest")
        assert code == 1
        assert text.splitlines() == [
            "unused_object: images/raw/stray.png: no live registration uses it",
            "audit: 1 broken invariant(s) (bucket audit-stack-bucket, table audit-stack-table)"]


def test_audit_of_a_missing_stack_fails_with_one_line(monkeypatch, capsys) -> None:
    aws_env()
    with mock_aws():
        code, _ = _audit("--stack", "nothing-here", "--region", "us-east-1")
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("snail-images audit: error: could not read the backend:") and err.count("\n") == 1
