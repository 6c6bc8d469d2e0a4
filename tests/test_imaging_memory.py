"""The insert path keeps its freed pixel buffers for the next image (imaging/memory.py): measured by
the page faults of a second image in a fresh process, the way a warm Lambda container makes it."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from PIL import Image, ImageFilter

_RUN = r"""
import json, resource, sys
if sys.argv[2] == "insert":
    from snail_backend.imaging.insert import KEEPS_FREED_MEMORY, insert_variants as run
    make = lambda data: run(data, "photo.jpg", {"sg": 320, "md": 800, "lg": 1600})
else:  # the same pipeline without importing the insert path (glibc's defaults)
    from snail_backend.imaging import render_variants
    KEEPS_FREED_MEMORY = False
    make = lambda data: render_variants(data, {"sg": 320, "md": 800, "lg": 1600})
data = open(sys.argv[1], "rb").read()
make(data)  # the first image faults its pages in either way
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
make(data)
print(json.dumps({"faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before, "keeps": KEEPS_FREED_MEMORY}))
"""


def _photo_jpeg(size: tuple[int, int]) -> bytes:
    """A JPEG with texture everywhere (soft noise over a gradient), as a photo has."""
    im = Image.merge("RGB", [Image.effect_noise(size, 40 + 10 * i).filter(ImageFilter.BoxBlur(3)) for i in range(3)])
    im = Image.blend(im, Image.linear_gradient("L").convert("RGB").resize(size), 0.5)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _second_image_faults(path, how: str) -> dict:
    done = subprocess.run([sys.executable, "-c", _RUN, str(path), how], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_the_second_image_faults_in_no_fresh_pages(tmp_path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(_photo_jpeg((1732, 1155)))  # 2 MP: its decoded pixels alone are 8 MB, 2,000 pages
    ours = _second_image_faults(path, "insert")
    plain = _second_image_faults(path, "plain")
    assert ours["keeps"] is True
    assert plain["faults"] > 1500  # glibc's defaults map and unmap the buffers on every image ...
    assert ours["faults"] < 200  # ... the insert path's process keeps them

