"""Freed pixel memory stays in the process: glibc's malloc tuned once, for the process's whole life.

Every variant allocates and frees the same few buffers of 1 to 16 MB (the decoded image, in Pillow's
blocks of at most 16 MB; each resize's output and the resizer's intermediate rows). glibc serves
allocations that large with a fresh `mmap` and unmaps them on `free`, so each image faults its pages in
again and the kernel zeroes them: about 4,000 minor page faults, 8 ms of 27 ms, for a 2 MP JPEG's
variants (measured in a process that had made them before, as a warm Lambda container or `snail-images
variants` with several files has). glibc's own adaptive threshold did not settle: the 2 MP path faulted
on every run, while the 24 MP one, once run, stopped faulting.

With allocations under 32 MB from the heap and up to 128 MB of freed heap kept (not trimmed back to the
kernel), the same path makes no page faults after the first image: 27 -> 19 ms. The cost is memory the
process keeps after a large image, which a Lambda container or a command that made it will use again.
Allocations of 32 MB and more (a decoded image over the block size never is one; a bomb-limit buffer
could be) are still mapped and unmapped. Not glibc (macOS, musl): nothing changes.
"""

from __future__ import annotations

import ctypes
import sys

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's largest dynamic threshold on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX)
TRIM_THRESHOLD = 128 * 1024 * 1024


def keep_freed_pixel_memory() -> bool:
    """Set glibc's mmap and trim thresholds (above); True when glibc took both."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
