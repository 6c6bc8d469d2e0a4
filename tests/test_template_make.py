"""What `make package` / `make deploy` would run (make -n prints the commands without running them;
the aws CLI itself is not exercised here). cfn-lint runs once, in `make lint`."""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from snail_action.cfn_template import load_template

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = load_template()


def make(*args: str) -> subprocess.CompletedProcess:
    # A clean environment: no inherited make flags (pytest may run under `make test`) and no
    # parameter variables from the caller's shell.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    for name in ("AUTH_MODE", "GITHUB_ORG", "GITHUB_REPO", "ARTIFACT_BUCKET", "REGION", "AWS_REGION",
                 "AWS_DEFAULT_REGION", "STACK_NAME", "TABLE_NAME", "KEY_SCHEME", "VARIANT_SIZES"):
        env.pop(name, None)
    return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60, check=False)


def _mk_variables() -> dict[str, str]:
    text = (ROOT / "cloudformation" / "cloudformation.mk").read_text(encoding="utf-8")
    block = text.split("CFN_PARAMETER_MAP :=", 1)[1].split("CFN_PARAMETERS :=", 1)[0]
    return dict(pair.split(":") for pair in re.findall(r"[A-Z_]+:[A-Za-z]+", block))


def test_every_template_parameter_has_a_make_variable():
    assert sorted(_mk_variables().values()) == sorted(TEMPLATE["Parameters"])


def test_deploy_passes_each_set_variable_as_its_parameter():
    variables = {var: f"v-{param}" for var, param in _mk_variables().items()}
    done = make("-n", "deploy", "ARTIFACT_BUCKET=art", "STACK_NAME=pics", "REGION=eu-west-1",
                *(f"{k}={v}" for k, v in variables.items()))
    assert done.returncode == 0, done.stderr
    (deploy_cmd,) = [c for c in done.stdout.replace("\\\n", " ").splitlines() if "cloudformation deploy" in c]
    words = shlex.split(deploy_cmd)
    assert words[:3] == ["aws", "cloudformation", "deploy"]
    assert ["--stack-name", "pics"] == words[words.index("--stack-name"):][:2]
    assert ["--template-file", "build/packaged.yaml"] == words[words.index("--template-file"):][:2]
    assert ["--region", "eu-west-1"] == words[words.index("--region"):][:2]
    assert "CAPABILITY_IAM" in words
    overrides = words[words.index("--parameter-overrides") + 1:]
    assert sorted(overrides) == sorted(f"{p}=v-{p}" for p in TEMPLATE["Parameters"])


def test_deploy_leaves_unset_parameters_to_the_template_defaults():
    done = make("-n", "deploy", "ARTIFACT_BUCKET=art", "AUTH_MODE=BOTH", "GITHUB_ORG=octo", "GITHUB_REPO=images")
    assert done.returncode == 0, done.stderr
    flat = done.stdout.replace("\\\n", " ")
    (deploy_cmd,) = [c for c in flat.splitlines() if "cloudformation deploy" in c]
    words = shlex.split(deploy_cmd)
    assert words[words.index("--parameter-overrides") + 1:] == ["AuthMode=BOTH", "GitHubOrg=octo", "GitHubRepo=images"]
    # AuthMode changes the methods: the packaged template's deployment is named after it, so the
    # stack update itself publishes the change (no create-deployment step), then prints the outputs
    assert "api_deployment.py --template cloudformation/template.yaml --out build/template.yaml " \
           "--param 'AuthMode=BOTH'" in flat
    assert "create-deployment" not in flat
    assert flat.index("api_deployment.py") < flat.index("cloudformation deploy") < flat.index("describe-stacks")


def test_package_uploads_code_and_layer_and_prints_the_launch_link():
    done = make("-n", "package", "ARTIFACT_BUCKET=art", "ARTIFACT_PREFIX=snail", "REGION=eu-west-1",
                "STACK_NAME=pics")
    assert done.returncode == 0, done.stderr
    flat = done.stdout.replace("\\\n", " ")
    # Builds the layer, or (when build/pillow-layer.zip is newer than its inputs) says it is ready.
    assert ("build_layer.py --out build/pillow-layer.zip" in flat) or ("layer: build/pillow-layer.zip" in flat)
    assert "cp -R lambda/snail_backend build/function/snail_backend" in flat
    (package_cmd,) = [c for c in flat.splitlines() if "cloudformation package" in c]
    assert shlex.split(package_cmd) == [
        "aws", "cloudformation", "package", "--region", "eu-west-1", "--template-file", "build/template.yaml",
        "--s3-bucket", "art", "--s3-prefix", "snail", "--output-template-file", "build/packaged.yaml"]
    assert ("https://console.aws.amazon.com/cloudformation/home?region=eu-west-1#/stacks/create/review"
            "?templateURL=https://art.s3.eu-west-1.amazonaws.com/snail/packaged.yaml&stackName=pics") in flat


def test_package_without_an_artifact_bucket_stops_first_with_what_to_set():
    done = make("package")
    assert done.returncode == 2
    assert "set ARTIFACT_BUCKET=" in done.stderr
    assert "==> layer" not in done.stdout and "==> function code" not in done.stdout


def test_template_code_paths_are_what_make_package_stages():
    functions = [r for r in TEMPLATE["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert {f["Properties"]["Code"] for f in functions} == {"../build/function"}
    (layer,) = [r for r in TEMPLATE["Resources"].values() if r["Type"] == "AWS::Lambda::LayerVersion"]
    assert layer["Properties"]["Content"] == "../build/pillow-layer.zip"
    mk = (ROOT / "cloudformation" / "cloudformation.mk").read_text(encoding="utf-8")
    assert "FUNCTION_DIR := build/function" in mk and "LAYER_ZIP := build/pillow-layer.zip" in mk


def test_the_function_zip_needs_only_what_lambda_and_the_layer_provide():
    # `make package` ships lambda/snail_backend alone: python3.12 brings the standard library, boto3
    # and botocore; the layer brings PIL and the decoders (build_layer.LAYER_PACKAGES). Anything else
    # would fail at import on Lambda.
    spec = importlib.util.spec_from_file_location("build_layer", ROOT / "cloudformation" / "build_layer.py")
    build_layer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_layer)
    layer = set(build_layer.LAYER_PACKAGES.values())
    provided = set(sys.stdlib_module_names) | {"boto3", "botocore", "snail_backend"} | layer
    needed: dict[str, str] = {}
    for path in sorted((ROOT / "lambda" / "snail_backend").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                needed.update({a.name.split(".")[0]: path.name for a in node.names})
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                needed[node.module.split(".")[0]] = path.name
    assert {"PIL", "pi_heif", "resvg_py", "defusedxml"} <= set(needed)
    assert {m: f for m, f in needed.items() if m not in provided} == {}
