"""The API's Deployment is named after the API's definition (cloudformation/api_deployment.py), so
that a stack update which changes the API creates a new deployment, and the stage serves it.
CloudFormation's rule (documented): a Deployment is a snapshot taken when the resource is created;
a new logical id is a new resource."""

from __future__ import annotations

import copy
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

from snail_action.cfn_template import load_template

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "cloudformation" / "api_deployment.py"
_spec = importlib.util.spec_from_file_location("api_deployment", SCRIPT)
api_deployment = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(api_deployment)

TEMPLATE = load_template()


def _refs(node, out: set[str]) -> set[str]:
    """Names a definition refers to: Ref, GetAtt, ${X} and ${X.Attr} in Sub, and If's condition."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref":
                out.add(value)
            elif key == "Fn::GetAtt":
                out.add(value[0])
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                out.update(m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text))
                _refs(value, out)
            elif key == "Fn::If":
                out.add(f"condition:{value[0]}")
                _refs(value[1:], out)
            else:
                _refs(value, out)
    elif isinstance(node, list):
        for item in node:
            _refs(item, out)
    return out


def test_the_parameters_the_api_depends_on_are_exactly_those_the_id_covers() -> None:
    params, resources = TEMPLATE["Parameters"], TEMPLATE["Resources"]
    api = {n: r for n, r in resources.items() if r["Type"].startswith("AWS::ApiGateway::")
           and r["Type"] not in ("AWS::ApiGateway::Stage", "AWS::ApiGateway::ApiKey", "AWS::ApiGateway::UsagePlan",
                                 "AWS::ApiGateway::UsagePlanKey")}
    found: set[str] = set()
    names = _refs(api, set())
    for name in names:
        if name.startswith("condition:"):
            found |= {p for p in _refs(TEMPLATE["Conditions"][name.split(":", 1)[1]], set()) if p in params}
        elif name in params:
            found.add(name)
        elif resources.get(name, {}).get("Type") == "AWS::Lambda::Function":
            # the integration's URI holds the function's ARN, which its name decides
            found |= {p for p in _refs(resources[name]["Properties"]["FunctionName"], set()) if p in params}
    assert found == set(api_deployment.API_PARAMETERS)


def test_a_change_to_the_api_or_its_parameters_is_a_new_deployment_and_nothing_else_is() -> None:
    base = api_deployment.deployment_id(TEMPLATE, {})
    assert re.fullmatch(r"ApiDeployment[0-9a-f]{12}", base)
    assert api_deployment.deployment_id(copy.deepcopy(TEMPLATE), {}) == base  # deterministic

    method = copy.deepcopy(TEMPLATE)
    method["Resources"]["PutImageMethod"]["Properties"]["Integration"]["TimeoutInMillis"] = 10000
    response = copy.deepcopy(TEMPLATE)
    response["Resources"]["Default4xxResponse"]["Properties"]["ResponseTemplates"]["application/json"] = "{}"
    changed = {api_deployment.deployment_id(method, {}), api_deployment.deployment_id(response, {}),
               api_deployment.deployment_id(TEMPLATE, {"AuthMode": "IAM"}),
               api_deployment.deployment_id(TEMPLATE, {"InsertFunctionName": "other"})}
    assert base not in changed and len(changed) == 4

    function = copy.deepcopy(TEMPLATE)
    function["Resources"]["InsertFunction"]["Properties"]["MemorySize"] = 2048
    assert api_deployment.deployment_id(function, {"VariantSizes": "sg=1,md=2,lg=3"}) == base


def test_the_built_template_names_the_deployment_and_the_stage_serves_it(tmp_path) -> None:
    out = tmp_path / "build" / "template.yaml"
    done = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), "--param", "AuthMode=BOTH"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    built = load_template(out)
    new_id = api_deployment.deployment_id(TEMPLATE, {"AuthMode": "BOTH"})
    assert new_id in done.stdout
    assert "ApiDeployment" not in built["Resources"] and new_id in built["Resources"]
    assert built["Resources"][new_id] == TEMPLATE["Resources"]["ApiDeployment"]
    assert built["Resources"]["ApiStage"]["Properties"]["DeploymentId"] == {"Ref": new_id}
    # Apart from the name, the template is the source's (comments and all).
    source = (ROOT / "cloudformation" / "template.yaml").read_text(encoding="utf-8")
    assert out.read_text(encoding="utf-8") == source.replace("ApiDeployment", new_id)


def test_the_functions_log_json_lines() -> None:
    for name, res in TEMPLATE["Resources"].items():
        if res["Type"] == "AWS::Lambda::Function":
            assert res["Properties"]["LoggingConfig"]["LogFormat"] == "JSON", name
