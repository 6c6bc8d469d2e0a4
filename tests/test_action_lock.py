"""requirements-action.txt, the action's hash-locked runtime set, is current with pyproject.toml.

It is written by `make action-lock` (pip-compile). These tests fail when it is stale: a runtime
dependency added to, removed from or re-specified in pyproject.toml, a build requirement it no longer
satisfies, a pin without a hash, a version other than the one requirements.lock (what the tests ran
with) pins, or a dependency of a locked package that is not locked itself.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements-action.txt"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
FIX = "requirements-action.txt is stale: run `make action-lock` and commit it"


def parse_lock(text: str) -> dict[str, dict]:
    """name -> {"version", "hashes", "via"} from pip-compile's output (continuation lines joined)."""
    entries: dict[str, dict] = {}
    current: dict | None = None
    for line in text.splitlines():
        pin = re.match(r"^([A-Za-z0-9][\w.-]*)==(\S+)", line)
        if pin:
            current = {"version": pin.group(2), "hashes": [], "via": []}
            entries[canonicalize_name(pin.group(1))] = current
        elif current is not None and line.strip().startswith("--hash=sha256:"):
            current["hashes"].append(line.strip().split(":", 1)[1].rstrip(" \\"))
        elif current is not None and re.match(r"^\s+#\s+(via\s+)?\S", line):
            current["via"].append(re.sub(r"^\s+#\s+(via\s+)?", "", line).strip())
        elif line.strip() and not line.lstrip().startswith("#"):
            raise AssertionError(f"requirements-action.txt: unexpected line {line!r}")
    return entries


LOCKED = parse_lock(LOCK.read_text())
PROJECT = "snail-images-action (pyproject.toml)"
BUILD = "snail-images-action (pyproject.toml::build-system.requires)"


def test_every_pin_has_sha256_hashes():
    assert LOCKED, "no pins"
    for name, entry in LOCKED.items():
        assert entry["hashes"] and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in entry["hashes"]), name


@pytest.mark.parametrize("spec", PYPROJECT["project"]["dependencies"])
def test_each_runtime_dependency_is_locked_within_its_specifier(spec):
    req = Requirement(spec)
    entry = LOCKED.get(canonicalize_name(req.name))
    assert entry is not None, f"{req.name} is in pyproject.toml but not locked; {FIX}"
    assert req.specifier.contains(entry["version"], prereleases=True), \
        f"{req.name}=={entry['version']} vs {spec}; {FIX}"
    assert PROJECT in entry["via"], f"{req.name}: {FIX}"


def test_no_locked_package_is_a_dependency_pyproject_dropped():
    direct = {canonicalize_name(Requirement(s).name) for s in PYPROJECT["project"]["dependencies"]}
    for name, entry in LOCKED.items():
        if PROJECT in entry["via"]:
            assert name in direct, f"{name} is locked as a direct dependency but pyproject.toml no longer has it; {FIX}"


def test_the_build_requirements_are_locked():
    for spec in PYPROJECT["build-system"]["requires"]:
        req = Requirement(spec)
        entry = LOCKED.get(canonicalize_name(req.name))
        assert entry is not None and req.specifier.contains(entry["version"]), f"{spec}: {FIX}"
        assert BUILD in entry["via"]


def test_versions_agree_with_requirements_lock():
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pins[canonicalize_name(name)] = version.strip()
    for name, entry in LOCKED.items():
        if name in pins:
            assert entry["version"] == pins[name], f"{name}: {entry['version']} here, {pins[name]} in requirements.lock"


def test_the_locked_set_is_closed_under_its_dependencies():
    """What each locked package needs (per its installed metadata, at the locked version) is locked too."""
    env = default_environment()
    checked = 0
    for name, entry in LOCKED.items():
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        if dist.version != entry["version"]:
            continue
        checked += 1
        for spec in dist.requires or []:
            req = Requirement(spec)
            if req.marker is not None and not req.marker.evaluate({**env, "extra": ""}):
                continue
            dep = LOCKED.get(canonicalize_name(req.name))
            assert dep is not None, f"{name} needs {req.name}, which is not locked; {FIX}"
            assert req.specifier.contains(dep["version"], prereleases=True), f"{name} needs {spec}; {FIX}"
    assert checked >= len(PYPROJECT["project"]["dependencies"])
