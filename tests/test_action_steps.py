"""action.yml run as the GitHub runner runs a composite action, against a live embedded backend.

Each `run:` step is executed with `bash --noprofile --norc -eo pipefail` in the workspace, with the
step's `env:` mapping (its `${{ }}` expressions substituted here, as the runner does), GITHUB_ACTION_PATH,
RUNNER_TEMP and fresh GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files, and GITHUB_EVENT_PATH pointing at a
push (or pull_request) event. The one `uses:` step, actions/setup-python, is stood in for by this
interpreter: its `python-path` output is `sys.executable`.

Escape hatch, to keep the test fast: the test sets SNAIL_ACTION_TEST_REUSE_ENV=1, so the install step
(whose real text still runs) links the interpreter's existing environment, which already has
snail-images installed, instead of creating a new virtual environment and pip-installing into it.
The real install path (`python -m venv` + `pip install "$GITHUB_ACTION_PATH"`, from the package
index) runs once, in `test_the_install_step_really_installs` (marked slow, about 20 s).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from helpers import GitRepo, image_bytes

ROOT = Path(__file__).resolve().parents[1]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")


def parse_github_output(text: str) -> dict[str, str]:
    """Both forms the runner accepts: `name=value` lines and `name<<DELIM ... DELIM` blocks."""
    out: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            j = lines.index(delim, i + 1)
            out[name] = "\n".join(lines[i + 1:j])
            i = j + 1
            continue
        if "=" in line:
            name, value = line.split("=", 1)
            out[name] = value
        i += 1
    return out


class Runner:
    """Just enough of the Actions runner for a composite action with bash steps."""

    def __init__(self, tmp: Path, workspace: Path, event_name: str, event: dict, inputs: dict[str, str],
                 reuse_env: bool = True, action_path: Path = ROOT):
        self.tmp = tmp
        self.runner_temp = tmp / "runner-temp"
        self.runner_temp.mkdir()
        self.workspace = workspace
        self.summary = tmp / "step-summary.md"
        self.summary.touch()
        event_path = tmp / "event.json"
        event_path.write_text(json.dumps(event))
        self.base_env = {
            "PATH": os.environ["PATH"], "HOME": str(tmp), "LANG": "C.UTF-8",
            "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(event_path), "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_ACTION_PATH": str(action_path), "RUNNER_TEMP": str(self.runner_temp),
            "GITHUB_STEP_SUMMARY": str(self.summary),
        }
        if reuse_env:
            self.base_env["SNAIL_ACTION_TEST_REUSE_ENV"] = "1"  # see the module docstring
        unknown = set(inputs) - set(ACTION["inputs"])
        assert not unknown, f"not inputs of action.yml: {unknown}"
        self.inputs = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
        self.inputs.update(inputs)
        self.steps: dict[str, dict[str, str]] = {}
        self.logs: list[subprocess.CompletedProcess] = []

    def evaluate(self, text: str) -> str:
        def one(m: re.Match) -> str:
            expr = m.group(1)
            parts = expr.split(".")
            if parts[0] == "inputs" and len(parts) == 2:
                return self.inputs[parts[1]]
            if expr == "runner.temp":
                return str(self.runner_temp)
            if expr in ("github.action_path",):
                return str(ROOT)
            if expr == "github.workspace":
                return str(self.workspace)
            if parts[0] == "steps" and len(parts) == 4 and parts[2] == "outputs":
                return self.steps.get(parts[1], {}).get(parts[3], "")
            raise AssertionError(f"expression the test runner does not know: {expr}")

        return EXPR.sub(one, str(text))

    def run(self) -> dict[str, str]:
        """Every step in order (a failing step stops the rest, as on GitHub); returns the action's outputs."""
        for index, step in enumerate(ACTION["runs"]["steps"]):
            sid = step.get("id", f"step{index}")
            if "uses" in step:
                assert step["uses"].startswith("actions/setup-python@")
                self.steps[sid] = {"python-path": sys.executable, "python-version": sys.version.split()[0]}
                continue
            assert step["shell"] == "bash"
            assert "${{" not in step["run"], "no expressions inside run:"
            out_file = self.tmp / f"output-{index}"
            out_file.touch()
            env = {**self.base_env, "GITHUB_OUTPUT": str(out_file)}
            env.update({k: self.evaluate(v) for k, v in (step.get("env") or {}).items()})
            script = self.tmp / f"step-{index}.sh"
            script.write_text(step["run"])
            proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                                  cwd=self.workspace, env=env, capture_output=True, text=True, timeout=300)
            self.logs.append(proc)
            self.steps[sid] = parse_github_output(out_file.read_text())
            if proc.returncode != 0:
                self.failed_step = sid
                break
        else:
            self.failed_step = None
        return {name: self.evaluate(spec["value"]) for name, spec in ACTION["outputs"].items()}

    @property
    def stdout(self) -> str:
        return "".join(p.stdout for p in self.logs)

    @property
    def stderr(self) -> str:
        return "".join(p.stderr for p in self.logs)


@pytest.fixture(scope="module")
def backend():
    from snail_action.embedded.server import EmbeddedBackend

    with EmbeddedBackend() as eb:
        yield eb


def push_event(before: str, after: str) -> dict:
    return {"ref": "refs/heads/main", "before": before, "after": after, "forced": False,
            "repository": {"full_name": "org/images", "default_branch": "main"}}


@pytest.mark.slow
def test_push_syncs_and_sets_outputs_summary_and_mask(tmp_path, backend):
    repo = GitRepo(tmp_path / "workspace")
    repo.write("old.png", image_bytes("PNG", seed=1))
    repo.write("README.md", "images")
    before = repo.commit()
    repo.move("old.png", "photos/new name.png")
    repo.write("사진/고양이.jpg", image_bytes("JPEG", seed=2))
    after = repo.commit()
    runner = Runner(tmp_path, repo.path, "push", push_event(before, after),
                    {"api-url": backend.api_url, "api-key": backend.api_key, "concurrency": "4"})
    outputs = runner.run()

    assert runner.failed_step is None, runner.stdout + runner.stderr
    assert outputs["put"] == "2"
    assert outputs["deleted"] == "0"  # old.png was never sent to this backend: its delete finds nothing
    assert outputs["unchanged"] == "1"
    assert outputs["failed"] == outputs["rejected"] == "0"
    results = json.loads(Path(outputs["results"]).read_text())
    assert Path(outputs["results"]).parent == runner.runner_temp
    assert {r["path"]: r["outcome"] for r in results["results"]} == {
        "old.png": "unchanged", "photos/new name.png": "completed", "사진/고양이.jpg": "completed"}

    sync_log = runner.logs[-1].stdout
    assert sync_log.splitlines()[0] == f"::add-mask::{backend.api_key}"
    assert backend.api_key not in sync_log.split("\n", 1)[1] + runner.stderr
    assert "::group::Sending 2 image(s)" in sync_log
    assert re.search(r"^\[\d/3\] put 사진/고양이\.jpg completed 200$", sync_log, re.M)

    summary = runner.summary.read_text()
    assert "| put | deleted | unchanged | failed | rejected |" in summary
    assert "| 2 | 0 | 1 | 0 | 0 |" in summary
    assert "photos/new name.png" in summary and "images/raw/" in summary
    assert backend.api_key not in summary


@pytest.mark.slow
def test_push_with_a_broken_image_fails_with_annotations(tmp_path, backend):
    repo = GitRepo(tmp_path / "workspace")
    before = repo.commit("empty")
    repo.write("ok.png", image_bytes("PNG", seed=3))
    repo.write("broken.jpg", image_bytes("JPEG", seed=4)[:100])
    repo.write("notes.txt", "not an image")
    after = repo.commit()
    runner = Runner(tmp_path, repo.path, "push", push_event(before, after),
                    {"api-url": backend.api_url, "api-key": backend.api_key})
    outputs = runner.run()

    assert runner.failed_step == "sync"
    assert runner.logs[-1].returncode == 1
    assert outputs["put"] == "1"
    assert outputs["rejected"] == "2"
    log = runner.logs[-1].stdout
    assert re.search(r"^::error file=broken\.jpg::put rejected: .+", log, re.M)
    assert re.search(r"^::error file=notes\.txt::put rejected: not an image", log, re.M)
    summary = runner.summary.read_text()
    assert summary.index("broken.jpg") < summary.index("ok.png")  # failures first


@pytest.mark.slow
def test_two_uses_in_one_job_keep_their_own_results_file(tmp_path, backend):
    repo = GitRepo(tmp_path / "workspace")
    repo.write("a.png", image_bytes("PNG", seed=7))
    first = repo.commit()
    inputs = {"api-url": backend.api_url, "api-key": backend.api_key, "include": "a.png"}
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    sync_run = Runner(tmp_path / "one", repo.path, "push", push_event("0" * 40, first), inputs)
    reconcile = Runner(tmp_path / "two", repo.path, "workflow_dispatch", {}, {**inputs, "mode": "reconcile"})
    reconcile.runner_temp = sync_run.runner_temp  # one job: one RUNNER_TEMP
    reconcile.base_env["RUNNER_TEMP"] = str(sync_run.runner_temp)
    out1, out2 = sync_run.run(), reconcile.run()
    assert sync_run.failed_step is None and reconcile.failed_step is None, reconcile.stdout + reconcile.stderr
    assert out1["results"] != out2["results"]
    first_results = json.loads(Path(out1["results"]).read_text())["results"]
    assert [r["outcome"] for r in first_results] == ["completed"]  # not overwritten by the reconcile
    assert [r["outcome"] for r in json.loads(Path(out2["results"]).read_text())["results"]] == ["unchanged"]


def test_pull_request_check_sends_nothing_and_uses_base_and_head(tmp_path):
    repo = GitRepo(tmp_path / "workspace")
    repo.write("base.png", image_bytes("PNG", seed=1))
    base = repo.commit()
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("added.png", image_bytes("PNG", seed=2))
    repo.write("bad.gif", b"GIF89a-but-not-really")
    head = repo.commit()
    event = {"action": "synchronize", "number": 7,
             "pull_request": {"base": {"sha": base, "ref": "main"}, "head": {"sha": head, "ref": "feature"}}}
    # No api-url: a check never talks to the backend.
    runner = Runner(tmp_path, repo.path, "pull_request", event, {"mode": "check"})
    outputs = runner.run()
    assert runner.failed_step == "sync"
    assert outputs["rejected"] == "1"
    assert outputs["put"] == "0"
    results = json.loads(Path(outputs["results"]).read_text())
    assert {r["path"]: r["outcome"] for r in results["results"]} == {"added.png": "planned", "bad.gif": "rejected"}
    assert "::error file=bad.gif::" in runner.logs[-1].stdout


def test_bad_input_is_a_one_line_setup_error(tmp_path):
    repo = GitRepo(tmp_path / "workspace")
    repo.write("a.png", image_bytes("PNG"))
    repo.commit()
    runner = Runner(tmp_path, repo.path, "push", push_event("0" * 40, repo.head()),
                    {"api-url": "http://127.0.0.1:9", "api-key": "k", "concurrency": "lots"})
    runner.run()
    assert runner.logs[-1].returncode == 2
    expected = "::error title=snail-images setup::concurrency (SNAIL_CONCURRENCY): 'lots' is not a whole number"
    assert expected in runner.logs[-1].stdout


@pytest.mark.slow
def test_the_install_step_really_installs(tmp_path):
    """No escape hatch: a fresh virtual environment, pip install of this checkout, then a check run in it."""
    repo = GitRepo(tmp_path / "workspace")
    repo.write("a.png", image_bytes("PNG"))
    repo.commit()
    # The action as the runner downloads it: the tracked files only, away from this working tree.
    action = tmp_path / "action"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for rel in filter(None, tracked.decode().split("\0")):
        if (ROOT / rel).is_file():
            (action / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, action / rel)
    runner = Runner(tmp_path, repo.path, "push", push_event("0" * 40, repo.head()), {"mode": "check"},
                    reuse_env=False, action_path=action)
    outputs = runner.run()
    assert runner.failed_step is None, runner.stdout[-3000:] + runner.stderr[-3000:]
    venv = runner.runner_temp / "snail-images-venv"
    assert (venv / "pyvenv.cfg").is_file() and not venv.is_symlink()
    assert outputs["rejected"] == "0"
    results = json.loads(Path(outputs["results"]).read_text())
    assert results["results"] == [{"op": "put", "path": "a.png", "outcome": "planned", "http_status": None,
                                   "stored_key": None, "message": results["results"][0]["message"]}]


# -- static properties of action.yml ------------------------------------------------------------------

def test_every_input_and_output_is_described_and_inputs_are_kebab_case():
    for name, spec in {**ACTION["inputs"], **ACTION["outputs"]}.items():
        assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", name), name
        assert spec.get("description", "").strip(), f"{name} has no description"


def test_every_input_reaches_the_script_through_env():
    env_text = json.dumps([s.get("env") or {} for s in ACTION["runs"]["steps"]])
    used = set(re.findall(r"inputs\.([a-z0-9-]+)", env_text))
    with_text = json.dumps([s.get("with") or {} for s in ACTION["runs"]["steps"]])
    used |= set(re.findall(r"inputs\.([a-z0-9-]+)", with_text))
    assert used == set(ACTION["inputs"])
    for step in ACTION["runs"]["steps"]:
        assert "${{" not in step.get("run", "")


def test_setup_python_is_pinned_and_leaves_the_environment_alone():
    (uses,) = [s for s in ACTION["runs"]["steps"] if "uses" in s]
    assert SHA_PIN.match(uses["uses"]), uses["uses"]
    assert uses["with"]["update-environment"] is False
    assert uses["id"] == "python"


@pytest.mark.parametrize("path", sorted(str(p.relative_to(ROOT)) for p in
                                        [*(ROOT / "examples/workflows").glob("*.yml"),
                                         *(ROOT / ".github/workflows").glob("*.yml")]))
def test_workflows_pin_third_party_actions_and_limit_permissions(path):
    text = (ROOT / path).read_text()
    wf = yaml.safe_load(text)
    assert "permissions" in wf, f"{path}: no top-level permissions"
    assert wf["permissions"].get("contents") == "read"
    for job in wf["jobs"].values():
        for step in job["steps"]:
            uses = step.get("uses")
            if uses and not uses.startswith("./") and not uses.startswith("org/snail-images-action@"):
                assert SHA_PIN.match(uses), f"{path}: {uses} is not pinned to a full commit SHA"
            assert "${{" not in step.get("run", ""), f"{path}: expression inside run:"
