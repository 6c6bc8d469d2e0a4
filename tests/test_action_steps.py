"""action.yml run as the GitHub runner runs a composite action, against a live embedded backend.

Each `run:` step is executed with `bash --noprofile --norc -eo pipefail` in the workspace, with the
step's `env:` mapping (its `${{ }}` expressions substituted here, as the runner does), GITHUB_ACTION_PATH,
RUNNER_TEMP and fresh GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files, and GITHUB_EVENT_PATH pointing at a
push (or pull_request) event. The one `uses:` step, actions/setup-python, is stood in for by this
interpreter: its `python-path` output is `sys.executable`.

The other `uses:` step, actions/cache, is emulated with a folder of saved caches (`cache_dir`): a key
found there is copied to the step's path (cache-hit true); otherwise the path is saved under the key
after the last step, as the action's post step does. `if:` conditions of the form `X == 'v'` and
`X != 'v'` are evaluated as the runner does.

To keep most tests fast they use the documented `install: false` input: no virtual environment is
made, and the action runs with the python3 first on PATH, this test's own interpreter, which has
snail-images installed. The real install path (hash-locked requirements into a new virtual
environment, then this checkout with --no-deps) runs in `test_the_install_step_really_installs`
(marked slow), cold and then warm from the emulated cache.
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
                 preinstalled: bool = True, action_path: Path = ROOT, cache_dir: Path | None = None):
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
        if preinstalled:  # see the module docstring: install: false, and this interpreter first on PATH
            inputs = {"install": "false", **inputs}
            self.base_env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
        self.cache_dir = cache_dir or tmp / "actions-cache"
        self.to_save: list[tuple[Path, Path]] = []
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

    def condition(self, text: str) -> bool:
        m = re.fullmatch(r"\s*(\S+)\s*(==|!=)\s*'([^']*)'\s*", str(text))
        assert m, f"condition the test runner does not know: {text}"
        value = self.evaluate("${{ " + m.group(1) + " }}")
        return (value == m.group(3)) == (m.group(2) == "==")

    def restore_cache(self, step: dict) -> dict[str, str]:
        """actions/cache: the exact key, else the newest saved key starting with restore-keys; saved after
        the job unless the key was hit exactly."""
        key, path = self.evaluate(step["with"]["key"]), Path(self.evaluate(step["with"]["path"]))
        prefix = self.evaluate(step["with"].get("restore-keys", ""))
        assert key and "/" not in key
        saved = self.cache_dir / key
        if saved.is_dir():
            shutil.copytree(saved, path, symlinks=True)
            return {"cache-hit": "true"}
        self.to_save.append((path, saved))
        partial = sorted((p for p in self.cache_dir.glob("*") if prefix and p.name.startswith(prefix)),
                         key=lambda p: p.stat().st_mtime) if self.cache_dir.is_dir() else []
        if partial:
            shutil.copytree(partial[-1], path, symlinks=True)
        return {"cache-hit": "false"}

    def run(self) -> dict[str, str]:
        """Every step in order (a failing step stops the rest, as on GitHub); returns the action's outputs."""
        for index, step in enumerate(ACTION["runs"]["steps"]):
            sid = step.get("id", f"step{index}")
            if "if" in step and not self.condition(step["if"]):
                self.steps[sid] = {}
                continue
            if "uses" in step:
                if step["uses"].startswith("actions/cache@"):
                    self.steps[sid] = self.restore_cache(step)
                    continue
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
            for path, saved in self.to_save:  # the cache's post step: saved only when the job succeeds
                saved.parent.mkdir(parents=True, exist_ok=True)
                shutil.copytree(path, saved, symlinks=True)
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
    """No shortcut: a new virtual environment with the hash-locked requirements, then this checkout with
    --no-deps, then a check run in it; a second job restores the environment from the cache."""
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
    cache = tmp_path / "cache"
    # cold: nothing cached; warm: the same action again; new-version: the action changed, the lock did not
    expected = {"cold": ("false", False, False), "warm": ("true", True, True), "new-version": ("false", True, False)}
    for job, (hit, reused_deps, reused_action) in expected.items():
        if job == "new-version":
            with open(action / "snail_action" / "__init__.py", "a") as f:
                f.write("# a new version of the action\n")
        (tmp_path / job).mkdir()
        runner = Runner(tmp_path / job, repo.path, "push", push_event("0" * 40, repo.head()), {"mode": "check"},
                        preinstalled=False, action_path=action, cache_dir=cache)
        outputs = runner.run()
        assert runner.failed_step is None, runner.stdout[-3000:] + runner.stderr[-3000:]
        venv = runner.runner_temp / "snail-images-venv"
        assert (venv / "pyvenv.cfg").is_file() and not venv.is_symlink()
        assert runner.steps["install"]["python"] == str(venv / "bin" / "python")
        assert runner.steps["venv-cache"]["cache-hit"] == hit, job
        assert ("reusing the cached environment" in runner.stdout) == reused_deps, job
        assert ("already has this version of the action" in runner.stdout) == reused_action, job
        assert outputs["rejected"] == "0"
        results = json.loads(Path(outputs["results"]).read_text())
        assert results["results"] == [{"op": "put", "path": "a.png", "outcome": "planned", "http_status": None,
                                       "stored_key": None, "message": results["results"][0]["message"]}]
        # exactly the locked versions: the lock's pins are what the environment holds
        frozen = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "freeze", "--all"],
                                capture_output=True, text=True, check=True).stdout
        installed = {line.split("==")[0].lower().replace("_", "-"): line.split("==")[1]
                     for line in frozen.splitlines() if "==" in line}
        for name, version in locked_pins().items():
            assert installed.get(name) == version, (name, version, installed.get(name))
        if job == "new-version":  # the new version's own code is what runs
            code = "import snail_action, pathlib; print(pathlib.Path(snail_action.__file__).read_text())"
            assert "a new version" in subprocess.run([str(venv / "bin" / "python"), "-c", code], cwd=tmp_path,
                                                     capture_output=True, text=True, check=True).stdout
    assert len(list(cache.iterdir())) == 2  # one per version of the action


def locked_pins() -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9][\w.-]*)==([^\s\\]+)", (ROOT / "requirements-action.txt").read_text(), re.M)
    return {name.lower().replace("_", "-"): version for name, version in pins}


def test_install_false_runs_with_the_python_on_path(tmp_path):
    repo = GitRepo(tmp_path / "workspace")
    repo.write("a.png", image_bytes("PNG"))
    repo.commit()
    runner = Runner(tmp_path, repo.path, "push", push_event("0" * 40, repo.head()), {"mode": "check"})
    outputs = runner.run()
    assert runner.failed_step is None, runner.stdout + runner.stderr
    assert runner.steps["install"]["python"] == str(Path(sys.executable).parent / "python3")
    assert runner.steps["python"] == {} and runner.steps["venv-cache"] == {}  # skipped: nothing installed
    assert not (runner.runner_temp / "snail-images-venv").exists()
    assert outputs["rejected"] == "0"


def test_install_false_without_snail_images_is_a_one_line_error(tmp_path):
    repo = GitRepo(tmp_path / "workspace")
    repo.commit()
    bare = tmp_path / "bare-bin"
    bare.mkdir()
    base = Path(sys.base_prefix) / "bin" / "python3"  # the interpreter without this venv's packages
    (bare / "python3").symlink_to(base if base.exists() else shutil.which("python3"))
    runner = Runner(tmp_path, repo.path, "push", push_event("0" * 40, repo.head()), {"mode": "check"})
    runner.base_env["PATH"] = f"{bare}{os.pathsep}{os.environ['PATH']}"
    runner.run()
    assert runner.failed_step == "install"
    assert "::error title=snail-images setup::install is false, but python3 on PATH" in runner.stdout
    assert "leave install at true" in runner.stdout


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
    for step in ACTION["runs"]["steps"]:
        if "uses" in step:
            assert SHA_PIN.match(step["uses"].split(" ")[0]), step["uses"]
    (uses,) = [s for s in ACTION["runs"]["steps"] if s.get("uses", "").startswith("actions/setup-python@")]
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
