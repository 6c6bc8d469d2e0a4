"""Which range the planner compares: arguments, GitHub events, first commits, shallow clones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import GitRepo, image_bytes
from snail_action.gitrange import resolve_range
from snail_action.model import Plan
from snail_action.planning import build_plan_and_range
from snail_action.settings import Settings, SettingsError

ZEROS = "0" * 40


def plan_of(repo: GitRepo | Path, log: list[str] | None = None, **kw: object) -> Plan:
    path = repo.path if isinstance(repo, GitRepo) else repo
    messages = log if log is not None else []
    return build_plan_and_range(Settings(path=path, **kw), log=messages.append)[0]  # type: ignore[arg-type]


def paths(plan: Plan) -> list[tuple[str, str]]:
    return [(o.op, o.path) for o in plan.operations]


def event_file(tmp_path: Path, payload: dict) -> Path:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload))
    return path


@pytest.fixture
def history(git_repo: GitRepo) -> tuple[GitRepo, list[str]]:
    """Three commits: c0 adds a.png and notes, c1 adds b.png, c2 adds c.png and removes a.png."""
    git_repo.write("a.png", image_bytes(seed=1))
    git_repo.write("README.md", "readme")
    c0 = git_repo.commit("c0")
    git_repo.write("b.png", image_bytes(seed=2))
    c1 = git_repo.commit("c1")
    git_repo.write("c.png", image_bytes(seed=3))
    git_repo.remove("a.png")
    c2 = git_repo.commit("c2")
    return git_repo, [c0, c1, c2]


def pull_request_history(repo: GitRepo) -> tuple[str, str, str]:
    """main and a topic branch that forked from it; main moved on since. Returns (fork, head, base)."""
    repo.write("base.png", image_bytes(seed=1))
    fork = repo.commit("base")
    repo.git("checkout", "-q", "-b", "topic")
    repo.write("topic.png", image_bytes(seed=2))
    head = repo.commit("pr work")
    repo.git("checkout", "-q", "main")
    repo.write("later-on-main.png", image_bytes(seed=3))
    base = repo.commit("main moved on")
    return fork, head, base


def shallow_clone(src: GitRepo, dest: Path, depth: int = 1, branch: str | None = None) -> Path:
    args = ["clone", "-q", f"--depth={depth}"]
    if branch:
        args += ["--branch", branch]
    src.git(*args, f"file://{src.path}", str(dest))
    assert (dest / ".git" / "shallow").exists()
    return dest


def test_default_range_is_head_parent_to_head(history: tuple[GitRepo, list[str]]) -> None:
    repo, (_, c1, c2) = history
    p = plan_of(repo)
    assert (p.before, p.after) == (c1, c2)
    assert paths(p) == [("delete", "a.png"), ("put", "c.png")]


def test_first_commit_puts_every_tracked_image(git_repo: GitRepo) -> None:
    git_repo.write("a.png", image_bytes(seed=1))
    git_repo.write("sub/b.gif", image_bytes("GIF", seed=2))
    git_repo.write("README.md", "readme")
    c0 = git_repo.commit("first")
    p = plan_of(git_repo)
    assert (p.before, p.after) == (None, c0)
    assert [(o.op, o.path, o.change) for o in p.operations] == [("put", "a.png", "A"), ("put", "sub/b.gif", "A")]
    assert p.to_json()["before"] is None


def test_all_puts_every_tracked_image_at_after(history: tuple[GitRepo, list[str]]) -> None:
    repo, (c0, c1, c2) = history
    p = plan_of(repo, all=True, before=c0)
    assert p.before is None and p.after == c2
    assert paths(p) == [("put", "b.png"), ("put", "c.png")]
    assert plan_of(repo, all=True, after=c0).operations[0].path == "a.png"


def test_explicit_revisions_take_any_rev_syntax(history: tuple[GitRepo, list[str]]) -> None:
    repo, (c0, c1, c2) = history
    assert paths(plan_of(repo, before="HEAD~2", after="HEAD~1")) == [("put", "b.png")]
    assert plan_of(repo, after=c1).before == c0  # --after alone: its first parent


def test_push_event_gives_before_and_after(tmp_path: Path, history: tuple[GitRepo, list[str]]) -> None:
    repo, (c0, c1, c2) = history
    ev = event_file(tmp_path, {"before": c0, "after": c1, "ref": "refs/heads/main"})
    p = plan_of(repo, event_path=ev, github_actions=True, event_name="push")
    assert (p.before, p.after) == (c0, c1)
    assert paths(p) == [("put", "b.png")]


def test_explicit_revisions_win_over_the_event(tmp_path: Path, history: tuple[GitRepo, list[str]]) -> None:
    repo, (c0, c1, c2) = history
    ev = event_file(tmp_path, {"before": c0, "after": c1})
    p = plan_of(repo, event_path=ev, github_actions=True, before=c1, after=c2)
    assert (p.before, p.after) == (c1, c2)


def test_all_zeros_before_means_a_new_branch(tmp_path: Path, history: tuple[GitRepo, list[str]]) -> None:
    repo, (_, _, c2) = history
    ev = event_file(tmp_path, {"before": ZEROS, "after": c2, "created": True})
    p = plan_of(repo, event_path=ev, github_actions=True)
    assert p.before is None
    assert paths(p) == [("put", "b.png"), ("put", "c.png")]
    assert plan_of(repo, before=ZEROS).before is None


def test_branch_deletion_event_is_an_empty_plan(tmp_path: Path, history: tuple[GitRepo, list[str]]) -> None:
    repo, _ = history
    gone = "ab" * 20  # the deleted branch's tip need not be in the clone
    ev = event_file(tmp_path, {"before": gone, "after": ZEROS, "deleted": True})
    log: list[str] = []
    p = plan_of(repo, log, event_path=ev, github_actions=True)
    assert (p.before, p.after, p.operations, p.rejected) == (gone, gone, [], [])
    assert log == ["the push deleted the branch: nothing to sync"]


def test_pull_request_event_compares_merge_base_with_head(tmp_path: Path, git_repo: GitRepo) -> None:
    fork, head, base = pull_request_history(git_repo)
    ev = event_file(tmp_path, {"action": "synchronize", "number": 7,
                               "pull_request": {"base": {"sha": base, "ref": "main"}, "head": {"sha": head}}})
    p = plan_of(git_repo, event_path=ev, github_actions=True, event_name="pull_request")
    assert (p.before, p.after) == (fork, head)
    assert paths(p) == [("put", "topic.png")]  # not a delete of later-on-main.png


def test_shallow_clone_fetches_a_missing_before_and_says_so(tmp_path: Path,
                                                            history: tuple[GitRepo, list[str]]) -> None:
    repo, (c0, _, c2) = history
    clone = shallow_clone(repo, tmp_path / "clone")
    log: list[str] = []
    p = plan_of(clone, log, before=c0, after=c2)
    assert (p.before, p.after) == (c0, c2)
    assert paths(p) == [("delete", "a.png"), ("put", "b.png"), ("put", "c.png")]
    assert len(log) == 1 and c0 in log[0] and "shallow" in log[0] and "fetch-depth" in log[0]
    assert plan_of(clone, log, before=c0, after=c2).before == c0 and len(log) == 1  # fetched once, kept


def test_shallow_clone_default_range_fetches_the_parent(tmp_path: Path, history: tuple[GitRepo, list[str]]) -> None:
    repo, (_, c1, c2) = history
    clone = shallow_clone(repo, tmp_path / "clone")
    log: list[str] = []
    p = plan_of(clone, log)
    assert (p.before, p.after) == (c1, c2)
    assert paths(p) == [("delete", "a.png"), ("put", "c.png")]
    assert c1 in log[0]


def test_shallow_clone_push_event_after_force_push(tmp_path: Path, history: tuple[GitRepo, list[str]]) -> None:
    repo, (c0, _, c2) = history
    # The old tip of a force push: on the server, but on no branch any more.
    repo.git("checkout", "-q", "-b", "old", c0)
    repo.write("orphaned.png", image_bytes(seed=9))
    old_tip = repo.commit("rewritten away")
    repo.git("checkout", "-q", "main")
    repo.git("branch", "-q", "-D", "old")
    clone = shallow_clone(repo, tmp_path / "clone")
    ev = event_file(tmp_path, {"before": old_tip, "after": c2, "forced": True})
    log: list[str] = []
    p = plan_of(clone, log, event_path=ev, github_actions=True)
    assert p.before == old_tip
    assert paths(p) == [("delete", "a.png"), ("delete", "orphaned.png"), ("put", "b.png"), ("put", "c.png")]
    assert old_tip in log[0]


def test_shallow_pull_request_fetches_history_for_the_merge_base(tmp_path: Path, git_repo: GitRepo) -> None:
    fork, head, base = pull_request_history(git_repo)
    clone = shallow_clone(git_repo, tmp_path / "clone", branch="topic")
    ev = event_file(tmp_path, {"pull_request": {"base": {"sha": base}, "head": {"sha": head}}})
    log: list[str] = []
    p = plan_of(clone, log, event_path=ev, github_actions=True)
    assert (p.before, p.after) == (fork, head)
    assert paths(p) == [("put", "topic.png")]
    assert any("merge base" in m for m in log)


def test_before_missing_even_after_fetching_is_one_clear_error(tmp_path: Path,
                                                               history: tuple[GitRepo, list[str]]) -> None:
    repo, _ = history
    clone = shallow_clone(repo, tmp_path / "clone")
    missing = "1234567" * 5 + "89abc"
    with pytest.raises(SettingsError) as exc:
        plan_of(clone, before=missing)
    message = str(exc.value)
    assert "\n" not in message and missing in message
    assert "fetching from origin failed: fatal: " in message
    assert message.endswith("pass --all to send every tracked image")


def test_before_missing_without_a_remote(history: tuple[GitRepo, list[str]]) -> None:
    repo, _ = history
    with pytest.raises(SettingsError, match="no remote"):
        plan_of(repo, before="no-such-branch")


def test_not_a_repository_is_a_setup_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not inside a git repository"):
        resolve_range(Settings(path=tmp_path))


def test_unknown_branch_name_in_a_full_clone_is_not_fetched(tmp_path: Path,
                                                            history: tuple[GitRepo, list[str]]) -> None:
    repo, _ = history
    clone = tmp_path / "full"
    repo.git("clone", "-q", str(repo.path), str(clone))
    log: list[str] = []
    with pytest.raises(SettingsError, match="'typo-branch' is not in this repository; check the revision"):
        plan_of(clone, log, before="typo-branch")
    assert log == []


def _drop_object(repo: GitRepo, object_id: str) -> None:
    (repo.path / ".git" / "objects" / object_id[:2] / object_id[2:]).unlink()


def test_missing_blob_is_a_one_line_setup_error(git_repo: GitRepo) -> None:
    git_repo.write("a.png", image_bytes(seed=1))
    git_repo.commit("base")
    git_repo.write("lost one.png", image_bytes(seed=2))
    git_repo.commit("change")
    _drop_object(git_repo, git_repo.git("rev-parse", "HEAD:lost one.png"))
    with pytest.raises(SettingsError, match=r"content of 'lost one.png' \(blob [0-9a-f]{40}\) is missing"):
        plan_of(git_repo)


def test_damaged_repository_is_a_one_line_setup_error(git_repo: GitRepo) -> None:
    git_repo.write("a.png", image_bytes(seed=1))
    git_repo.commit("base")
    git_repo.write("sub/b.png", image_bytes(seed=2))
    git_repo.commit("change")
    _drop_object(git_repo, git_repo.git("rev-parse", "HEAD:sub"))
    with pytest.raises(SettingsError, match=r"^git diff failed in .*: fatal: ") as exc:
        plan_of(git_repo)
    assert "\n" not in str(exc.value)


def test_pull_request_without_common_history_compares_with_the_base(tmp_path: Path, git_repo: GitRepo) -> None:
    git_repo.write("base.png", image_bytes(seed=1))
    base = git_repo.commit("base")
    git_repo.git("checkout", "-q", "--orphan", "unrelated")
    git_repo.git("rm", "-q", "-r", "--cached", ".")
    (git_repo.path / "base.png").unlink()
    git_repo.write("other.png", image_bytes(seed=2))
    head = git_repo.commit("unrelated root")
    ev = event_file(tmp_path, {"pull_request": {"base": {"sha": base}, "head": {"sha": head}}})
    log: list[str] = []
    p = plan_of(git_repo, log, event_path=ev, github_actions=True)
    assert (p.before, p.after) == (base, head)
    assert paths(p) == [("delete", "base.png"), ("put", "other.png")]
    assert "share no history" in log[0]
