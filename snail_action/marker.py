"""The client's side of the backend's sync marker: which key, reading it, and one conditional move.

The marker is the commit whose tree the backend fully holds for a repository name and a ref
(GET/PUT /sync/{repository}/{ref}). What to do when a move loses the race lives in sync.py, which
has the sending; this module only talks to the API and to git.
"""

from __future__ import annotations

from dataclasses import dataclass

from .client import ApiClient, ApiError
from .gitcmd import GitRunner
from .gitrange import COMMIT_ID, is_ancestor


@dataclass(frozen=True)
class MarkerKey:
    repository: str
    ref: str

    def __str__(self) -> str:
        return f"{self.repository} {self.ref}"


class NoSyncRoute(Exception):
    """The API has no /sync route (a stack from before the marker): the sync goes on without one."""


def current_ref(runner: GitRunner) -> str | None:
    """The checked-out branch as a full ref (refs/heads/main); None on a detached HEAD."""
    out = runner.try_run("symbolic-ref", "--quiet", "HEAD")
    return out.decode().strip() or None if out else None


def marker_key(repository_name: str | None, ref: str | None, runner: GitRunner) -> MarkerKey | None:
    """The marker's key, or None when there is no repository name (or no branch) to keep it under."""
    if not repository_name:
        return None
    ref = ref or current_ref(runner)
    return MarkerKey(repository_name, ref) if ref else None


def _commit_of(body: object) -> str | None:
    commit = body.get("commit") if isinstance(body, dict) else None
    if commit is None:
        return None
    if not isinstance(commit, str) or not COMMIT_ID.match(commit):
        raise ApiError(f"the backend answered a sync marker that is not a commit id: {str(commit)[:60]!r}")
    return commit


def read_marker(client: ApiClient, key: MarkerKey) -> str | None:
    """The marker's commit; None when the branch has none yet. NoSyncRoute on an older stack."""
    resp = client.get_marker(key.repository, key.ref)
    if resp.status == 404 and resp.fields.get("error") == "not_found":
        return None
    if resp.status in (403, 404) and resp.fields.get("error") in ("MISSING_AUTHENTICATION_TOKEN",
                                                                   "RESOURCE_NOT_FOUND"):
        # API Gateway's answer to a route it does not have, which is not a refused credential:
        # the images routes must still be tried.
        client.refused = None
        raise NoSyncRoute("the backend has no /sync route (a stack older than the sync marker): diffing from "
                          "the event; update the stack to keep a sync marker")
    if not resp.ok:
        raise ApiError(f"reading the sync marker of {key} failed: HTTP {resp.status} {resp.error_message}",
                       resp.status)
    return _commit_of(resp.fields)


def move_marker(client: ApiClient, key: MarkerKey, expected: str | None, commit: str) -> tuple[bool, str | None]:
    """(moved, the marker now): moves only from `expected`; a lost race answers the marker as it is."""
    resp = client.move_marker(key.repository, key.ref, commit, expected)
    if resp.ok:
        return True, _commit_of(resp.fields)
    if resp.status == 409:
        return False, _commit_of(resp.fields.get("marker"))
    raise ApiError(f"moving the sync marker of {key} failed: HTTP {resp.status} {resp.error_message}", resp.status)


def ancestry(runner: GitRunner, old: str, new: str) -> bool:
    """Whether `old` is in the history of `new`, deepening a shallow clone when it cannot tell."""
    found = is_ancestor(runner, old, new)
    if found is None:
        remote = runner.remote()
        if remote:
            runner.try_run("fetch", "--quiet", "--no-tags", "--unshallow", remote)
        found = is_ancestor(runner, old, new)
    return bool(found)
