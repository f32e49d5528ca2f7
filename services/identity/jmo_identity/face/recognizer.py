"""SFace embeddings through insightface's model zoo API.

Channel order (measured, see the tests): insightface's ``ArcFaceONNX.get_feat``
swaps R and B itself (``blobFromImages(..., swapRB=True)``), as it expects
OpenCV's BGR arrays. SFace's reference implementation (OpenCV's
FaceRecognizerSF) also hands the network RGB. So the network must *receive*
RGB, which means the aligned crop is passed to get_feat in BGR order. Passing
RGB to get_feat feeds the network BGR: embeddings then drift from OpenCV's
(mean cosine 0.90 to the reference) and same-person scores drop by ~0.1.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import insightface
import numpy as np
from insightface.utils import face_align

from .runtime import PROVIDERS, session_options

# insightface's norm_crop calls skimage's SimilarityTransform.estimate, which
# skimage 0.26 deprecates (removed in 2.2: keep scikit-image < 2.2 pinned).
warnings.filterwarnings(
    "ignore",
    message=r".*`estimate` is deprecated.*",
    category=FutureWarning,
    module=r"insightface\.utils\.face_align",
)

CROP_SIZE = 112
EMBEDDING_SIZE = 128


def align(rgb: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The 112x112 RGB crop SFace was trained on (ArcFace 5-point template)."""
    return face_align.norm_crop(rgb, landmark=np.asarray(landmarks, dtype=np.float32), image_size=CROP_SIZE)


def l2_normalise(vector: np.ndarray) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float32).ravel()
    norm = float(np.linalg.norm(v))
    if not np.isfinite(norm) or norm < 1e-6:
        raise ValueError("degenerate embedding")
    return v / norm


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity in [-1, 1]; inputs need not be normalised."""
    return float(np.clip(np.dot(l2_normalise(a), l2_normalise(b)), -1.0, 1.0))


class SFaceRecognizer:
    def __init__(self, model_path: Path | str, *, threads: int = 1) -> None:
        # "embedded": SFace subtracts 127.5 and scales by 1/128 inside the
        # graph. Without this metadata insightface guesses mean/std itself and
        # normalises a second time: every score is then noise.
        self.model = insightface.model_zoo.get_model(
            str(model_path),
            model_task="recognition",
            model_metadata={"preprocessing": "embedded"},
            providers=PROVIDERS,
            sess_options=session_options(threads),
        )
        if tuple(self.model.input_size) != (CROP_SIZE, CROP_SIZE):
            raise ValueError(f"unexpected SFace input size {self.model.input_size}")

    def embed_aligned(self, crop_rgb: np.ndarray) -> np.ndarray:
        """128-d L2-normalised embedding of one aligned RGB crop (batch is fixed at 1)."""
        if crop_rgb.shape != (CROP_SIZE, CROP_SIZE, 3):
            raise ValueError(f"crop must be {CROP_SIZE}x{CROP_SIZE}x3, got {crop_rgb.shape}")
        crop_bgr = np.ascontiguousarray(crop_rgb[:, :, ::-1])  # get_feat swaps back to RGB
        feat = self.model.get_feat(crop_bgr)
        return l2_normalise(feat)
