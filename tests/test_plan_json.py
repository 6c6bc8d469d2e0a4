"""`plan --json`'s text, written from templates, is the text `json.dumps` writes for `Plan.to_json()`."""

from __future__ import annotations

import json

import pytest

from snail_action.model import Finding, Operation, Plan
from snail_action.plan_json import plan_json_text
from snail_action.report import json_text

NOT_UTF8 = b"caf\xe9.png".decode("utf-8", "surrogateescape")
ODD = ['q"uote.png', "back\\slash.png", "new\nline.png", "tab\there.png", "\x01ctl.png", "한글 😀.gif",
       "\u2028sep.png", "/abs.png", ""]


def put(path: str, change: str = "A", **kw: object) -> Operation:
    return Operation("put", path, change, kw.pop("content_type", "image/png"), kw.pop("size", 12),  # type: ignore[arg-type]
                     kw.pop("sha256", "e" * 64), kw.pop("blob", "b" * 40), **kw)  # type: ignore[arg-type]


def plans() -> list[Plan]:
    everything = [
        Operation("delete", "old.png", "D"),
        Operation("delete", "moved/from.png", "R100", renamed_to="moved/to.png"),
        put("a.png"), put("b.jpg", "M", content_type="image/jpeg", size=0),
        put("moved/to.png", "R087", renamed_from="moved/from.png"),
        put("copy.png", "C075"),
        put("no-content-yet.png", sha256=None, size=None, blob="c" * 40),  # before attach_contents
        put("no-type.png", content_type=None),
        Operation("put", "both.png", "R100", "image/png", 5, "f" * 64, "d" * 40, "x.png", "y.png"),  # odd, still valid
        Operation("delete", "odd-delete.png", "D", renamed_from="z.png"),
        *(put(name) for name in ODD), *(Operation("delete", name, "D") for name in ODD),
        put("big.png", size=2**40),
    ]
    findings = [Finding("notes.txt", "not an image"), Finding('we"ird\n.txt', "reason with \"quotes\" and ü")]
    return [
        Plan(None, "a" * 40),
        Plan("b" * 40, "a" * 40, everything, findings, findings[::-1], [Finding("w.txt", "not an image")]),
        Plan("b" * 40, "a" * 40, [put(NOT_UTF8), *everything], [Finding(NOT_UTF8, "file name is not valid UTF-8")]),
        Plan("b" * 40, "a" * 40, [], [], [Finding(NOT_UTF8, "never sent")]),
        Plan("b" * 40, "a" * 40, [put(f"set{i % 7}/img_{i:05d}.png", "AMR"[i % 3]) for i in range(500)]),
    ]


@pytest.mark.parametrize("index", range(len(plans())))
def test_plan_json_text_is_exactly_json_dumps_of_the_plan(index: int) -> None:
    plan = plans()[index]
    text = plan_json_text(plan)
    assert text == json_text(plan.to_json())
    assert json.loads(text) == json.loads(json_text(plan.to_json()))


def test_a_name_that_is_not_utf8_escapes_the_whole_text_as_json_dumps_does() -> None:
    plan = plans()[2]
    text = plan_json_text(plan)
    assert text.isascii() and "\\udce9" in text and "\\ud55c" in text  # the surrogate, and the Korean escaped too
    text.encode("utf-8")  # printable as UTF-8
