"""The face engine: bytes -> checked capture -> embedding -> similarity.

Load once per process (~110 MB of RSS for the two sessions, ~0.3 s to build);
``analyze`` is thread-safe (onnxruntime's run() is, and it releases the GIL,
as do PIL's decoders), so a service can call it from a thread pool. It is
CPU-bound and synchronous: never call it on the event loop itself.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from . import quality as q
from .detector import Detection, YuNetDetector
from .errors import FaceCaptureError
from .fingerprint import face_hash, face_keypoints
from .image_input import DecodeLimits, decode_image
from .models import MODEL_VERSION, prepare_models
from .quality import QualityPolicy
from .recognizer import SFaceRecognizer, align, cosine_similarity

__all__ = ["MODEL_VERSION", "FaceAnalysis", "FaceEngine", "FaceCaptureError"]


@dataclass(frozen=True)
class FaceAnalysis:
    embedding: np.ndarray  # (128,) float32, L2-normalised
    quality: dict[str, Any]
    # In the pixels of the original photo after EXIF rotation and after the
    # quarter turn in quality["rotation_applied_deg"] (0 for upright photos).
    box: tuple[float, float, float, float]  # x1, y1, x2, y2
    landmarks: np.ndarray = field(repr=False)  # (5, 2), same coordinates as box
    model_version: str = MODEL_VERSION
    # dHash of the aligned crop (fingerprint.py), stored with each reference.
    face_hash: str = ""
    # Corners of the aligned crop (fingerprint.py): how copy detection tells the photo itself.
    face_keypoints: str = ""


# How much better a turned copy must score before it replaces the photo as
# given (in the half-resolution mosaic the upright turn led by >= 0.09 on the
# test photos).
_ORIENT_MARGIN = 0.02
# A face found at least this confidently in the photo as given is taken as
# upright without searching the other turns. On the test photos and their
# blurred, darkened, brightened, greyscale, low-contrast, shrunk and 12-degree
# tilted variants, upright faces that passed the checks scored 0.91-0.95 and
# turned ones (upside down mostly; sideways faces are rarely found at all) at
# most 0.89, so a turned photo is not mistaken for upright; an upright face
# below this still gets the search, as every photo did before. Across
# jmo_identity.face.sample_photos.people_photos() the 12 full-size photos scored 0.923-0.951
# upright, the 55 tight 150 px portraits 0.71-0.88 (they get the search), and
# the 201 turned copies of all 67 at most 0.886; each copy was turned back.
UPRIGHT_SCORE = 0.92


def upright_as_given(detections: list[Detection]) -> bool:
    """Whether the photo as given needs no orientation search."""
    return bool(detections) and detections[0].score >= UPRIGHT_SCORE


_engines: dict[tuple[Any, ...], FaceEngine] = {}
_engines_lock = threading.Lock()


class FaceEngine:
    MODEL_VERSION: ClassVar[str] = MODEL_VERSION

    def __init__(
        self,
        detector: YuNetDetector,
        recognizer: SFaceRecognizer,
        *,
        policy: QualityPolicy = QualityPolicy(),
        limits: DecodeLimits = DecodeLimits(),
        auto_orient: bool = True,
    ) -> None:
        self.detector = detector
        self.recognizer = recognizer
        self.policy = policy
        self.limits = limits
        self.auto_orient = auto_orient
        self.model_version = MODEL_VERSION

    @classmethod
    def load(
        cls,
        cache_dir: Path | str,
        threads: int = 1,
        *,
        policy: QualityPolicy = QualityPolicy(),
        limits: DecodeLimits = DecodeLimits(),
        source_dir: Path | str | None = None,
        auto_orient: bool = True,
    ) -> FaceEngine:
        """The process-wide engine for this configuration (built on first call).

        Raises ModelIntegrityError when a model file fails its sha256 check:
        let it fail the service's readiness rather than each request.
        """
        key = (str(Path(cache_dir).resolve()), threads, policy, limits, str(source_dir), auto_orient)
        with _engines_lock:
            engine = _engines.get(key)
            if engine is None:
                paths = prepare_models(cache_dir, source_dir)
                engine = cls(
                    YuNetDetector(paths.detector, threads=threads),
                    SFaceRecognizer(paths.recognizer, threads=threads),
                    policy=policy,
                    limits=limits,
                    auto_orient=auto_orient,
                )
                engine._warm_up()
                _engines[key] = engine
            return engine

    def _warm_up(self) -> None:
        # The first call pays one-off costs (PIL registering its plugins:
        # ~60 ms; ORT arenas; OpenCV/skimage first use): pay them at startup
        # instead of in the first member's request.
        buf = io.BytesIO()
        exif = Image.Exif()
        exif[0x0112] = 1  # so the EXIF parser is loaded too
        Image.new("RGB", (96, 96), (128, 128, 128)).save(buf, format="JPEG", exif=exif.tobytes())
        rgb = decode_image(buf.getvalue(), self.limits).rgb
        self.detector.detect(rgb)
        marks = np.array([[38, 52], [74, 52], [56, 72], [42, 92], [71, 92]], dtype=np.float32)
        self.recognizer.embed_aligned(align(rgb, marks))

    def analyze(self, image_bytes: bytes, *, policy: QualityPolicy | None = None) -> FaceAnalysis:
        """Decode, check and embed one photo; FaceCaptureError if unusable.

        ``policy`` overrides the engine's, e.g. a laxer one for the registry's
        reference photo, which the member cannot retake.
        """
        decoded = decode_image(image_bytes, self.limits)
        result = self.analyze_array(decoded.rgb, policy=policy)
        # Map back from the working array to the upright original's pixels.
        ow, oh = decoded.original_size
        if decoded.exif_orientation in (5, 6, 7, 8):
            ow, oh = oh, ow
        factor = max(ow, oh) / max(decoded.rgb.shape[:2])
        quality = dict(result.quality)
        quality.update({"image_width": ow, "image_height": oh, "image_format": decoded.format})
        return FaceAnalysis(
            embedding=result.embedding,
            quality=quality,
            box=tuple(v * factor for v in result.box),  # type: ignore[arg-type]
            landmarks=result.landmarks * factor,
            face_hash=result.face_hash,
            face_keypoints=result.face_keypoints,
        )

    def _detect_upright(self, rgb: np.ndarray) -> tuple[np.ndarray, list[Detection], int]:
        """Detections in whichever quarter turn of the photo looks upright.

        Photos whose EXIF orientation was stripped arrive sideways or upside
        down. YuNet then either misses the face or, worse, finds it (score
        0.06-0.2 lower) and returns landmarks in upright order anyway, so the
        pose check passes and the face is embedded upside down or sideways: a
        certain mismatch. So only a face found at ``UPRIGHT_SCORE`` or better
        in the photo as given is taken as it is; otherwise the four turns are
        scored in one extra detector run (a 2x2 mosaic, ~20 ms on one core),
        the photo as given winning ties within ``_ORIENT_MARGIN``, and only a
        photo that really is turned pays for turning the full image.
        """
        detections = self.detector.detect(rgb)
        if upright_as_given(detections):
            return rgb, detections, 0
        return self._search_turns(rgb, detections)

    def _search_turns(self, rgb: np.ndarray, detections: list[Detection]) -> tuple[np.ndarray, list[Detection], int]:
        """The quarter turn search; ``detections`` are those of the photo as given."""
        scores = self.detector.quarter_turn_scores(rgb)
        scores[0] += _ORIENT_MARGIN
        turns = int(np.argmax(scores))
        if turns:
            turned = np.ascontiguousarray(np.rot90(rgb, turns))
            turned_detections = self.detector.detect(turned)
            if turned_detections:
                return turned, turned_detections, turns
        return rgb, detections, 0

    def analyze_array(self, rgb: np.ndarray, *, policy: QualityPolicy | None = None) -> FaceAnalysis:
        """As analyze() for an already decoded HxWx3 uint8 RGB array."""
        pol = policy or self.policy
        image, detections, turns = (
            self._detect_upright(rgb) if self.auto_orient else (rgb, self.detector.detect(rgb), 0)
        )
        face = q.select_face(detections, pol)
        crop = align(image, face.landmarks)
        figures = q.measure(image.shape, face, crop, faces_detected=len(detections))
        figures["rotation_applied_deg"] = 90 * turns  # counter-clockwise
        q.check(figures, pol)
        return FaceAnalysis(
            embedding=self.recognizer.embed_aligned(crop),
            quality=figures,
            box=face.box,
            landmarks=face.landmarks.copy(),
            face_hash=face_hash(crop),
            face_keypoints=face_keypoints(crop),
        )

    @staticmethod
    def similarity(a: np.ndarray, b: np.ndarray) -> float:
        """Cosine similarity of two embeddings, in [-1, 1]."""
        return cosine_similarity(a, b)
