"""`snail-images variants` runs the backend's imaging on local files."""

from __future__ import annotations

import hashlib
import json

from PIL import Image

from helpers import image_bytes
from snail_action.cli import main
from snail_backend.imaging import render_variants


def test_variants_json_reports_each_variant_and_writes_the_backends_bytes(tmp_path, capsys) -> None:
    src = tmp_path / "Photo One.JPG"
    data = image_bytes("JPEG", (900, 600), seed=5)
    src.write_bytes(data)
    code = main(["variants", str(src), "--out", str(tmp_path / "out"), "--sizes", "sg=100,md=300,lg=600", "--json"])
    assert code == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[0])
    name = hashlib.sha256(data).hexdigest()[:20] + ".jpg"
    assert (record["name"], record["width"], record["height"]) == (name, 900, 600)
    assert {k: (v["width"], v["height"]) for k, v in record["variants"].items()} == {
        "sg": (100, 67), "md": (300, 200), "lg": (600, 400)}
    made = render_variants(data, {"sg": 100, "md": 300, "lg": 600})
    for kind, v in record["variants"].items():
        written = (tmp_path / "out" / kind / name).read_bytes()
        assert written == made.variants[kind].data and v["size"] == len(written)
        assert Image.open(tmp_path / "out" / kind / name).format == "JPEG"


def test_variants_reports_a_bad_file_in_one_line_and_exits_1(tmp_path, capsys) -> None:
    good, bad = tmp_path / "ok.png", tmp_path / "broken.png"
    good.write_bytes(image_bytes("PNG", (50, 50)))
    bad.write_bytes(b"not a png")
    assert main(["variants", str(good), str(bad), "--out", str(tmp_path / "o")]) == 1
    captured = capsys.readouterr()
    assert "ok.png: 50x50 PNG" in captured.out
    assert captured.err.count("\n") == 1 and "broken.png" in captured.err


def test_variants_refuses_bad_sizes_with_exit_2(tmp_path, capsys) -> None:
    assert main(["variants", str(tmp_path / "x.png"), "--out", str(tmp_path), "--sizes", "sg=0"]) == 2
    assert "--sizes" in capsys.readouterr().err
