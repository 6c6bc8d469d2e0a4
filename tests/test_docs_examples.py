"""The code samples the docs show are files under examples/, and each one does what the docs say:
the local ones run against the embedded backend, the deploy ones against the Makefile, the template and
moto's AWS APIs."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from helpers import image_bytes
from snail_action.cfn_template import load_template
from snail_action.embedded.server import EmbeddedBackend
from test_template_static import Stack, statements

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
# The venv's own bin first: `snail-images` is the project's console script, as after `make`.
PATH = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def run(*args: str | Path, env: dict[str, str] | None = None, **kw: Any) -> subprocess.CompletedProcess:
    """Run with the test's environment (no AWS settings of the user's), `env` on top."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120, check=False,
                          env={**base, "PATH": PATH, **(env or {})}, **kw)


def needs(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t, path=PATH) is None]
    if missing:
        pytest.skip(f"the example needs {', '.join(missing)} on PATH")


# ------------------------------------------------------------------ examples/local: against `serve`
@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The embedded backend and its ready file, as `snail-images serve --ready-file` writes it."""
    ready = tmp_path_factory.mktemp("serve") / "snail.json"
    with EmbeddedBackend() as eb:
        ready.write_text(json.dumps(eb.ready_info()))
        yield eb, ready


def test_the_sync_example_sends_a_repository_into_serve(served, git_repo):
    needs("sh", "jq")
    eb, ready = served
    png, jpeg = image_bytes("PNG", (40, 30), seed=11), image_bytes("JPEG", (48, 32), seed=12)
    git_repo.write("photos/sync one.png", png)
    git_repo.write("photos/sync-two.jpg", jpeg)
    git_repo.commit("two images")
    done = run("sh", EXAMPLES / "local" / "sync-into-serve.sh", ready, git_repo.path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert eb.api_key not in done.stdout + done.stderr
    for path, data in (("photos/sync one.png", png), ("photos/sync-two.jpg", jpeg)):
        rows = eb.dynamodb.query(TableName=eb.table, IndexName="RegisteredFile-Status-index",
                                 KeyConditionExpression="RegisteredFile = :p",
                                 ExpressionAttributeValues={":p": {"S": path}})["Items"]
        assert {(r["ImageType"]["S"], r["Status"]["S"]) for r in rows} == {
            (t, "completed") for t in ("raw", "sg", "md", "lg")}, path
        assert {r["ContentHash"]["S"] for r in rows} == {hashlib.sha256(data).hexdigest()}


def test_the_curl_example_stores_reads_and_lists_an_image(served, tmp_path):
    needs("sh", "jq", "curl", "sha256sum")
    eb, ready = served
    image = tmp_path / "curl-cat.png"
    image.write_bytes(image_bytes("PNG", (50, 40), seed=21))
    digest = hashlib.sha256(image.read_bytes()).hexdigest()
    done = run("sh", EXAMPLES / "local" / "http-api-with-curl.sh", ready, image)
    assert done.returncode == 0, done.stdout + done.stderr
    put, got, listing = (json.loads(line) for line in done.stdout.splitlines())
    assert (put["registered_file"], put["status"], put["hash"]) == ("curl-cat.png", "completed", digest)
    assert (got["registered_file"], got["status"], got["hash"]) == ("curl-cat.png", "completed", digest)
    assert got["images"]["raw"] == put["images"]["raw"]
    assert {"registered_file": "curl-cat.png", "hash": digest, "status": "completed"} in [
        {k: f[k] for k in ("registered_file", "hash", "status")} for f in listing["files"]]
    stored = eb.s3.get_object(Bucket=eb.bucket, Key=put["images"]["raw"]["key"])["Body"].read()
    assert stored == image.read_bytes()


@pytest.mark.slow
def test_the_boto3_example_prints_the_originals_and_the_catalog_rows(served):
    eb, ready = served
    png = image_bytes("PNG", (36, 36), seed=31)
    r = requests.put(f"{eb.api_url}/images/boto3/cat.png", data=png, timeout=30, headers={
        "x-api-key": eb.api_key, "Content-Type": "image/png", "filename": "boto3/cat.png",
        "x-content-sha256": hashlib.sha256(png).hexdigest()})
    assert r.status_code == 200, r.text
    images = r.json()["images"]
    done = run(sys.executable, EXAMPLES / "local" / "inspect_with_boto3.py", ready, "boto3/cat.png")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    raw = eb.s3.list_objects_v2(Bucket=eb.bucket, Prefix="images/raw/")["Contents"]
    assert lines[:len(raw)] == [f"{o['Key']} {o['Size']}" for o in raw]
    assert f"{images['raw']['key']} {len(png)}" in lines[:len(raw)]
    assert sorted(lines[len(raw):]) == sorted(f"{t} completed {images[t]['key']}" for t in ("raw", "sg", "md", "lg"))


# ------------------------------------------------------------------ examples/deploy
def test_the_deploy_example_runs_make_deploy_with_both_auth_modes_for_the_repository():
    needs("sh", "make")
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env |= {"MAKE": "make -n --no-print-directory", "PATH": PATH}
    done = subprocess.run(["sh", str(EXAMPLES / "deploy" / "deploy.sh"), "my-artifacts", "eu-west-1", "my-org",
                           "my-images"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    flat = done.stdout.replace("\\\n", " ")
    assert "build_layer.py" in flat and "cloudformation package" in flat  # the layer and the upload first
    (deploy_cmd,) = [c for c in flat.splitlines() if "cloudformation deploy" in c]
    words = shlex.split(deploy_cmd)
    assert words[words.index("--region") + 1] == "eu-west-1"
    assert words[words.index("--stack-name") + 1] == "snail-images"
    assert words[words.index("--parameter-overrides") + 1:] == ["AuthMode=BOTH", "GitHubOrg=my-org",
                                                                 "GitHubRepo=my-images"]


def _sub(value: Any, names: dict[str, str]) -> Any:
    """Fn::Sub with the given names, for the strings of an already condition-resolved document."""
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        return re.sub(r"\$\{([^}]+)\}", lambda m: names[m.group(1)], value["Fn::Sub"])
    if isinstance(value, dict):
        return {k: _sub(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_sub(v, names) for v in value]
    return value


@pytest.mark.parametrize(("example", "ids"), [
    ("trust-policy.json", {}),
    ("trust-policy-immutable-subject.json", {"GitHubOwnerId": "583231", "GitHubRepositoryId": "1296269"}),
])
def test_the_trust_policy_examples_are_what_the_template_makes(example, ids):
    stack = Stack(AuthMode="BOTH", GitHubOrg="my-org", GitHubRepo="my-images",
                  CreateGitHubOidcProvider="false", **ids)
    document = stack.props("GitHubInvokeRole")["AssumeRolePolicyDocument"]
    names = {**stack.params, "AWS::Partition": "aws", "AWS::AccountId": "123456789012"}
    rendered = _sub(document, names)
    rendered["Statement"] = statements(rendered)
    assert json.loads((EXAMPLES / "deploy" / example).read_text(encoding="utf-8")) == rendered


def test_the_api_key_example_runs_the_command_the_stack_outputs():
    script = (EXAMPLES / "deploy" / "store-api-key.sh").read_text(encoding="utf-8")
    (line,) = [ln for ln in script.splitlines() if ln.startswith("aws apigateway get-api-key")]
    output = load_template()["Outputs"]["ApiKeyValueCommand"]["Value"]["Fn::Sub"]
    expected = output.replace("${ApiKey}", '"$key_id"').replace("${AWS::Region}", '"$region"')
    assert line.rstrip(" |") == expected


@pytest.mark.slow
def test_the_api_key_example_puts_the_key_into_the_secret_without_showing_it(tmp_path):
    """Against moto's CloudFormation and API Gateway over HTTP, with the real AWS CLI; only `gh` is a
    stand-in, which keeps what it reads on stdin."""
    needs("sh", "aws")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        kw = dict(endpoint_url=endpoint, region_name="eu-west-1", aws_access_key_id="testing",
                  aws_secret_access_key="testing")  # noqa: S106 - moto's placeholder
        key = boto3.client("apigateway", **kw).create_api_key(name="snail", enabled=True)
        boto3.client("cloudformation", **kw).create_stack(StackName="pics", TemplateBody=json.dumps({
            "Resources": {"Nothing": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {"ApiKeyId": {"Value": key["id"]}}}))
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        gh = bin_dir / "gh"
        gh.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" > {tmp_path}/gh-args\ncat > {tmp_path}/gh-stdin\n')
        gh.chmod(0o755)
        env = {"PATH": os.pathsep.join([str(bin_dir), PATH]), "AWS_ENDPOINT_URL": endpoint,
               "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
        done = run("sh", EXAMPLES / "deploy" / "store-api-key.sh", "pics", "eu-west-1", "my-org/my-images",
                   env=env)
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "gh-args").read_text() == "secret set SNAIL_IMAGES_API_KEY --repo my-org/my-images\n"
    assert (tmp_path / "gh-stdin").read_text().strip() == key["value"]
    assert key["value"] not in done.stdout + done.stderr
