"""`snail-images audit`: check a backend's bucket and table against the catalog invariants.

    snail-images audit --stack snail-images [--region eu-central-1] [--repair]
    snail-images audit --bucket B --table T [--region R]
    snail-images audit --endpoint-url http://127.0.0.1:PORT --bucket B --table T   (serve's ready line)

It reads with the caller's AWS credentials (a stack's outputs name the bucket and table; the
caller needs s3:ListBucket, s3:DeleteObject for --repair, dynamodb:Scan, and for --stack
cloudformation:DescribeStacks). Exit status: 0 when every invariant holds, 1 when any is broken
(after --repair: when any is left), 2 when the audit could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

# moto (the embedded backend) ignores credentials; these stand in when the caller has none.
LOCAL_CREDENTIALS = {"aws_access_key_id": "snail-local", "aws_secret_access_key": "snail-local-secret"}


class AuditError(Exception):
    pass


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stack", default=None, metavar="NAME", help="read the bucket and table from this stack's outputs")
    p.add_argument("--bucket", default=None, help="the images bucket (the stack's BucketName output)")
    p.add_argument("--table", default=None, help="the catalog table (the stack's TableName output)")
    p.add_argument("--region", default=None, help="default: AWS_REGION or AWS_DEFAULT_REGION")
    p.add_argument("--endpoint-url", default=None, metavar="URL",
                   help="S3 and DynamoDB at this URL (the embedded backend's aws_endpoint_url)")
    p.add_argument("--grace", type=float, default=None, metavar="SECONDS",
                   help="ignore what changed this recently: work in flight (default: an hour, an S3 event's "
                        "longest life)")
    p.add_argument("--at-rest", action="store_true",
                   help="nothing is in flight: report every unfinished state, however recent")
    p.add_argument("--repair", action="store_true",
                   help="fix what is safe (unused and leftover objects, collections whose collector stopped)")
    p.add_argument("--json", action="store_true", help="one JSON object: findings and repairs")


def _clients(args: argparse.Namespace) -> tuple[Any, Any, str, str]:
    from snail_backend.clients import make_client

    region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or \
        ("us-east-1" if args.endpoint_url else "")
    if not region:
        raise AuditError("no region: give --region or set AWS_REGION")
    extra: dict[str, Any] = {}
    if args.endpoint_url:
        import boto3  # noqa: PLC0415

        if boto3.session.Session().get_credentials() is None:
            extra = dict(LOCAL_CREDENTIALS)
        extra["endpoint_url"] = args.endpoint_url
    bucket, table = args.bucket, args.table
    if args.stack:
        cfn = make_client("cloudformation", region, **extra)
        outputs = {o["OutputKey"]: o["OutputValue"]
                   for o in cfn.describe_stacks(StackName=args.stack)["Stacks"][0].get("Outputs", [])}
        bucket, table = bucket or outputs.get("BucketName"), table or outputs.get("TableName")
    if not bucket or not table:
        raise AuditError("say which backend: --stack NAME, or --bucket and --table")
    return make_client("s3", region, **extra), make_client("dynamodb", region, **extra), bucket, table


def run_audit(args: argparse.Namespace, out: Any = None) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from .audit import DEFAULT_GRACE_SECONDS, REPAIRABLE, audit, repair

    out = out or sys.stdout
    try:
        s3, dynamodb, bucket, table = _clients(args)
        grace = DEFAULT_GRACE_SECONDS if args.grace is None else args.grace
        options = {"grace": grace, "at_rest": args.at_rest}
        findings = audit(s3, dynamodb, bucket, table, **options)
        repairs: list[str] = []
        left = findings
        if args.repair and any(f.kind in REPAIRABLE for f in findings):
            repairs = repair(s3, dynamodb, bucket, table, findings)
            left = audit(s3, dynamodb, bucket, table, **options)
    except AuditError as exc:
        print(f"snail-images audit: error: {exc}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as exc:
        print(f"snail-images audit: error: could not read the backend: {exc}", file=sys.stderr)
        return 2
    if args.json:
        json.dump({"bucket": bucket, "table": table, "findings": [vars(f) for f in findings],
                   "repairs": repairs, "left": [vars(f) for f in left]}, out, indent=2)
        out.write("\n")
        return 1 if left else 0
    for f in findings:
        print(f, file=out)
    for line in repairs:
        print(f"repaired: {line}", file=out)
    if args.repair:
        for f in left:
            print(f"left: {f}" + ("" if f.kind in REPAIRABLE else " (not safe to fix automatically)"), file=out)
    where = f"bucket {bucket}, table {table}"
    if not left:
        print(f"audit: every invariant holds ({where})" + (f"; {len(repairs)} repair(s)" if repairs else ""), file=out)
        return 0
    print(f"audit: {len(left)} broken invariant(s) ({where})", file=out)
    return 1
