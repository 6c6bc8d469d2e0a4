"""The action's install step, cold and warm, against the install it replaced, side by side in one run.

The step's own script is read from action.yml and run with bash as the runner runs it, on a copy
of the action's tracked files (as the runner downloads them), with pip's cache off (a new runner
has none):

- before: the old step, `python -m venv` + `pip install "$GITHUB_ACTION_PATH"` (floating versions);
- cold:   the new step with no cache: a new venv, requirements-action.txt with --require-hashes,
          then the action with --no-deps;
- warm:   what actions/cache does on a hit, here: the cold run's environment packed with
          `tar --zstd` (the cache's format) and unpacked into a new place (timed as "restore"),
          then the new step, which finds the same lock and the same action and installs nothing.
          (A new version of the action with the same lock reinstalls only the action: a few seconds.)

The package index is whatever pip is configured with on this machine; on GitHub it is PyPI over
the network, where `before` and `cold` are slower and `warm` is not (it downloads the archive
from the cache service instead: its size is printed).

    python bench/install_bench.py [--reps 1]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from snail_action import install_state

ROOT = Path(__file__).resolve().parents[1]
TARGET = 0.5  # the warm start (restore + step) at most half of the install it replaced
OLD_STEP = '"$SNAIL_PYTHON" -m venv "$SNAIL_VENV"\n' \
           '"$SNAIL_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$GITHUB_ACTION_PATH"\n'


def install_script() -> str:
    steps = yaml.safe_load((ROOT / "action.yml").read_text())["runs"]["steps"]
    (step,) = [s for s in steps if s.get("id") == "install"]
    return step["run"]


def copy_action(dest: Path) -> Path:
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for rel in filter(None, tracked.decode().split("\0")):
        if (ROOT / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, dest / rel)
    return dest


def base_python() -> str:
    """An interpreter outside any virtual environment, as setup-python provides."""
    candidate = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    return str(candidate if candidate.exists() else sys.executable)


def run_step(script: str, action: Path, venv: Path, cache_hit: bool) -> float:
    out = venv.parent / "github-output"
    out.touch()
    state = install_state.outputs(action, "Linux", "X64")
    env = {**os.environ, "GITHUB_ACTION_PATH": str(action), "GITHUB_OUTPUT": str(out), "PIP_NO_CACHE_DIR": "1",
           "SNAIL_INSTALL": "true", "SNAIL_LOCK": state["lock"], "SNAIL_SOURCE": state["source"],
           "SNAIL_PYTHON": base_python(), "SNAIL_VENV": str(venv)}
    env.pop("VIRTUAL_ENV", None)
    start = time.perf_counter()
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], env=env,
                          capture_output=True, text=True, cwd=venv.parent)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"install step failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    if cache_hit and "already has this version of the action" not in proc.stdout:
        sys.exit("the warm run did not reuse the environment")
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=1)
    opts = ap.parse_args()
    script = install_script()
    times: dict[str, list[float]] = {"before": [], "cold": [], "restore": [], "warm step": []}
    archive_mb = venv_mb = 0.0
    with tempfile.TemporaryDirectory(prefix="snail-install-bench-") as tmp:
        action = copy_action(Path(tmp) / "action")
        for rep in range(opts.reps):
            work = Path(tmp) / f"rep{rep}"
            for name in ("before", "cold", "warm"):
                (work / name).mkdir(parents=True)
            times["before"].append(run_step(OLD_STEP, action, work / "before" / "venv", cache_hit=False))
            cold_venv = work / "cold" / "venv"
            times["cold"].append(run_step(script, action, cold_venv, cache_hit=False))
            archive = work / "venv.tar.zst"
            subprocess.run(["tar", "--zstd", "-cf", str(archive), "-C", str(cold_venv.parent), "venv"], check=True)
            archive_mb = archive.stat().st_size / 1e6
            venv_mb = sum(f.stat().st_size for f in cold_venv.rglob("*") if f.is_file()) / 1e6
            start = time.perf_counter()
            subprocess.run(["tar", "--zstd", "-xf", str(archive), "-C", str(work / "warm")], check=True)
            times["restore"].append(time.perf_counter() - start)
            times["warm step"].append(run_step(script, action, work / "warm" / "venv", cache_hit=True))
            shutil.rmtree(work)
    med = {k: statistics.median(v) for k, v in times.items()}
    warm = med["restore"] + med["warm step"]
    print(f"install step, median of {opts.reps} (pip cache off, this machine's package index):")
    print(f"  before (pip install of the action, floating versions): {med['before']:6.1f} s")
    print(f"  cold   (hash-locked requirements, then the action):    {med['cold']:6.1f} s")
    print(f"  warm   (cache restore {med['restore']:.1f} s + step {med['warm step']:.1f} s):          {warm:6.1f} s")
    print(f"  environment {venv_mb:.0f} MB, cache archive {archive_mb:.0f} MB (tar --zstd)")
    ratio = warm / med["before"]
    print(f"ratio warm/before: {ratio:.2f}x (target <= {TARGET}x); cold/before: {med['cold'] / med['before']:.2f}x")
    print("install warm start: " + ("holds" if ratio <= TARGET else "DOES NOT HOLD"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
