"""Read cloudformation/template.yaml, so the embedded backend and the tests use its definitions.

CloudFormation's short-form tags (!Ref, !Sub, !GetAtt ...) become their long-form mappings.

Where the template is: in a clone (and an editable install) at cloudformation/template.yaml; in an
installed wheel, the build step in setup.py has copied it into the package as PACKAGED_NAME. The
packaged copy is looked for first: it only exists in a built package, never in the source tree.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

PACKAGED_NAME = "cloudformation-template.yaml"
PACKAGED_PATH = Path(__file__).resolve().parent / PACKAGED_NAME
SOURCE_PATH = Path(__file__).resolve().parent.parent / "cloudformation" / "template.yaml"
TEMPLATE_PATH = PACKAGED_PATH if PACKAGED_PATH.is_file() else SOURCE_PATH


class TemplateNotFound(FileNotFoundError):
    """The template is neither packaged nor beside the sources; the message says what to do."""


@cache
def _loader() -> type:
    # PyYAML comes with the `embedded` extra: imported here, so that importing this module never fails.
    import yaml

    class CfnLoader(yaml.SafeLoader):
        pass

    def construct(loader: yaml.Loader, suffix: str, node: yaml.Node) -> dict[str, Any]:
        # !Ref and !Condition have no "Fn::" prefix in their long form.
        name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if suffix == "GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            assert isinstance(node, yaml.MappingNode)  # a YAML node is a scalar, a sequence or a mapping
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    CfnLoader.add_multi_constructor("!", construct)
    return CfnLoader


def load_template(path: Path | None = None) -> dict[str, Any]:
    """The parsed template. Without a path: the packaged or the source copy, else TemplateNotFound."""
    import yaml

    target = path or TEMPLATE_PATH
    if path is None and not target.is_file():
        raise TemplateNotFound(
            f"cloudformation/template.yaml is not installed with this copy of snail-images (looked for {PACKAGED_PATH} "
            f"and {SOURCE_PATH}): install it from the repository with `pip install .` or run it from a clone")
    with open(target, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_loader())  # noqa: S506 - a SafeLoader subclass


def resources_of_type(template: dict[str, Any], type_name: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in (template.get("Resources") or {}).items() if v.get("Type") == type_name}
