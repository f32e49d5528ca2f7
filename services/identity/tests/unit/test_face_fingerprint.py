"""The copy fingerprint of a face crop: corners that match under one transform (face/fingerprint.py)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from jmo_identity.face.fingerprint import MAX_KEYPOINTS, face_keypoints, matched_keypoints


def texture(seed: int) -> np.ndarray:
    """A 112x112 RGB crop with fine detail everywhere (as skin, hair and highlights give)."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, (28, 28), dtype=np.uint8)
    grey = cv2.GaussianBlur(cv2.resize(noise, (112, 112), interpolation=cv2.INTER_CUBIC), (0, 0), 0.8)
    return np.dstack([grey, grey, grey])


def turned(crop: np.ndarray, degrees: float, scale: float = 1.0) -> np.ndarray:
    m = cv2.getRotationMatrix2D((56, 56), degrees, scale)
    return cv2.warpAffine(crop, m, (112, 112), borderMode=cv2.BORDER_REFLECT)


def test_the_fingerprint_is_text_of_at_most_300_corners():
    text = face_keypoints(texture(1))
    assert isinstance(text, str) and text
    assert len(text) <= (MAX_KEYPOINTS * 36 * 4) // 3 + 4
    assert face_keypoints(np.full((112, 112, 3), 128, np.uint8)) == ""  # nothing to find


def test_a_copy_shares_many_corners_another_image_few():
    original = face_keypoints(texture(1))
    copy = face_keypoints(turned(np.clip(texture(1).astype(int) * 0.7 + 20, 0, 255).astype(np.uint8), 4, 1.05))
    other = face_keypoints(texture(2))
    assert matched_keypoints(copy, original) >= 100
    assert matched_keypoints(other, original) < 20


def test_a_missing_fingerprint_matches_nothing():
    assert matched_keypoints("", face_keypoints(texture(1))) == 0
    assert matched_keypoints(face_keypoints(texture(1)), "") == 0


def test_a_damaged_fingerprint_is_refused():
    with pytest.raises(ValueError):
        matched_keypoints("AAAA", face_keypoints(texture(1)))
