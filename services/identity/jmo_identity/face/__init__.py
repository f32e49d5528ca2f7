"""Face engine for biometric verification (pure compute: no web, DB or bus).

Usage::

    engine = FaceEngine.load(cache_dir, threads=1)       # once per process
    selfie = engine.analyze(selfie_bytes)                # FaceCaptureError -> 422
    reference = engine.analyze(ktp_jpeg, policy=REFERENCE_POLICY)
    score = engine.similarity(selfie.embedding, reference.embedding)
"""

from .engine import FaceAnalysis, FaceEngine
from .errors import CAPTURE_HINTS, FaceCaptureError, ModelIntegrityError
from .image_input import DecodeLimits, DecodedImage, decode_image
from .models import MODEL_VERSION, ModelPaths, prepare_models
from .quality import REFERENCE_POLICY, QualityPolicy

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
