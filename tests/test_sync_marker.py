"""The sync marker end to end: real git repositories (clones, shallow clones, force pushes, garbage
collection) synced into the embedded backend that `snail-images serve` runs, over loopback HTTP.

After each run the live catalog must equal the images of the tree the marker names, by path and
SHA-256: that is the marker's promise.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from helpers import GitRepo, image_bytes
from snail_action import cli
from snail_action.client import ApiClient, RetryPolicy
from snail_action.embedded.server import EmbeddedBackend
from snail_action.settings import Settings
from snail_action.sync import SyncOptions, sync
from snail_action.sync_cmd import run_sync

# Each test starts a backend of its own (1 to 2 s), so that the catalog it compares is its own.
pytestmark = pytest.mark.slow

OPTS = SyncOptions(retry=RetryPolicy(attempts=2, base_delay=0.01, total_seconds=5), poll_interval=0.05,
                   poll_max_interval=0.2, poll_timeout=60)
NAME, REF = "octo/images", "refs/heads/main"
ZEROS = "0" * 40


@pytest.fixture
def backend():
    with EmbeddedBackend() as eb:
        yield eb


def api(eb) -> ApiClient:
    return ApiClient(eb.api_url, api_key=eb.api_key, retry=RetryPolicy(attempts=1))


def marker(eb, name: str = NAME, ref: str = REF) -> str | None:
    with api(eb) as c:
        resp = c.get_marker(name, ref)
    assert resp.status in (200, 404), resp.text
    return resp.fields.get("commit") if resp.ok else None


def catalog(eb) -> dict[str, str]:
    with api(eb) as c:
        files = list(c.list_images())
    assert {f["status"] for f in files} <= {"completed"}, files
    return {f["registered_file"]: f["hash"] for f in files}


def tree(repo: GitRepo, rev: str) -> dict[str, str]:
    """The images of the tree at `rev` as {path: sha256}, straight from git."""
    out = subprocess.run(["git", "ls-tree", "-r", "-z", "--name-only", rev], cwd=repo.path, check=True,
                         capture_output=True).stdout
    return {p.decode(): hashlib.sha256(subprocess.run(["git", "cat-file", "blob", f"{rev}:{p.decode()}"],
                                                      cwd=repo.path, check=True, capture_output=True).stdout
                                       ).hexdigest()
            for p in filter(None, out.split(b"\0"))}


def push_event(tmp_path: Path, before: str, after: str, **extra) -> Path:
    path = tmp_path / f"event-{before[:7]}-{after[:7]}.json"
    path.write_text(json.dumps({"before": before, "after": after, **extra}))
    return path


class Runner:
    """Runs the sync of one push the way the action does: the push event, the repository's name and ref."""

    def __init__(self, eb, tmp_path: Path):
        self.eb, self.tmp_path = eb, tmp_path

    def settings(self, repo: GitRepo | Path, event_before: str, event_after: str, /, **kw) -> Settings:
        path = repo.path if isinstance(repo, GitRepo) else repo
        return Settings(path=path, api_url=self.eb.api_url, api_key=self.eb.api_key, repository_name=NAME, ref=REF,
                        event_path=push_event(self.tmp_path, event_before, event_after), event_name="push",
                        concurrency=2, **kw)

    def __call__(self, repo: GitRepo | Path, event_before: str, event_after: str, /, session=None, **kw):
        return sync(self.settings(repo, event_before, event_after, **kw), session=session, out=io.StringIO(),
                    options=OPTS)


@pytest.fixture
def run(backend, tmp_path) -> Runner:
    return Runner(backend, tmp_path)


class HookedSession(requests.Session):
    """A real session that calls `hook` once, just before the first request matching `method` and `part`:
    the place where another run (or a failing network) cuts in."""

    def __init__(self, method: str, part: str, hook):
        super().__init__()
        self.method, self.part, self.hook, self.fired = method, part, hook, False

    def request(self, method, url, *args, **kwargs):
        if not self.fired and method == self.method and self.part in url:
            self.fired = True
            self.hook()
        return super().request(method, url, *args, **kwargs)


class DroppingSession(requests.Session):
    """The network drops after `allow` image PUTs: every later PUT fails to connect."""

    def __init__(self, allow: int):
        super().__init__()
        self.allow = allow

    def request(self, method, url, *args, **kwargs):
        if method == "PUT" and "/images/" in url:
            if self.allow <= 0:
                raise requests.ConnectionError("the runner lost its network")
            self.allow -= 1
        return super().request(method, url, *args, **kwargs)


# ------------------------------------------------------------------ the three pushes of the issue
def test_cancelled_middle_run_is_repaired_by_the_next_push(git_repo: GitRepo, backend, run):
    git_repo.write("a.png", image_bytes(seed=1))
    c1 = git_repo.commit()
    first = run(git_repo, ZEROS, c1)
    assert (first.basis, first.synced_commit, marker(backend)) == ("event", c1, c1)

    git_repo.write("a.png", image_bytes(seed=2))
    git_repo.write("b.png", image_bytes(seed=3))
    c2 = git_repo.commit("the push whose run was cancelled before it sent anything")
    git_repo.write("c.gif", image_bytes("GIF", seed=4))
    c3 = git_repo.commit()

    third = run(git_repo, c2, c3)  # its event only knows c2..c3
    assert third.ok and (third.basis, third.before, third.after) == ("marker", c1, c3)
    assert {(r.op, r.path, r.outcome) for r in third.results} == {
        ("put", "a.png", "completed"), ("put", "b.png", "completed"), ("put", "c.gif", "completed")}
    assert catalog(backend) == tree(git_repo, c3)
    assert third.synced_commit == marker(backend) == c3


def test_a_run_that_fails_halfway_is_repaired_by_the_next_push(git_repo: GitRepo, backend, run):
    git_repo.write("a.png", image_bytes(seed=1))
    c1 = git_repo.commit()
    run(git_repo, ZEROS, c1)
    for n in range(4):
        git_repo.write(f"new/{n}.png", image_bytes(seed=10 + n))
    c2 = git_repo.commit()

    broken = run(git_repo, c1, c2, session=DroppingSession(allow=1))
    assert not broken.ok and sum(r.outcome == "completed" for r in broken.results) == 1
    assert broken.synced_commit == marker(backend) == c1  # not moved: the backend does not hold c2

    git_repo.write("later.png", image_bytes(seed=20))
    c3 = git_repo.commit()
    repaired = run(git_repo, c2, c3)
    assert repaired.ok and (repaired.basis, repaired.before) == ("marker", c1)
    assert catalog(backend) == tree(git_repo, c3)
    assert marker(backend) == c3


def test_a_marker_that_cannot_be_moved_fails_the_run_after_its_files(git_repo: GitRepo, backend, run):
    git_repo.write("a.png", image_bytes(seed=1))
    c1 = git_repo.commit()
    run(git_repo, ZEROS, c1)
    git_repo.write("b.png", image_bytes(seed=2))
    c2 = git_repo.commit()

    report = run(git_repo, c1, c2, session=MarkerMoveDropped())
    outcomes = {(r.op, r.outcome) for r in report.results}
    assert outcomes == {("put", "completed"), ("marker", "failed")} and not report.ok
    assert report.synced_commit == marker(backend) == c1
    assert run(git_repo, c2, c2).synced_commit == marker(backend) == c2  # the next run: unchanged, then moved


class MarkerMoveDropped(requests.Session):
    """Every PUT /sync/ fails to connect (the network drops just then); the rest goes through."""

    def request(self, method, url, *args, **kwargs):
        if method == "PUT" and "/sync/" in url:
            raise requests.ConnectionError("the runner lost its network")
        return super().request(method, url, *args, **kwargs)


# ------------------------------------------------------------------ races, decided both ways
def _three_versions(repo: GitRepo) -> tuple[str, str, str]:
    """m, then older and newer pushes that each change a.png (so a late write of the older one shows)."""
    repo.write("a.png", image_bytes(seed=1))
    repo.write("keep.png", image_bytes(seed=5))
    m = repo.commit()
    repo.write("a.png", image_bytes(seed=2))
    repo.write("b.png", image_bytes(seed=3))
    older = repo.commit()
    repo.write("a.png", image_bytes(seed=4))
    repo.remove("b.png")
    repo.write("c.png", image_bytes(seed=6))
    newer = repo.commit()
    return m, older, newer


def test_race_lost_to_a_newer_run_never_moves_the_marker_back(git_repo: GitRepo, backend, run):
    m, older, newer = _three_versions(git_repo)
    run(git_repo, ZEROS, m)
    others: list = []
    # The older run reads the marker (m); the newer run then syncs m..newer and moves m -> newer;
    # only then does the older run send m..older, writing a.png and b.png over the newer run's work.
    session = HookedSession("PUT", "/images/", lambda: others.append(run(git_repo, m, newer)))
    late = run(git_repo, m, older, session=session)
    assert others[0].synced_commit == newer
    assert late.ok, [r for r in late.results if r.is_failure]
    assert marker(backend) == late.synced_commit == newer  # not moved back to `older`
    assert any("already holds this run's commit" in n for n in late.notes)
    assert catalog(backend) == tree(git_repo, newer)  # what the older run wrote was put back


def test_race_lost_to_an_older_run_replans_from_its_marker(git_repo: GitRepo, backend, run):
    m, older, newer = _three_versions(git_repo)
    run(git_repo, ZEROS, m)
    others: list = []
    # The newer run reads m and sends m..newer; before it moves the marker, the older run syncs
    # m..older completely (a.png, b.png of `older` overwrite the newer run's) and moves m -> older.
    session = HookedSession("PUT", "/sync/", lambda: others.append(run(git_repo, m, older)))
    winner = run(git_repo, m, newer, session=session)
    assert others[0].synced_commit == older
    assert winner.ok and any(f"re-planning from {older[:12]}" in n for n in winner.notes)
    assert marker(backend) == winner.synced_commit == newer
    assert catalog(backend) == tree(git_repo, newer)


def test_the_conditional_write_over_http(backend):
    c1, c2, c3 = "1" * 40, "2" * 40, "3" * 40
    with api(backend) as c:
        assert c.move_marker(NAME, REF, c1, None).status == 200
        again = c.move_marker(NAME, REF, c2, None)  # "there is none" no longer holds
        assert (again.status, again.fields["error"], again.fields["marker"]["commit"]) == (409, "marker_moved", c1)
        stale = c.move_marker(NAME, REF, c3, c2)
        assert (stale.status, stale.fields["marker"]["commit"]) == (409, c1)
        moved = c.move_marker(NAME, REF, c2, c1)
        assert (moved.status, moved.fields["commit"], moved.fields["moves"]) == (200, c2, 2)
        # `/` inside either part stays inside it: these are three markers, not one
        assert c.move_marker("octo/images", "refs/heads/a/b", c1, None).status == 200
        assert c.move_marker("octo/images/refs", "heads/a/b", c3, None).status == 200
        assert c.get_marker("octo/images", "refs/heads/a/b").fields["commit"] == c1
        assert c.get_marker("octo", "images").status == 404
        assert c.move_marker(NAME, REF, "not-a-commit", c2).status == 400
    assert catalog(backend) == {}  # markers are not catalog entries...
    index = backend.dynamodb.scan(TableName=backend.table, IndexName="RegisteredFile-Status-index")
    assert index["Count"] == 0  # ...nor rows of the GSI
    items = backend.dynamodb.scan(TableName=backend.table)["Items"]
    assert {(i["ImageType"]["S"], i["ImageId"]["S"]) for i in items} == {
        ("sync", "octo%2Fimages/refs%2Fheads%2Fmain"), ("sync", "octo%2Fimages/refs%2Fheads%2Fa%2Fb"),
        ("sync", "octo%2Fimages%2Frefs/heads%2Fa%2Fb")}


# ------------------------------------------------------------------ history that moved under the marker
def test_force_push_onto_unrelated_history_compares_the_trees(git_repo: GitRepo, backend, run):
    git_repo.write("a.png", image_bytes(seed=1))
    git_repo.write("b.png", image_bytes(seed=2))
    c1 = git_repo.commit()
    run(git_repo, ZEROS, c1)
    git_repo.git("checkout", "-q", "--orphan", "rewrite")
    git_repo.git("rm", "-rq", "--cached", ".")
    (git_repo.path / "b.png").unlink()
    git_repo.write("a.png", image_bytes(seed=7))
    git_repo.write("x.png", image_bytes(seed=8))
    u1 = git_repo.commit("unrelated history")
    git_repo.git("branch", "-q", "-f", "main", u1)

    report = run(git_repo, c1, u1)
    assert report.ok and (report.basis, report.before) == ("marker", c1)
    assert "not an ancestor" in report.why
    assert {(r.op, r.path) for r in report.results} == {("delete", "b.png"), ("put", "a.png"), ("put", "x.png")}
    assert catalog(backend) == tree(git_repo, u1)
    assert marker(backend) == u1


def shallow_clone(src: GitRepo, dest: Path) -> Path:
    src.git("clone", "-q", "--depth=1", f"file://{src.path}", str(dest))
    assert (dest / ".git" / "shallow").exists()
    return dest


def test_marker_missing_from_a_shallow_clone_is_fetched(tmp_path, git_repo: GitRepo, backend, run, capsys):
    git_repo.write("a.png", image_bytes(seed=1))
    c1 = git_repo.commit()
    run(git_repo, ZEROS, c1)
    git_repo.write("b.png", image_bytes(seed=2))
    c2 = git_repo.commit()  # its run was dropped by the concurrency group
    git_repo.write("a.png", image_bytes(seed=3))
    c3 = git_repo.commit()
    clone = shallow_clone(git_repo, tmp_path / "ci-checkout")

    report = run(clone, c2, c3)
    assert report.ok and (report.basis, report.before, report.after) == ("marker", c1, c3)
    assert f"sync marker commit {c1} is not in this shallow clone" in capsys.readouterr().err
    assert catalog(backend) == tree(git_repo, c3)
    assert marker(backend) == c3


def test_marker_commit_gone_falls_back_to_reconcile_and_says_so(tmp_path, git_repo: GitRepo, backend, run):
    git_repo.write("a.png", image_bytes(seed=1))
    git_repo.write("b.png", image_bytes(seed=2))
    c1 = git_repo.commit()
    run(git_repo, ZEROS, c1)
    # History rewritten and garbage-collected: c1 exists nowhere any more.
    git_repo.git("checkout", "-q", "--orphan", "rewrite")
    git_repo.git("rm", "-rq", "--cached", ".")
    (git_repo.path / "b.png").unlink()
    git_repo.write("z.png", image_bytes(seed=9))
    r1 = git_repo.commit("rewritten")
    git_repo.git("branch", "-q", "-f", "main", r1)
    git_repo.git("checkout", "-q", "main")
    git_repo.git("branch", "-q", "-D", "rewrite")
    git_repo.git("reflog", "expire", "--expire=now", "--all")
    git_repo.git("gc", "-q", "--prune=now")
    assert not _exists(git_repo, c1)
    clone = tmp_path / "ci-checkout"
    git_repo.git("clone", "-q", f"file://{git_repo.path}", str(clone))

    out = io.StringIO()
    report = sync(run.settings(clone, c1, r1), out=out, options=OPTS)
    assert report.ok and (report.mode, report.basis) == ("reconcile", "reconcile")
    gone = [line for line in out.getvalue().splitlines() if "is gone from the repository" in line]
    assert len(gone) == 1 and c1[:12] in gone[0] and "reconciling against the catalog" in gone[0]
    assert {(r.op, r.path, r.outcome) for r in report.results} >= {("delete", "b.png", "deleted"),
                                                                   ("put", "z.png", "completed")}
    assert catalog(backend) == tree(git_repo, r1)
    assert marker(backend) == r1


def _exists(repo: GitRepo, rev: str) -> bool:
    return subprocess.run(["git", "cat-file", "-e", f"{rev}^{{commit}}"], cwd=repo.path,
                          capture_output=True).returncode == 0


# ------------------------------------------------------------------ what moves it and what does not
def test_dry_run_check_and_an_unrelated_explicit_range_never_move_it(git_repo: GitRepo, backend, run):
    git_repo.write("a.png", image_bytes(seed=1))
    c1 = git_repo.commit()
    run(git_repo, ZEROS, c1)
    git_repo.write("b.png", image_bytes(seed=2))
    c2 = git_repo.commit()
    git_repo.write("c.png", image_bytes(seed=3))
    c3 = git_repo.commit()
    dry = run(git_repo, c2, c3, dry_run=True)  # shows what a sync would send: from the marker
    assert (dry.basis, dry.before) == ("marker", c1) and marker(backend) == dry.synced_commit == c1
    assert sorted((r.path, r.outcome) for r in dry.results) == [("b.png", "planned"), ("c.png", "planned")]
    checked = run(git_repo, c2, c3, mode="check")
    assert checked.ok and checked.basis == "event" and marker(backend) == c1
    explicit = run(git_repo, c1, c2, before=ZEROS, after=c2)  # the input wins over the marker...
    assert explicit.ok and (explicit.basis, explicit.before) == ("input", None)
    assert marker(backend) == c1 and any("the marker stays" in n for n in explicit.notes)  # ...and says nothing of it


def test_reconcile_sets_the_marker_when_clean(git_repo: GitRepo, backend, run):
    git_repo.write("a.png", image_bytes(seed=1))
    git_repo.write("bad.png", b"not an image")
    c1 = git_repo.commit()
    dirty = run(git_repo, ZEROS, c1, mode="reconcile")
    assert not dirty.ok and marker(backend) is None  # a rejected file: not clean
    git_repo.remove("bad.png")
    c2 = git_repo.commit()
    clean = run(git_repo, c1, c2, mode="reconcile")
    assert clean.ok and clean.synced_commit == marker(backend) == c2


def test_outputs_results_and_summary_say_which_range_and_why(git_repo: GitRepo, backend, run, tmp_path):
    git_repo.write("a.png", image_bytes(seed=1))
    c1 = git_repo.commit()
    run(git_repo, ZEROS, c1)
    git_repo.write("b.png", image_bytes(seed=2))
    c2 = git_repo.commit()
    git_repo.write("c.png", image_bytes(seed=3))
    c3 = git_repo.commit()
    outputs, summary, results = tmp_path / "out", tmp_path / "summary.md", tmp_path / "results.json"
    env = {"GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(summary)}
    assert run_sync(None, run.settings(git_repo, c2, c3, results=results), env=env) == 0
    data = json.loads(results.read_text())
    assert data["range"]["basis"] == "marker" and (data["range"]["before"], data["range"]["after"]) == (c1, c3)
    assert data["synced_commit"] == c3
    assert "synced-commit<<" in outputs.read_text() and f"\n{c3}\n" in outputs.read_text()
    text = summary.read_text()
    assert f"`{c1[:12]}` → `{c3[:12]}` from the sync marker \\(an ancestor of after\\)" in text  # markdown-escaped
    assert f"Sync marker after the run: `{c3[:12]}`" in text


def test_status_prints_the_marker_of_this_repository_and_branch(git_repo: GitRepo, backend, run, monkeypatch,
                                                                  capsys):
    git_repo.write("a.png", image_bytes(seed=1))
    c1 = git_repo.commit()
    for name, value in (("SNAIL_API_URL", backend.api_url), ("SNAIL_API_KEY", backend.api_key),
                        ("GITHUB_REPOSITORY", NAME)):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GITHUB_REF", raising=False)
    assert cli.main(["status", "--path", str(git_repo.path)]) == 1  # none yet; the branch is read from git
    assert json.loads(capsys.readouterr().out) == {"repository": NAME, "ref": REF, "commit": None}
    run(git_repo, ZEROS, c1)
    assert cli.main(["status", "--path", str(git_repo.path)]) == 0
    assert json.loads(capsys.readouterr().out) == {"repository": NAME, "ref": REF, "commit": c1}


def test_a_stack_without_the_sync_route_still_syncs_from_the_event(git_repo: GitRepo, tmp_path, backend):
    from snail_backend.routes import RESOURCES

    # A stack deployed before the marker: its API has every route but /sync (the gateway answers
    # 403 Missing Authentication Token there, as API Gateway does for a route it does not have).
    backend._gateway.api.resources = {r: m for r, m in RESOURCES.items() if not r.startswith("/sync/")}
    git_repo.write("a.png", image_bytes(seed=1))
    c1 = git_repo.commit()
    report = Runner(backend, tmp_path)(git_repo, ZEROS, c1)
    assert report.ok and report.basis == "event" and report.synced_commit is None
    assert any("no /sync route" in n for n in report.notes)
    assert catalog(backend) == tree(git_repo, c1)  # the API's 403 for the missing route stopped nothing


def test_no_repository_name_means_no_marker_as_before(git_repo: GitRepo, backend, run):
    git_repo.write("a.png", image_bytes(seed=1))
    c1 = git_repo.commit()
    report = sync(replace(run.settings(git_repo, ZEROS, c1), repository_name=None), out=io.StringIO(), options=OPTS)
    assert report.ok and report.basis == "event" and report.synced_commit is None
    assert marker(backend) is None
