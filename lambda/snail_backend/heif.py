"""HEIC/HEIF originals, decoded by pi-heif (libheif with the HEVC decoder only: small enough for the
Lambda layer; pillow-heif, which also encodes, is a test dependency for making fixtures).

Importing this module registers the opener with Pillow once, for the primary picture only: no
thumbnails, depth maps or auxiliary images are decoded. libheif applies the file's rotation and
mirroring (`irot`/`imir`) when it decodes, and pi-heif then reports the size as displayed and an
EXIF orientation of 1, so nothing is turned twice. Bit depths above 8 are decoded to 8 bits.
"""

from __future__ import annotations

import pi_heif

pi_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)

FORMAT = "HEIF"  # Image.format of an opened HEIC or HEIF file
