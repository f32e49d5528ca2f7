"""A perceptual fingerprint of the aligned face crop, to recognise a copy of a known photo.

A difference hash (dHash) of the 112x112 crop the recogniser sees: 64 bits
saying, row by row, whether brightness rises to the right. Alignment has
already undone scale, crop and small rotations, and re-encoding, resizing or
a brightness change barely move the gradients, so a copy of a photo lands a
few bits from it; two independent photos of one person differ in 25-30
(measured: bench/calibrate.py).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

HASH_SIZE = 8  # 8x8 comparisons = 64 bits


def face_hash(crop_rgb: np.ndarray) -> str:
    grey = Image.fromarray(np.ascontiguousarray(crop_rgb)).convert("L")
    small = np.asarray(grey.resize((HASH_SIZE + 1, HASH_SIZE), Image.Resampling.LANCZOS), dtype=np.int16)
    bits = (small[:, 1:] > small[:, :-1]).ravel()
    return f"{int(''.join('1' if b else '0' for b in bits), 2):016x}"


def hash_distance(a: str, b: str) -> int:
    """How many of the 64 bits differ."""
    return (int(a, 16) ^ int(b, 16)).bit_count()
