"""Threshold calibration on the offline face photos: genuine and impostor scores, FMR and FNMR.

    python services/identity/bench/calibrate.py

What it measures, the way the service compares: the reference is the photo
as a KTP-sized JPEG (420 px wide) analysed with the reference quality policy;
the probe ("selfie") is the photo as given. The set is jmo_identity.face.sample_photos.face_photos():
person_a (three independent photos), person_b, astronaut, a 112 px crop of a
fourth person, and the six people of insightface's group photo (one photo
each). Crops and the RGBA copy of person_a's photos are not independent and
are left out of the genuine pairs; they reappear below as copies.

Prints: the set, every genuine score, the impostor distribution, FMR/FNMR at
a range of thresholds (the configured default and stricter ones marked), the
genuine scores of degraded captures, and what copies of the KTP photo look
like to the copy check (score and face-fingerprint distance).
"""

from __future__ import annotations

import io
import itertools
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from jmo_identity.face.sample_photos import face_photos

REPO = Path(__file__).resolve().parents[3]
KTP_WIDTH = 420


def _photos() -> dict[str, Path]:
    return face_photos()


def _jpeg(im: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    im.convert("RGB").save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def _ktp(im: Image.Image) -> Image.Image:
    return im.convert("RGB").resize((KTP_WIDTH, round(im.height * KTP_WIDTH / im.width)))


class Sample:
    def __init__(
        self, identity: str, name: str, probe: np.ndarray, reference: np.ndarray | None, ref_hash: str | None
    ) -> None:
        self.identity, self.name = identity, name
        self.probe, self.reference, self.ref_hash = probe, reference, ref_hash


def _samples(engine, photos: dict[str, Path]) -> list[Sample]:
    from jmo_identity.face import REFERENCE_POLICY, FaceCaptureError
    from jmo_identity.face.recognizer import align

    out: list[Sample] = []
    singles = [
        ("A", "person_a_1"),
        ("A", "person_a_2"),
        ("A", "person_a_3"),
        ("B", "person_b_1"),
        ("C", "astronaut"),
        ("D", "tom_hanks_crop"),
    ]
    for identity, name in singles:
        image = Image.open(photos[name]).convert("RGB")
        probe = engine.analyze(photos[name].read_bytes(), policy=REFERENCE_POLICY)
        try:
            ref = engine.analyze(_jpeg(_ktp(image)), policy=REFERENCE_POLICY)
            out.append(Sample(identity, name, probe.embedding, ref.embedding, ref.face_hash))
        except FaceCaptureError:  # the 112 px crop cannot be a KTP photo any smaller
            out.append(Sample(identity, name, probe.embedding, probe.embedding, probe.face_hash))
    group = np.asarray(Image.open(photos["group_six"]).convert("RGB"))
    for i, det in enumerate(engine.detector.detect(group)):
        emb = engine.recognizer.embed_aligned(align(group, det.landmarks))
        out.append(Sample(f"G{i}", f"group_six[{i}]", emb, emb, None))
    return out


def _rates(genuine: list[float], impostor: list[float], threshold: float) -> tuple[float, float, int, int]:
    false_matches = sum(s >= threshold for s in impostor)
    false_non_matches = sum(s < threshold for s in genuine)
    return false_matches / len(impostor), false_non_matches / len(genuine), false_matches, false_non_matches


def _degraded(engine, photos: dict[str, Path], references: dict[str, np.ndarray]) -> list[tuple[str, str, float | str]]:
    from jmo_identity.face import FaceCaptureError

    transforms: dict[str, Callable[[Image.Image], bytes]] = {
        "blur sigma 2": lambda im: _jpeg(im.filter(ImageFilter.GaussianBlur(2))),
        "dark x0.4": lambda im: _jpeg(ImageEnhance.Brightness(im).enhance(0.4)),
        "bright x1.5": lambda im: _jpeg(ImageEnhance.Brightness(im).enhance(1.5)),
        "low contrast x0.5": lambda im: _jpeg(ImageEnhance.Contrast(im).enhance(0.5)),
        "jpeg q15": lambda im: _jpeg(im, 15),
        "greyscale": lambda im: _jpeg(im.convert("L")),
        "tilt 12 deg": lambda im: _jpeg(im.rotate(12, expand=True, fillcolor=(128, 128, 128))),
        "half size": lambda im: _jpeg(im.resize((im.width // 2, im.height // 2))),
    }
    rows = []
    for probe_name, ref_name in itertools.permutations(["person_a_1", "person_a_2", "person_a_3"], 2):
        base = Image.open(photos[probe_name]).convert("RGB")
        for label, make in transforms.items():
            try:
                emb = engine.analyze(make(base)).embedding
                rows.append((f"{probe_name} vs KTP {ref_name}", label, engine.similarity(emb, references[ref_name])))
            except FaceCaptureError as err:
                rows.append((f"{probe_name} vs KTP {ref_name}", label, f"refused ({err.code})"))
    return rows


def _copies(engine, photos: dict[str, Path]) -> list[tuple[str, float, int]]:
    from jmo_identity.face import REFERENCE_POLICY
    from jmo_identity.face.fingerprint import matched_keypoints

    ktp = _ktp(Image.open(photos["person_a_1"]))
    ref = engine.analyze(_jpeg(ktp), policy=REFERENCE_POLICY)
    big = ktp.resize((ktp.width * 2, ktp.height * 2))
    variants = {
        "copy: resized x2": _jpeg(big),
        "copy: resized x3, jpeg q60": _jpeg(ktp.resize((ktp.width * 3, ktp.height * 3)), 60),
        "copy: brighter x1.3": _jpeg(ImageEnhance.Brightness(big).enhance(1.3)),
        "copy: contrast x0.7": _jpeg(ImageEnhance.Contrast(big).enhance(0.7)),
        "copy: cropped": _jpeg(ktp.crop((40, 30, ktp.width - 40, ktp.height - 20)).resize((800, 1000))),
        "copy: rotated 4 deg": _jpeg(big.rotate(4, expand=True, fillcolor=(200, 200, 200))),
        "copy: greyscale": _jpeg(big.convert("L")),
        "copy: the full-size original": photos["person_a_1"].read_bytes(),
        "independent: person_a_2": photos["person_a_2"].read_bytes(),
        "independent: person_a_3": photos["person_a_3"].read_bytes(),
        "crop of the original (partial face)": photos["person_a_partial"].read_bytes(),
        "other person: person_b_1": photos["person_b_1"].read_bytes(),
    }
    rows = []
    for label, data in variants.items():
        probe = engine.analyze(data, policy=REFERENCE_POLICY)
        rows.append(
            (
                label,
                engine.similarity(probe.embedding, ref.embedding),
                matched_keypoints(probe.face_keypoints, ref.face_keypoints),
            )
        )
    return rows


def main() -> None:
    from jmo_identity.face import FaceEngine
    from jmo_identity.settings import IdentitySettings

    settings = IdentitySettings()
    default = settings.face_threshold_default
    strict = sorted(set(settings.face_thresholds.values()))
    photos = _photos()
    engine = FaceEngine.load(settings.face_cache_dir)
    samples = _samples(engine, photos)

    genuine, impostor = [], []
    genuine_rows = []
    for probe, ref in itertools.permutations(samples, 2):
        score = engine.similarity(probe.probe, ref.reference)
        if probe.identity == ref.identity:
            genuine.append(score)
            genuine_rows.append((probe.name, ref.name, score))
        else:
            impostor.append(score)

    identities = sorted({s.identity for s in samples})
    print(
        f"Set: {len(samples)} photos of {len(identities)} people; "
        f"{len(genuine)} genuine comparisons (ordered: selfie vs KTP-sized reference), "
        f"{len(impostor)} impostor comparisons."
    )
    print("\nGenuine scores:")
    for probe, ref, score in genuine_rows:
        print(f"  {probe:<12} vs KTP of {ref:<12} {score:.3f}")
    print(
        f"\nImpostor scores: max {max(impostor):.3f}, mean {statistics.mean(impostor):.3f}, "
        f"p99 {np.percentile(impostor, 99):.3f}, min {min(impostor):.3f}"
    )
    print(f"Genuine scores:  min {min(genuine):.3f}, mean {statistics.mean(genuine):.3f}, max {max(genuine):.3f}")

    print("\nthreshold   FMR (false matches)     FNMR (false non-matches)")
    for t in sorted({0.363, 0.40, 0.45, default, 0.55, *strict, 0.65, 0.70, 0.75}):
        fmr, fnmr, fm, fnm = _rates(genuine, impostor, t)
        mark = " <- default" if t == default else (" <- strict (configured)" if t in strict else "")
        print(f"  {t:5.3f}    {fmr:6.1%} ({fm}/{len(impostor)})      {fnmr:6.1%} ({fnm}/{len(genuine)}){mark}")
    # No false match in n trials: the 95% upper bound of the true rate is about 3/n (rule of three).
    print(
        f"  (0 of {len(impostor)} impostor comparisons bounds the FMR below ~{3 / len(impostor):.1%} "
        f"at 95% confidence; 0 of {len(genuine)} genuine ones bounds the FNMR below ~{3 / len(genuine):.0%})"
    )

    references = {s.name: s.reference for s in samples if s.identity == "A"}
    degraded = _degraded(engine, photos, references)
    scores = [s for _, _, s in degraded if isinstance(s, float)]
    print(
        f"\nDegraded captures of person_a (not independent samples): {len(degraded)} comparisons, "
        f"{len(scores)} passed the capture checks"
    )
    by_label: dict[str, list[float | str]] = {}
    for _, label, score in degraded:
        by_label.setdefault(label, []).append(score)
    for label, values in by_label.items():
        nums = [v for v in values if isinstance(v, float)]
        refused = len(values) - len(nums)
        shown = f"min {min(nums):.3f} max {max(nums):.3f}" if nums else "-"
        print(f"  {label:<18} {shown}" + (f"  ({refused} refused as bad captures)" if refused else ""))
    for t in (default, *strict):
        misses = sum(s < t for s in scores)
        print(
            f"  FNMR at {t:.2f} on the degraded captures that passed: {misses / len(scores):.1%} "
            f"({misses}/{len(scores)})"
        )

    print(
        f"\nCopies of the KTP photo vs the KTP photo (copy check: score >= {settings.face_copy_min_score} "
        f"or >= {settings.face_copy_min_matched_keypoints} matched corners; bench/copy_eval.py measures it):"
    )
    for label, score, shared in _copies(engine, photos):
        copy = score >= settings.face_copy_min_score or shared >= settings.face_copy_min_matched_keypoints
        print(f"  {label:<38} score {score:.3f}  matched corners {shared:3d}  -> {'copy' if copy else 'new capture'}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
