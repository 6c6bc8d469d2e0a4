"""Give the API's Deployment a logical id that follows the API's definition, so a stack update publishes it.

An AWS::ApiGateway::Deployment is a snapshot of the API taken when the resource is created;
CloudFormation updates methods in place but never takes a new snapshot, so the stage goes on
serving the old methods. A new logical id is a new Deployment: CloudFormation creates it (after
the methods: it depends on them), moves the stage to it, then deletes the old one.

`make package` writes build/template.yaml: the template with `ApiDeployment` renamed
`ApiDeployment<12 hex>`, the SHA-256 of
- every API Gateway resource of the template (RestApi, Resource, Method, GatewayResponse, ...),
  as parsed, in canonical JSON, and the Deployment's own definition;
- the value of every parameter those definitions depend on (API_PARAMETERS: AuthMode decides
  the methods' authorization; a function's name decides its ARN in the integrations), as given
  to make. A parameter left unset keeps its previous value, so changing it means setting it.

Why not the AWS::Serverless transform (SAM), which does the same for an AWS::Serverless::Api:
its hash covers the definition's text only, not the values of parameters and ARNs in it, so
changing AuthMode would publish nothing either; and it would rewrite the whole template (and
the tests that read it) around SAM's resource types for this one feature.

Usage: python cloudformation/api_deployment.py --out build/template.yaml [--param AuthMode=IAM ...]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "cloudformation" / "template.yaml"
LOGICAL_ID = "ApiDeployment"
# The parameters the API's definition depends on, directly or through conditions and function ARNs
# (tests/test_template_deployment.py derives this set from the template and compares).
API_PARAMETERS = ("AuthMode", "InsertFunctionName", "DeleteFunctionName")


def _load(path: Path) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from snail_action.cfn_template import load_template  # noqa: PLC0415 -- the repository's own reader

    return load_template(path)


def deployment_id(template: dict[str, Any], parameters: dict[str, str]) -> str:
    resources = template["Resources"]
    api = {name: res for name, res in resources.items()
           if res.get("Type", "").startswith("AWS::ApiGateway::") and res["Type"] not in (
               "AWS::ApiGateway::Stage", "AWS::ApiGateway::ApiKey", "AWS::ApiGateway::UsagePlan",
               "AWS::ApiGateway::UsagePlanKey")}
    values = {p: parameters.get(p, "") for p in API_PARAMETERS}
    blob = json.dumps({"api": api, "parameters": values}, sort_keys=True, separators=(",", ":"))
    return f"{LOGICAL_ID}{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


def rewrite(text: str, new_id: str) -> str:
    """The template's text with the Deployment's logical id (its definition and references) renamed."""
    renamed, count = re.subn(rf"\b{LOGICAL_ID}\b", new_id, text)
    if count < 2:
        raise ValueError(f"the template should define {LOGICAL_ID} and refer to it; found it {count} time(s)")
    return renamed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="a parameter value given to the stack (only API_PARAMETERS count)")
    args = parser.parse_args(argv)
    params = dict(p.split("=", 1) for p in args.param if "=" in p)
    new_id = deployment_id(_load(args.template), params)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(rewrite(args.template.read_text(encoding="utf-8"), new_id), encoding="utf-8")
    print(f"api_deployment: {args.out} with the API's deployment {new_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
