"""`snail-images variants FILE... --out DIR`: the backend's insert path on local files.

Each file goes through `insert_variants`, the function the backend's insert handler calls: the
header check, one decode, the encode. A file the backend would refuse is refused here, in one line.

Variants are written as the backend stores them, `DIR/<type>/<name>`, where `<name>` is the
stored name (first 20 hex of the SHA-256 and the lower-cased extension).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

from snail_backend.config import DEFAULT_VARIANT_SIZES, ConfigError, parse_sizes
from snail_backend.formats import VARIANT_TYPES, extension_of, variant_name
from snail_backend.imaging import ConversionError
from snail_backend.imaging.insert import insert_variants
from snail_backend.naming import stored_name
from snail_backend.validation import InvalidImage

from .settings import SettingsError


def run_variants(args: argparse.Namespace) -> int:
    try:
        sizes = parse_sizes(args.sizes or DEFAULT_VARIANT_SIZES)
    except ConfigError as exc:
        raise SettingsError(f"--sizes: {exc}") from None
    out_dir: Path = args.out
    failed = 0
    for path in args.files:
        try:
            record = _one(Path(path), out_dir, sizes)
        except (OSError, InvalidImage, ConversionError) as exc:
            failed += 1
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            print(f"{path}: {reason}: fix or remove the file", file=sys.stderr)
            if args.json:
                print(json.dumps({"file": str(path), "error": reason}), flush=True)
            continue
        if args.json:
            print(json.dumps(record, ensure_ascii=False), flush=True)
        else:
            parts = ", ".join(f"{k} {v['width']}x{v['height']} {v['size']} B" for k, v in record["variants"].items())
            print(f"{path}: {record['width']}x{record['height']} {record['format']} -> {parts} "
                  f"({record['seconds'] * 1000:.0f} ms) in {out_dir}/<type>/{record['name']}")
    return 1 if failed else 0


def _one(path: Path, out_dir: Path, sizes: dict[str, int]) -> dict:
    data = path.read_bytes()
    started = time.perf_counter()
    inserted = insert_variants(data, path.name, sizes)  # what the backend runs on a PUT
    seconds = time.perf_counter() - started
    info, rendition = inserted.header.info, inserted.rendition
    digest = hashlib.sha256(data).hexdigest()
    name = stored_name(digest, extension_of(path.name))
    variants = {}
    stored, content_type = variant_name(name, rendition.variant_format), VARIANT_TYPES[rendition.variant_format][1]
    for kind, variant in rendition.variants.items():
        target = out_dir / kind / stored  # as the backend stores it: the extension of the variant's format
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(variant.data)
        variants[kind] = {"path": str(target), "width": variant.width, "height": variant.height,
                          "size": variant.size, "content_type": content_type}
    return {"file": str(path), "name": name, "format": info.format, "content_type": info.content_type,
            "width": rendition.width, "height": rendition.height, "size": len(data), "sha256": digest,
            "seconds": round(seconds, 4), "variants": variants}
