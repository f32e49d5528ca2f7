"""Fingerprints of the aligned face crop, to recognise a copy of a known photo.

``face_keypoints``: the corners (ORB keypoints and their binary descriptors)
of the 112x112 crop the recogniser sees, enlarged to 224 px and
histogram-equalised. ``matched_keypoints`` counts the corners of one crop
whose nearest corner in the other is clearly nearer than the second nearest
and that agree on one similarity transform (RANSAC). A copy of a photo
(re-encoded, resized, cropped, brightened, greyscale, slightly rotated, shot
off a screen) carries the same skin texture, hair strands and highlights to
the same places: every re-capture measured matched 61 corners or more (medians
117-176 per kind). Two independent photos of one person share the face's
shape but not those details: at most 43 matched, a median of 6
(bench/copy_eval.py). Both functions together take 3-5 ms on one core.

``face_hash``: a 64-bit difference hash of the crop. Kept for the references
stored with it; it does not tell copies from independent photos (copies
measured 0-19 bits from their original, independent photos of one person
1-39 bits), so the copy check no longer uses it.
"""

from __future__ import annotations

import base64

import cv2
import numpy as np
from PIL import Image

HASH_SIZE = 8  # 8x8 comparisons = 64 bits

KEYPOINT_IMAGE = 224  # the 112 px crop is enlarged so that fine texture yields corners
MAX_KEYPOINTS = 300
_DESCRIPTOR_BYTES = 32
_RATIO = 0.8
_RANSAC_PX = 3.0  # in the 224 px image
_RANSAC_ITERATIONS = 500
# ORB tuned for a small, low-contrast face image: a low FAST threshold and a
# small patch so that corners are found across the skin, not only at the eyes.
_ORB = dict(nfeatures=MAX_KEYPOINTS, scaleFactor=1.2, nlevels=3, edgeThreshold=8, patchSize=15, fastThreshold=5)


def face_hash(crop_rgb: np.ndarray) -> str:
    grey = Image.fromarray(np.ascontiguousarray(crop_rgb)).convert("L")
    small = np.asarray(grey.resize((HASH_SIZE + 1, HASH_SIZE), Image.Resampling.LANCZOS), dtype=np.int16)
    bits = (small[:, 1:] > small[:, :-1]).ravel()
    return f"{int(''.join('1' if b else '0' for b in bits), 2):016x}"


def hash_distance(a: str, b: str) -> int:
    """How many of the 64 bits differ."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def face_keypoints(crop_rgb: np.ndarray) -> str:
    """The crop's corners as text (base64): per corner x, y (float16) and a 32-byte descriptor.

    At most 300 corners: ~14 KB of text, stored once per reference photo.
    """
    grey = cv2.cvtColor(np.ascontiguousarray(crop_rgb), cv2.COLOR_RGB2GRAY)
    grey = cv2.equalizeHist(cv2.resize(grey, (KEYPOINT_IMAGE, KEYPOINT_IMAGE), interpolation=cv2.INTER_LINEAR))
    points, descriptors = cv2.ORB_create(**_ORB).detectAndCompute(grey, None)
    if descriptors is None or not points:
        return ""
    xy = np.array([p.pt for p in points], dtype="<f2")
    return base64.b64encode(xy.tobytes() + descriptors.astype(np.uint8).tobytes()).decode("ascii")


def _decode(text: str) -> tuple[np.ndarray, np.ndarray]:
    raw = base64.b64decode(text)
    n = len(raw) // (4 + _DESCRIPTOR_BYTES)
    if n * (4 + _DESCRIPTOR_BYTES) != len(raw):
        raise ValueError("not a keypoint fingerprint")
    xy = np.frombuffer(raw[: 4 * n], dtype="<f2").reshape(n, 2).astype(np.float32)
    descriptors = np.frombuffer(raw[4 * n :], dtype=np.uint8).reshape(n, _DESCRIPTOR_BYTES)
    return xy, descriptors


def matched_keypoints(a: str, b: str) -> int:
    """How many corners of one crop match the other's under one similarity transform."""
    if not a or not b:
        return 0
    (xy_a, des_a), (xy_b, des_b) = _decode(a), _decode(b)
    if len(des_a) < 2 or len(des_b) < 2:
        return 0
    # Each corner of ``a`` with its nearest corner of ``b``, kept only when clearly
    # nearer than the second nearest (a skin patch has many look-alikes).
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(des_a, des_b, k=2)
    matches = [p[0] for p in pairs if len(p) == 2 and p[0].distance < _RATIO * p[1].distance]
    if len(matches) < 2:
        return len(matches)
    src = xy_a[[m.queryIdx for m in matches]]
    dst = xy_b[[m.trainIdx for m in matches]]
    _, inliers = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=_RANSAC_PX, maxIters=_RANSAC_ITERATIONS, confidence=0.99
    )
    return 0 if inliers is None else int(inliers.sum())
