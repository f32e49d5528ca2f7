"""The face engine behind a port the service layer can await.

The engine is CPU-bound and synchronous; it runs on its own small thread pool
so a queue of selfies neither blocks the event loop nor starves the default
pool that argon2 uses.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..face import REFERENCE_POLICY, FaceCaptureError, FaceEngine
from ..face.fingerprint import matched_keypoints
from ..service_layer.ports import CaptureRefused

__all__ = ["FaceCaptureError", "FacePort", "SelfieAnalysis"]


@dataclass(frozen=True)
class SelfieAnalysis:
    embedding: list[float]
    quality: dict[str, Any]
    face_hash: str
    face_keypoints: str


def plain(value: Any) -> Any:
    """JSON/BSON-safe copy of the engine's figures (it may hand out numpy scalars)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "item"):
        return plain(value.item())
    if isinstance(value, float):
        return round(value, 4)
    return value


class FacePort:
    def __init__(self, cache_dir: Path, threads: int, workers: int) -> None:
        self._cache_dir = cache_dir
        self._threads = threads
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="face")
        self._engine: FaceEngine | None = None
        self.load_error: str | None = None

    async def load(self) -> None:
        loop = asyncio.get_running_loop()
        self._engine = await loop.run_in_executor(self._pool, lambda: FaceEngine.load(self._cache_dir, self._threads))

    @property
    def ready(self) -> bool:
        return self._engine is not None

    @property
    def model_version(self) -> str:
        return FaceEngine.MODEL_VERSION

    async def analyze_selfie(self, image: bytes) -> SelfieAnalysis:
        return await self._analyze(image, reference=False)

    async def analyze_reference(self, image: bytes) -> SelfieAnalysis:
        # The KTP photo cannot be retaken, so it is held to a laxer quality policy.
        return await self._analyze(image, reference=True)

    async def _analyze(self, image: bytes, reference: bool) -> SelfieAnalysis:
        engine = self._engine
        if engine is None:
            raise RuntimeError("face engine not loaded")
        loop = asyncio.get_running_loop()
        policy = REFERENCE_POLICY if reference else None
        try:
            result = await loop.run_in_executor(self._pool, lambda: engine.analyze(image, policy=policy))
        except FaceCaptureError as exc:
            raise CaptureRefused(exc.code, exc.hint, exc.hint_id, plain(exc.quality)) from exc
        return SelfieAnalysis(
            embedding=[float(x) for x in result.embedding],
            quality=plain(result.quality),
            face_hash=result.face_hash,
            face_keypoints=result.face_keypoints,
        )

    def similarity(self, a: list[float], b: list[float]) -> float:
        return float(FaceEngine.similarity(np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)))

    def matched_keypoints(self, a: str, b: str) -> int:
        """How many corners of one aligned face crop match the other's (the copy check's signal)."""
        return matched_keypoints(a, b)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
