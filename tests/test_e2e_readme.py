"""The README as a user reads it: its serve example runs as printed, and its contents links lead somewhere."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
from pathlib import Path

import requests

from helpers import image_bytes
from snail_action.embedded.server import EmbeddedBackend

ROOT = Path(__file__).resolve().parent.parent
def test_the_boto3_example_of_the_serve_section_runs_as_printed(tmp_path):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    (example,) = re.findall(r"With boto3:\n\n```python\n(.*?)```", text, flags=re.S)
    ready = tmp_path / "snail.json"
    with EmbeddedBackend() as eb:
        ready.write_text(json.dumps(eb.ready_info()))
        png = image_bytes("PNG", (40, 30), seed=5)
        r = requests.put(f"{eb.api_url}/images/cat.png", data=png, timeout=30, headers={
            "x-api-key": eb.api_key, "Content-Type": "image/png", "filename": "cat.png",
            "x-content-sha256": hashlib.sha256(png).hexdigest()})
        assert r.status_code == 200, r.text
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(example.replace("/tmp/snail.json", str(ready)), "README example", "exec"), {})  # noqa: S102
    raw_key = r.json()["images"]["raw"]["key"]
    lines = printed.getvalue().splitlines()
    assert lines[0] == f"{raw_key} {len(png)}"
    assert "'RegisteredFile': {'S': 'cat.png'}" in lines[1]


def _github_slug(heading: str) -> str:
    # GitHub's anchor for a heading: lower case, punctuation other than '-' and '_' dropped, spaces to '-'.
    text = heading.strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def test_every_contents_link_of_the_readme_leads_to_a_heading():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    slugs = {_github_slug(m) for m in re.findall(r"^#{1,6} (.+)$", readme, flags=re.M)}
    links = re.findall(r"\]\(#([^)]+)\)", readme)
    assert len(links) >= 7
    assert [link for link in links if link not in slugs] == []
