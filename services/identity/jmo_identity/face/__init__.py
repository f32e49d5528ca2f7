"""Face engine for biometric verification (pure compute: no web, DB or bus).

Usage::

    engine = FaceEngine.load(cache_dir, threads=1)       # once per process
    selfie = engine.analyze(selfie_bytes)                # FaceCaptureError -> 422
    reference = engine.analyze(ktp_jpeg, policy=REFERENCE_POLICY)
    score = engine.similarity(selfie.embedding, reference.embedding)

``FaceEngine`` and ``FaceAnalysis`` are imported on first use: importing
insightface (scipy, skimage, onnx, requests) costs ~1.5 s and ~100 MB, which
code that only needs the error type or the decoder should not pay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import CAPTURE_HINTS, FaceCaptureError, ModelIntegrityError
from .image_input import DecodedImage, DecodeLimits, decode_image
from .models import MODEL_VERSION, ModelPaths, prepare_models
from .quality import REFERENCE_POLICY, QualityPolicy

if TYPE_CHECKING:
    from .engine import FaceAnalysis, FaceEngine

__all__ = [
    "CAPTURE_HINTS",
    "MODEL_VERSION",
    "DecodeLimits",
    "DecodedImage",
    "FaceAnalysis",
    "FaceCaptureError",
    "FaceEngine",
    "ModelIntegrityError",
    "ModelPaths",
    "QualityPolicy",
    "REFERENCE_POLICY",
    "decode_image",
    "prepare_models",
]


def __getattr__(name: str) -> Any:
    if name in ("FaceEngine", "FaceAnalysis"):
        from . import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
