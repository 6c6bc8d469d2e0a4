"""The plan: what a sync sends. Pure data, shared by the planner, the checks and the sync."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Operation:
    op: str  # "put" or "delete"
    path: str  # repository path, exactly as git stores it
    change: str  # git status letter with score: A, M, T, D, R097, C075
    content_type: str | None = None  # puts only
    size: int | None = None  # puts only: bytes at `after`
    sha256: str | None = None  # puts only: hex digest of the content at `after`
    blob: str | None = None  # puts only: git blob id at `after`, to read the content
    renamed_from: str | None = None
    renamed_to: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"op": self.op, "path": self.path, "change": self.change}
        if self.renamed_to is not None:
            out["renamed_to"] = self.renamed_to
        if self.renamed_from is not None:
            out["renamed_from"] = self.renamed_from
        if self.op == "put":
            out["content_type"] = self.content_type
            out["size"] = self.size
            out["sha256"] = self.sha256
        return out


@dataclass(frozen=True)
class Finding:
    """A file left out of the operations: rejected (fails the job) or skipped (does not)."""

    path: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


@dataclass
class Plan:
    before: str | None
    after: str
    operations: list[Operation] = field(default_factory=list)
    rejected: list[Finding] = field(default_factory=list)
    skipped: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)  # non-images under on-non-image=warn

    @property
    def deletes(self) -> list[Operation]:
        return [o for o in self.operations if o.op == "delete"]

    @property
    def puts(self) -> list[Operation]:
        return [o for o in self.operations if o.op == "put"]

    def to_json(self) -> dict[str, Any]:
        return {
            "before": self.before,
            "after": self.after,
            "operations": [o.to_json() for o in self.operations],
            "rejected": [f.to_json() for f in self.rejected],
            "skipped": [f.to_json() for f in self.skipped + self.warnings],
        }
