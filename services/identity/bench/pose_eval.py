"""Pose gate, measured: how do match scores hold up as the selfie's head turns?

    .venv/bin/python services/identity/bench/pose_eval.py

The set is jmo_identity.face.sample_photos.people_photos(), loaded and compared the way
bench/copy_eval.py does it (its helpers are imported): each photo as the KTP
reference (a 420 px wide JPEG) and as the selfie (the bytes as given), each
selfie against every other photo's reference. Same person: genuine (photos
published twice are left out, see copy_eval.DUPLICATES); different people:
impostors.

The yaw gate is switched off on both sides (yaw_ratio_range (0, 1): the nose
anywhere between the eyes), everything else is the service's policy
(QualityPolicy() for the selfie, REFERENCE_POLICY for the KTP photo), so every
photo the other checks accept is measured. The selfie's yaw proxy, yaw_ratio
(where the nose falls between the eyes, 0.5 = facing the camera), is bucketed
by |yaw_ratio - 0.5|; the gate in force refuses |yaw_ratio - 0.5| > 0.3.

Prints, per bucket: the selfies in it, the genuine comparisons with their
score distribution (min, p5, median) and the false non-match rate at each
match threshold, and the impostor comparisons with the false match rate;
once against every reference, once against near-frontal references only
(|yaw_ratio - 0.5| < 0.1: a KTP photo is taken facing the camera).
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from copy_eval import _duplicate, _jpeg, _ktp
from PIL import Image

from jmo_identity.face.sample_photos import people_photos

# Buckets of |yaw_ratio - 0.5|, lower edges; the last one is open-ended.
EDGES = (0.0, 0.1, 0.2, 0.3, 0.4)
FRONTAL_REFERENCE = 0.1  # |yaw_ratio - 0.5| below this counts as a frontal KTP photo
YAW_OPEN = (0.0, 1.0)


@dataclass
class Photo:
    person: str
    path: Path
    selfie: object | None = None  # FaceAnalysis with the yaw gate off, None when refused otherwise
    reference: object | None = None
    selfie_refusal: str | None = None  # the other check that refused it
    gate_refusal: str | None = None  # what the policy in force answers for the selfie, None = accepted

    @property
    def yaw_offset(self) -> float:
        return abs(self.selfie.quality["yaw_ratio"] - 0.5)  # type: ignore[union-attr]

    @property
    def reference_offset(self) -> float:
        return abs(self.reference.quality["yaw_ratio"] - 0.5)  # type: ignore[union-attr]


@dataclass(frozen=True)
class Comparison:
    selfie: Photo
    reference: Photo
    score: float


def _bucket(offset: float) -> int:
    return max(i for i, lo in enumerate(EDGES) if offset >= lo)


def _label(i: int) -> str:
    return f"[{EDGES[i]:.1f}, {EDGES[i + 1]:.1f})" if i + 1 < len(EDGES) else f">= {EDGES[i]:.1f}"


def _analyse(engine, people: dict[str, list[Path]]) -> list[Photo]:
    from jmo_identity.face import REFERENCE_POLICY, FaceCaptureError, QualityPolicy
    from jmo_identity.face.quality import check

    selfie_policy = dataclasses.replace(QualityPolicy(), yaw_ratio_range=YAW_OPEN)
    reference_policy = dataclasses.replace(REFERENCE_POLICY, yaw_ratio_range=YAW_OPEN)
    photos = []
    for person, paths in people.items():
        for path in paths:
            photo = Photo(person, path)
            try:
                photo.selfie = engine.analyze(path.read_bytes(), policy=selfie_policy)
                try:
                    check(photo.selfie.quality, QualityPolicy())  # the gate in force
                except FaceCaptureError as exc:
                    photo.gate_refusal = exc.code
            except FaceCaptureError as exc:
                photo.selfie_refusal = exc.code
            try:
                photo.reference = engine.analyze(_jpeg(_ktp(Image.open(path))), policy=reference_policy)
            except FaceCaptureError:
                pass
            photos.append(photo)
            print(".", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return photos


def _pct(n: int, total: int) -> str:
    return f"{n / total:.1%} ({n}/{total})" if total else "-"


def _table(
    title: str, genuine: list[Comparison], impostor: list[Comparison], selfies: list[Photo], thresholds: list[float]
) -> None:
    print(f"\n{title}")
    cols = " | ".join(f"FNMR @{t:.2f}" for t in thresholds)
    fmr = " | ".join(f"FMR @{t:.2f}" for t in thresholds)
    print(f"| abs(yaw_ratio-0.5) | selfies | genuine | min | p5 | median | {cols} | impostor | {fmr} |")
    print("|---" * (7 + 2 * len(thresholds)) + "|")
    for i in range(len(EDGES)):
        n_selfies = sum(1 for p in selfies if _bucket(p.yaw_offset) == i)
        g = [c.score for c in genuine if _bucket(c.selfie.yaw_offset) == i]
        m = [c.score for c in impostor if _bucket(c.selfie.yaw_offset) == i]
        if g:
            stats = f"{min(g):.3f} | {np.percentile(g, 5):.3f} | {np.median(g):.3f}"
        else:
            stats = "- | - | -"
        fnmr = " | ".join(_pct(sum(s < t for s in g), len(g)) for t in thresholds)
        fm = " | ".join(_pct(sum(s >= t for s in m), len(m)) for t in thresholds)
        print(f"| {_label(i)} | {n_selfies} | {len(g)} | {stats} | {fnmr} | {len(m)} | {fm} |")


def main() -> None:
    from jmo_identity.face import FaceEngine, QualityPolicy
    from jmo_identity.settings import IdentitySettings

    in_force = QualityPolicy()
    cv2.setNumThreads(1)
    settings = IdentitySettings()
    thresholds = sorted({settings.face_threshold_default, *settings.face_thresholds.values()})
    people = people_photos()
    engine = FaceEngine.load(settings.face_cache_dir, threads=1)
    photos = _analyse(engine, people)

    genuine: list[Comparison] = []
    impostor: list[Comparison] = []
    for s in photos:
        for r in photos:
            if s is r or s.selfie is None or r.reference is None:
                continue
            c = Comparison(s, r, engine.similarity(s.selfie.embedding, r.reference.embedding))
            if s.person != r.person:
                impostor.append(c)
            elif not _duplicate(s.path, r.path):
                genuine.append(c)

    selfies = [p for p in photos if p.selfie is not None]
    multi = {p for p, v in people.items() if len(v) > 1}
    other = [f"{p.person}/{p.path.name}: {p.selfie_refusal}" for p in photos if p.selfie is None]
    offsets = sorted(((p.yaw_offset, p) for p in selfies), key=lambda t: -t[0])
    print(
        f"Set: {len(photos)} photos of {len(people)} people, {len(multi)} with several photos; "
        f"{len(selfies)} analysed as selfies with the yaw gate off "
        f"(refused by another check: {other or 'none'})"
    )
    refused = [f"{p.person}/{p.path.name}: {p.gate_refusal}" for p in selfies if p.gate_refusal]
    print(f"Refused by the capture checks in force (yaw_ratio_range {in_force.yaw_ratio_range}): {refused or 'none'}")
    print(
        "Most turned selfies (abs(yaw_ratio-0.5), person, several photos?): "
        + ", ".join(f"{o:.3f} {p.person}{'' if p.person in multi else ' (single)'}" for o, p in offsets[:6])
    )
    all_offsets = np.array([o for o, _ in offsets])
    print(
        f"abs(yaw_ratio-0.5) over the selfies: median {np.median(all_offsets):.3f}, "
        f"p90 {np.percentile(all_offsets, 90):.3f}, max {all_offsets.max():.3f}"
    )
    pitch = [p.selfie.quality["pitch_ratio"] for p in selfies]
    roll = [abs(p.selfie.quality["roll_deg"]) for p in selfies]
    print(
        f"Other pose figures over the selfies: pitch_ratio {min(pitch):.3f}-{max(pitch):.3f} "
        f"(gate {in_force.pitch_ratio_range}), abs(roll) at most {max(roll):.1f} degrees "
        f"(gate {in_force.max_roll_deg})"
    )
    print(f"Comparisons (selfie vs KTP): {len(genuine)} genuine, {len(impostor)} impostor")

    _table("Against every reference:", genuine, impostor, selfies, thresholds)
    frontal = [c for c in genuine if c.reference.reference_offset < FRONTAL_REFERENCE]
    frontal_imp = [c for c in impostor if c.reference.reference_offset < FRONTAL_REFERENCE]
    _table(
        f"Against near-frontal references only (abs(yaw_ratio-0.5) < {FRONTAL_REFERENCE}):",
        frontal,
        frontal_imp,
        selfies,
        thresholds,
    )

    turned = sorted(
        {id(c.selfie): c.selfie for c in genuine if c.selfie.yaw_offset >= EDGES[2]}.values(),
        key=lambda p: -p.yaw_offset,
    )
    if turned:
        print("\nGenuine scores of the most turned selfies (abs(yaw_ratio-0.5) >= 0.2), per selfie:")
        for p in turned:
            g = [c.score for c in genuine if c.selfie is p]
            print(
                f"  {p.person}/{p.path.name} yaw_ratio {p.selfie.quality['yaw_ratio']:.3f}: "
                f"{len(g)} comparisons, min {min(g):.3f}, median {np.median(g):.3f}"
            )
    empty = [_label(i) for i in range(len(EDGES)) if not any(_bucket(c.selfie.yaw_offset) == i for c in genuine)]
    if empty:
        print(f"\nNo genuine comparison with the selfie in: {', '.join(empty)}")


if __name__ == "__main__":
    main()
