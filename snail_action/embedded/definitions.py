"""What the embedded backend copies from cloudformation/template.yaml, so local and deployed cannot drift.

Read from the template: the table's keys, index and billing; the bucket's lifecycle rule; the REST
API's binary media types, stage name and gateway responses; the functions' environment. `!Ref` to
a parameter evaluates to the parameter's default; anything else that needs a real stack (other
intrinsic functions, references to resources) is refused with the place it occurs, or skipped where
the embedded backend supplies its own value (bucket and table names).
"""

from __future__ import annotations

from typing import Any

from ..cfn_template import resources_of_type


class TemplateError(RuntimeError):
    """The template lacks, or uses in a form we cannot evaluate, a definition the embedded backend copies."""


def _where(logical: str, key: str) -> str:
    return f"cloudformation/template.yaml: {logical}.{key}"


def plain(value: Any, where: str, template: dict[str, Any]) -> Any:
    """The literal value, with !Ref to a parameter replaced by its default."""
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in (template.get("Parameters") or {}):
            param = template["Parameters"][value["Ref"]]
            if "Default" not in param:
                raise TemplateError(f"{where}: parameter {value['Ref']} has no default to use locally")
            return param["Default"]
        if any(k == "Ref" or k.startswith("Fn::") or k == "Condition" for k in value):
            raise TemplateError(f"{where} uses {next(iter(value))}, which only a deployed stack can evaluate; "
                                "the embedded backend needs a literal value or a !Ref to a parameter there")
        return {k: plain(v, f"{where}.{k}", template) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v, f"{where}[{i}]", template) for i, v in enumerate(value)]
    return value


def _single(template: dict[str, Any], type_name: str) -> tuple[str, dict[str, Any]]:
    found = resources_of_type(template, type_name)
    if len(found) != 1:
        raise TemplateError(f"cloudformation/template.yaml: expected one {type_name}, found {len(found)}")
    name, resource = next(iter(found.items()))
    return name, resource.get("Properties") or {}


# -- DynamoDB -------------------------------------------------------------------------------------
# Keys create_table shares one to one with AWS::DynamoDB::Table.
_TABLE_KEYS = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "LocalSecondaryIndexes",
               "BillingMode", "ProvisionedThroughput", "StreamSpecification")


def table_kwargs(template: dict[str, Any], table_name: str) -> dict[str, Any]:
    """create_table arguments from the template's table, under a local name."""
    logical, props = _single(template, "AWS::DynamoDB::Table")
    kwargs: dict[str, Any] = {"TableName": table_name}
    for key in _TABLE_KEYS:
        if key in props:
            kwargs[key] = plain(props[key], _where(logical, key), template)
    if "SSESpecification" in props:
        sse = plain(props["SSESpecification"], _where(logical, "SSESpecification"), template)
        kwargs["SSESpecification"] = {"Enabled": bool(sse.get("SSEEnabled"))} | (
            {"SSEType": sse["SSEType"]} if "SSEType" in sse else {})
    if "KeySchema" not in kwargs or "AttributeDefinitions" not in kwargs:
        raise TemplateError(f"cloudformation/template.yaml: {logical} has no KeySchema or AttributeDefinitions")
    return kwargs


def default_table_name(template: dict[str, Any]) -> str:
    logical, props = _single(template, "AWS::DynamoDB::Table")
    try:
        name = plain(props.get("TableName"), _where(logical, "TableName"), template)
    except TemplateError:
        return "image-metadata"
    return name if isinstance(name, str) and name else "image-metadata"


def table_ttl(template: dict[str, Any]) -> dict[str, Any] | None:
    logical, props = _single(template, "AWS::DynamoDB::Table")
    spec = props.get("TimeToLiveSpecification")
    return plain(spec, _where(logical, "TimeToLiveSpecification"), template) if spec else None


# -- S3 -------------------------------------------------------------------------------------------
def bucket_lifecycle(template: dict[str, Any]) -> dict[str, Any] | None:
    """put_bucket_lifecycle_configuration's argument from the bucket's LifecycleConfiguration.

    CloudFormation spells some rule fields differently from the S3 API (Id, Prefix, ExpirationInDays);
    those are translated, and a rule with nothing we can translate is left out rather than guessed at.
    """
    logical, props = _single(template, "AWS::S3::Bucket")
    config = props.get("LifecycleConfiguration")
    if not config:
        return None
    rules = []
    for rule in plain(config, _where(logical, "LifecycleConfiguration"), template).get("Rules", []):
        out: dict[str, Any] = {"Status": rule.get("Status", "Enabled")}
        if "Id" in rule:
            out["ID"] = rule["Id"]
        prefix = rule.get("Prefix")
        if prefix is None and isinstance(rule.get("Filter"), dict):
            prefix = rule["Filter"].get("Prefix")
        out["Filter"] = {"Prefix": prefix or ""}
        actions = 0
        if "ExpirationInDays" in rule:
            out["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
            actions += 1
        abort = rule.get("AbortIncompleteMultipartUpload")
        if abort:
            out["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": int(abort["DaysAfterInitiation"])}
            actions += 1
        if actions:
            rules.append(out)
    return {"Rules": rules} if rules else None


# -- API Gateway ----------------------------------------------------------------------------------
def binary_media_types(template: dict[str, Any]) -> list[str]:
    """The REST API's binary media types (the API's patch operations write '/' as '~1')."""
    logical, props = _single(template, "AWS::ApiGateway::RestApi")
    found = plain(props.get("BinaryMediaTypes") or [], _where(logical, "BinaryMediaTypes"), template)
    return [str(t).replace("~1", "/") for t in found]


def stage_name(template: dict[str, Any]) -> str:
    stages = resources_of_type(template, "AWS::ApiGateway::Stage")
    for logical, res in stages.items():
        props = res.get("Properties") or {}
        try:
            name = plain(props.get("StageName"), _where(logical, "StageName"), template)
        except TemplateError:
            continue
        if isinstance(name, str) and name:
            return name
    return "prod"


def gateway_responses(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """ResponseType -> {StatusCode?, ResponseTemplates?, ResponseParameters?} of the API's gateway responses."""
    out: dict[str, dict[str, Any]] = {}
    for logical, res in resources_of_type(template, "AWS::ApiGateway::GatewayResponse").items():
        props = res.get("Properties") or {}
        kind = plain(props.get("ResponseType"), _where(logical, "ResponseType"), template)
        out[str(kind)] = {k: plain(props[k], _where(logical, k), template)
                          for k in ("StatusCode", "ResponseTemplates", "ResponseParameters") if k in props}
    return out


# -- Lambda ---------------------------------------------------------------------------------------
def function_environment(template: dict[str, Any]) -> dict[str, str]:
    """The functions' environment variables with parameter defaults filled in.

    Values only a stack can give (the bucket's computed name, the table's !Ref) are left out: the
    embedded backend sets those itself. Where functions disagree, the first one wins.
    """
    env: dict[str, str] = {}
    for logical, res in resources_of_type(template, "AWS::Lambda::Function").items():
        variables = ((res.get("Properties") or {}).get("Environment") or {}).get("Variables") or {}
        for name, value in variables.items():
            try:
                resolved = plain(value, _where(logical, f"Environment.Variables.{name}"), template)
            except TemplateError:
                continue
            if isinstance(resolved, str | int | float | bool) and name not in env:
                env[name] = str(resolved).lower() if isinstance(resolved, bool) else str(resolved)
    return env


def routes(template: dict[str, Any]) -> dict[str, frozenset[str]]:
    """Resource path -> HTTP methods, from the API's AWS::ApiGateway::Resource and ::Method resources."""
    resources = resources_of_type(template, "AWS::ApiGateway::Resource")
    paths: dict[str, str] = {}

    def path_of(logical: str, seen: tuple[str, ...] = ()) -> str:
        if logical in paths:
            return paths[logical]
        if logical in seen or logical not in resources:
            raise TemplateError(f"cloudformation/template.yaml: resource {logical} has no path to the API root")
        props = resources[logical].get("Properties") or {}
        parent = props.get("ParentId")
        part = str(props.get("PathPart", ""))
        if isinstance(parent, dict) and "Fn::GetAtt" in parent:  # the API's RootResourceId
            base = ""
        elif isinstance(parent, dict) and "Ref" in parent:
            base = path_of(parent["Ref"], (*seen, logical))
        else:
            raise TemplateError(f"cloudformation/template.yaml: {logical}.ParentId is neither !Ref nor !GetAtt")
        paths[logical] = f"{base}/{part}"
        return paths[logical]

    out: dict[str, set[str]] = {}
    for logical, res in resources_of_type(template, "AWS::ApiGateway::Method").items():
        props = res.get("Properties") or {}
        target = props.get("ResourceId")
        if isinstance(target, dict) and "Ref" in target:
            path = path_of(target["Ref"])
        elif isinstance(target, dict) and "Fn::GetAtt" in target:
            path = "/"
        else:
            raise TemplateError(f"cloudformation/template.yaml: {logical}.ResourceId is neither !Ref nor !GetAtt")
        method = plain(props.get("HttpMethod"), _where(logical, "HttpMethod"), template)
        out.setdefault(path, set()).add(str(method).upper())
    return {path: frozenset(methods) for path, methods in out.items()}
