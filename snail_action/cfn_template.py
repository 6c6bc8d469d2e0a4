"""Read cloudformation/template.yaml, so the embedded backend and the tests use its definitions.

CloudFormation's short-form tags (!Ref, !Sub, !GetAtt ...) become their long-form mappings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

TEMPLATE_PATH = Path(__file__).resolve().parent.parent / "cloudformation" / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    pass


def _construct(loader: yaml.Loader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    # !Ref and !Condition have no "Fn::" prefix in their long form.
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct)


def load_template(path: Path | None = None) -> dict[str, Any]:
    """The parsed template; raises FileNotFoundError naming the path when it is missing."""
    target = path or TEMPLATE_PATH
    with open(target, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass


def resources_of_type(template: dict[str, Any], type_name: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in (template.get("Resources") or {}).items() if v.get("Type") == type_name}
