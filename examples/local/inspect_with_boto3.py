"""What a running `snail-images serve --ready-file READY` stored, read with boto3.

Usage: python examples/local/inspect_with_boto3.py READY PATH
Prints each original under images/raw/ with its size, then the catalog rows of the repository
path PATH, one per line. moto does not check credentials.
"""

import json
import sys

import boto3

ready, path = sys.argv[1], sys.argv[2]
with open(ready, encoding="utf-8") as f:
    info = json.load(f)
local = "local"  # any credentials will do
kw = dict(endpoint_url=info["aws_endpoint_url"], region_name=info["region"],
          aws_access_key_id=local, aws_secret_access_key=local)
s3, ddb = boto3.client("s3", **kw), boto3.client("dynamodb", **kw)
for obj in s3.list_objects_v2(Bucket=info["bucket"], Prefix="images/raw/").get("Contents", []):
    print(obj["Key"], obj["Size"])
rows = ddb.query(TableName=info["table"], IndexName="RegisteredFile-Status-index",
                 KeyConditionExpression="RegisteredFile = :p", ExpressionAttributeValues={":p": {"S": path}})
for item in rows["Items"]:
    print(item["ImageType"]["S"], item["Status"]["S"], item["StoredKey"]["S"])
