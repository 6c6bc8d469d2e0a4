"""One build step; everything else about the package is in pyproject.toml.

`snail-images serve` and `demo` build the local bucket, table and API from cloudformation/template.yaml,
which lives outside the Python packages. A built package (wheel, `pip install .`) gets a copy of it
inside snail_action, made here at build time, so the file is not kept twice in git. An sdist carries
the original, so a wheel built from the sdist gets its copy too. Editable installs read the original.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
TEMPLATE = Path("cloudformation", "template.yaml")
PACKAGED = Path("snail_action", "cloudformation-template.yaml")  # snail_action.cfn_template.PACKAGED_NAME


class BuildPyWithTemplate(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads cloudformation/template.yaml where it is
        source = ROOT / TEMPLATE
        if not source.is_file():
            raise SystemExit(f"setup.py: {source} is missing: build snail-images from a full checkout")
        target = Path(self.build_lib) / PACKAGED
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = list(super().get_outputs(include_bytecode))
        if not getattr(self, "editable_mode", False):
            outputs.append(str(Path(self.build_lib) / PACKAGED))
        return outputs


class SdistWithTemplate(sdist):
    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        target = Path(base_dir) / TEMPLATE
        if target.exists():  # already listed (a MANIFEST.in): sdist has linked it in
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / TEMPLATE, target)


setup(cmdclass={"build_py": BuildPyWithTemplate, "sdist": SdistWithTemplate})
