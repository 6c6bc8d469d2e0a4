"""The docs hold together: every relative link and #anchor leads somewhere, every code sample shown is
a file under examples/ (byte for byte), and the README stays a front door."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", ROOT / "CONTRIBUTING.md", *(ROOT / "docs").glob("*.md")])
FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", flags=re.M | re.S)
LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
EXAMPLE = re.compile(r"^<!-- example: (\S+) -->\n```[\w-]*\n(.*?)^```$", flags=re.M | re.S)


def _prose(text: str) -> str:
    """The page without fenced blocks and inline code: what GitHub renders as links and headings."""
    text = FENCE.sub("", text)
    return re.sub(r"(`+)(?:(?!\1).)+?\1", "", text)


def github_anchors(text: str) -> set[str]:
    """The ids GitHub gives a page's headings: lower case, punctuation but '-' and '_' dropped, spaces to
    '-', and '-1', '-2', ... on repeats."""
    seen: dict[str, int] = {}
    anchors = set()
    for heading in re.findall(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", FENCE.sub("", text), flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return anchors


def relative_links(page: Path) -> list[str]:
    return [t for t in LINK.findall(_prose(page.read_text(encoding="utf-8")))
            if not re.match(r"[a-z][a-z0-9+.-]*:", t)]  # http:, https:, mailto: are not checked here


def test_the_pages_are_the_ones_the_readme_indexes():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    indexed = {ROOT / t for t in relative_links(ROOT / "README.md") if t.endswith(".md")}
    assert set(PAGES) - {ROOT / "README.md"} <= indexed, "a page under docs/ that the README does not link"
    assert "docs/contracts.md" in readme


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_and_anchor_resolves(page):
    broken = []
    links = relative_links(page)
    for target in links:
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.is_relative_to(ROOT) or not dest.exists():
            broken.append(f"{target}: no such file in the repository")
        elif anchor and (dest.suffix != ".md" or anchor not in github_anchors(dest.read_text(encoding="utf-8"))):
            broken.append(f"{target}: no heading with that anchor in {dest.relative_to(ROOT)}")
    assert links, f"{page.name} links nowhere"
    assert broken == [], f"{page.relative_to(ROOT)}: broken links"


def test_the_link_check_sees_a_broken_link_and_anchor(tmp_path):
    """The checker itself: a missing file and a missing heading are found, links in code are not links."""
    page = tmp_path / "page.md"
    page.write_text("# A `b` (c)\n\n[ok](#a-b-c) [gone](nowhere.md) [bad](#nope)\n\n```\n[x](in-code.md)\n```\n")
    assert relative_links(page) == ["#a-b-c", "nowhere.md", "#nope"]
    assert github_anchors(page.read_text()) == {"a-b-c"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_code_sample_shown_is_its_example_file(page):
    """`<!-- example: PATH -->` then a fenced block: the block must be the file under examples/, exactly."""
    text = page.read_text(encoding="utf-8")
    assert _prose(text).count("<!-- example:") == len(EXAMPLE.findall(text)), "a marker not followed by a block"
    for path, shown in EXAMPLE.findall(text):
        source = (page.parent / path).resolve()
        assert source.is_relative_to(ROOT / "examples"), f"{path}: samples live under examples/"
        assert source.is_file(), f"{page.name}: {path} does not exist"
        assert shown == source.read_text(encoding="utf-8").rstrip("\n") + "\n", (
            f"{page.relative_to(ROOT)} shows another text than {path}: copy the file into the block")


def test_every_example_file_is_shown_or_linked_by_the_docs():
    referenced = set()
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        targets = [p for p, _ in EXAMPLE.findall(text)] + [t.partition("#")[0] for t in relative_links(page)]
        referenced |= {(page.parent / t).resolve() for t in targets if t}
    examples = {p.resolve() for p in (ROOT / "examples").rglob("*") if p.is_file()}
    assert sorted(p.relative_to(ROOT).as_posix() for p in examples - referenced) == []


def test_the_readme_is_a_front_door_of_at_most_12_kb():
    assert (ROOT / "README.md").stat().st_size <= 12 * 1024


def test_the_readme_sets_up_a_fresh_machine_with_make_demo_and_make_test():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Trying it locally", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    commands = [line.split("#", 1)[0].strip() for line in block.splitlines()]
    assert commands == ["make demo", "make test"]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^demo:", makefile, flags=re.M) and re.search(r"^test:", makefile, flags=re.M)


def _synopses() -> list[tuple[str, str, str]]:
    """(page, command, its synopsis text) for every fenced `snail-images COMMAND ...` usage block."""
    found = []
    for page in PAGES:
        for block in re.findall(r"^```\n(snail-images .*?)^```", page.read_text(encoding="utf-8"), flags=re.M | re.S):
            for usage in re.split(r"\n(?=snail-images )", block):
                found.append((page.name, usage.split()[1], usage))
    return found


def test_every_command_synopsis_names_exactly_the_options_the_command_has():
    from snail_action.cli import build_parser

    (commands,) = [a for a in build_parser()._actions if a.choices and isinstance(a.choices, dict)]
    # What every command takes (`--path`) need not be in each synopsis.
    shared = set.intersection(*({o for o in p._option_string_actions} for p in commands.choices.values()))
    synopses = _synopses()
    assert {c for _, c, _ in synopses} >= {"sync", "status", "plan", "check", "variants"}
    for page, command, usage in synopses:
        options = {o for o in commands.choices[command]._option_string_actions if o.startswith("--")}
        shown = set(re.findall(r"--[a-z][a-z0-9-]*", usage))
        assert shown <= options, f"{page}: `snail-images {command}` has no {sorted(shown - options)}"
        missing = sorted(options - shared - shown)
        assert missing == [], f"{page}: the synopsis of `snail-images {command}` leaves out options it has"
