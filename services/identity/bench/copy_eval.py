"""Copy detection, measured: is a selfie the KTP photo itself, or a new photo of the face?

    .venv/bin/python services/identity/bench/copy_eval.py

The set is jmo_identity.face.sample_photos.people_photos() (fetched offline from the package
registries on first use): five people with eleven independent photos each
(dlib's examples/johns, from Debian's dlib source), person_a's three photos
(face_recognition sdist), and single photos of nine more people. Every photo
is compared the way the service compares: as the KTP reference (a 420 px wide
JPEG, the reference quality policy) and as a selfie (the bytes as given, the
selfie quality policy), each photo as selfie against every other photo as
KTP. Same person: genuine comparisons; different people: impostors.

Four groups of files in dlib's set are one photo published twice (the same
picture, differently cropped or colour-graded: DUPLICATES below, checked by
eye). They are not independent photos, so they are left out of the genuine
pairs and reported as one more class of copies.

Re-captures: each usable photo's KTP version is turned into the copies a
member could send instead of a selfie (RECAPTURES): re-encoded, resized,
cropped, brightened or darkened, greyscale, slightly rotated, and a
simulation of photographing it off a phone screen. Each is analysed as a
selfie and checked against that KTP photo.

Prints FMR/FNMR at the match thresholds, the share of genuine comparisons
refused as copies and the copies caught per class, under the rule before
(score >= 0.95 or a difference hash within 8 bits) and the configured one
(score >= face_copy_min_score or >= face_copy_min_matched_keypoints matched
corners), the margins, and what the fingerprint costs.
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageEnhance

from jmo_identity.face.sample_photos import people_photos

KTP_WIDTH = 420
SEED = 20261206
# The rule before: score, or a 64-bit difference hash of the crop within 8 bits.
BEFORE_MIN_SCORE = 0.95
BEFORE_MAX_HASH_DISTANCE = 8
# One photo, published twice (judged by eye: same pose, expression, light and background).
DUPLICATES = (
    {"000378_02340151.jpg", "000378_03227610.jpg"},  # john_shimkus
    {"000375_03227651.jpg", "000376_02340068.jpg"},  # john_shimkus
    {"000297_00470170.jpg", "000300_00470148.jpg", "000304_00470122.jpg"},  # john_simm
    {"000189_02159361.jpg", "000192_02159531.jpg"},  # john_salley
)
SAME_PHOTO = "same photo twice (in the set)"


def _jpeg(im: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    im.convert("RGB").save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def _ktp(im: Image.Image) -> Image.Image:
    im = im.convert("RGB")
    return im.resize((KTP_WIDTH, round(im.height * KTP_WIDTH / im.width)), Image.Resampling.LANCZOS)


def _screen_shot(ktp: Image.Image, rng: np.random.Generator) -> bytes:
    """The KTP photo shown on a phone screen and photographed: a simulation.

    Shown 3x enlarged on a pixel grid (sub-pixel gaps darken every third row
    and column), the display's gamma, a moire pattern from the grid beating
    with the camera's sensor (a sinusoid of random period 3.3-4.3 px and
    direction), the screen seen slightly off-axis (each corner moved by up to
    4% of the width), the camera's blur and noise, and the camera's JPEG.
    """
    a = np.asarray(ktp.resize((ktp.width * 3, ktp.height * 3), Image.Resampling.BILINEAR), dtype=np.float32) / 255
    h, w = a.shape[:2]
    grid = np.ones((h, w, 1), np.float32)
    grid[::3] *= 0.8
    grid[:, ::3] *= 0.8
    a = np.clip(a * grid, 0, 1) ** 1.25
    yy, xx = np.mgrid[0:h, 0:w]
    freq, angle = rng.uniform(0.23, 0.3), rng.uniform(0, np.pi)
    a = np.clip(a + 0.05 * np.sin(2 * np.pi * freq * (xx * np.cos(angle) + yy * np.sin(angle)))[..., None], 0, 1)
    d = 0.04 * w
    corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    moved = corners + np.float32([[1, 1], [-1, 1], [-1, -1], [1, -1]]) * rng.uniform(0, d, (4, 2)).astype(np.float32)
    warped = cv2.warpPerspective(
        (a * 255).astype(np.uint8), cv2.getPerspectiveTransform(corners, moved), (w, h), borderValue=(30, 30, 30)
    )
    warped = cv2.GaussianBlur(warped, (0, 0), 1.2)
    noisy = np.clip(warped.astype(np.float32) + rng.normal(0, 4, warped.shape), 0, 255).astype(np.uint8)
    return _jpeg(Image.fromarray(noisy).resize((w * 2 // 3, h * 2 // 3), Image.Resampling.BILINEAR), 85)


def _rotate(im: Image.Image, degrees: float) -> Image.Image:
    return im.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(128, 128, 128))


# Per class, the copies made of one KTP photo (Image -> JPEG bytes).
RECAPTURES: dict[str, list[Callable[[Image.Image, np.random.Generator], bytes]]] = {
    "re-encoded (JPEG q30, q60)": [lambda k, r: _jpeg(k, 30), lambda k, r: _jpeg(k, 60)],
    "resized (x2, x0.75)": [
        lambda k, r: _jpeg(k.resize((k.width * 2, k.height * 2), Image.Resampling.BICUBIC)),
        lambda k, r: _jpeg(k.resize((k.width * 3 // 4, k.height * 3 // 4), Image.Resampling.LANCZOS)),
    ],
    "cropped (tighter x2, off-centre)": [
        lambda k, r: _jpeg(
            k.crop((k.width // 10, k.height // 10, k.width - k.width // 10, k.height - k.height // 12)).resize(
                (k.width * 2, k.height * 2), Image.Resampling.BICUBIC
            )
        ),
        lambda k, r: _jpeg(k.crop((0, k.height // 8, k.width - k.width // 12, k.height))),
    ],
    "brightened x1.35 / darkened x0.6": [
        lambda k, r: _jpeg(ImageEnhance.Brightness(k.resize((k.width * 2, k.height * 2))).enhance(1.35)),
        lambda k, r: _jpeg(ImageEnhance.Brightness(k.resize((k.width * 2, k.height * 2))).enhance(0.6)),
    ],
    "greyscale": [lambda k, r: _jpeg(k.resize((k.width * 2, k.height * 2)).convert("L"))],
    "rotated (+3, -5 degrees)": [
        lambda k, r: _jpeg(_rotate(k.resize((k.width * 2, k.height * 2), Image.Resampling.BICUBIC), 3)),
        lambda k, r: _jpeg(_rotate(k.resize((k.width * 2, k.height * 2), Image.Resampling.BICUBIC), -5)),
    ],
    "photo of a screen (simulated)": [_screen_shot, _screen_shot],
}


@dataclass
class Photo:
    person: str
    path: Path
    reference: object | None = None  # FaceAnalysis of the KTP version, None when refused
    selfie: object | None = None  # FaceAnalysis of the photo as given
    copies: dict[str, list[object | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class Pair:
    score: float
    hash_distance: int
    matched: int

    def copy_before(self) -> bool:
        return self.score >= BEFORE_MIN_SCORE or self.hash_distance <= BEFORE_MAX_HASH_DISTANCE


def _duplicate(a: Path, b: Path) -> bool:
    return any(a.name in group and b.name in group for group in DUPLICATES)


def _analyse(engine, people: dict[str, list[Path]]) -> list[Photo]:
    from jmo_identity.face import REFERENCE_POLICY, FaceCaptureError

    rng = np.random.default_rng(SEED)
    photos: list[Photo] = []
    for person, paths in people.items():
        for path in paths:
            photo = Photo(person, path)
            ktp = _ktp(Image.open(path))
            try:
                photo.reference = engine.analyze(_jpeg(ktp), policy=REFERENCE_POLICY)
            except FaceCaptureError:
                pass
            try:
                photo.selfie = engine.analyze(path.read_bytes())
            except FaceCaptureError:
                pass
            if photo.reference is not None:
                for label, makers in RECAPTURES.items():
                    results: list[object | None] = []
                    for make in makers:
                        try:
                            results.append(engine.analyze(make(ktp, rng)))
                        except FaceCaptureError:
                            results.append(None)  # refused as a bad capture: no copy check
                    photo.copies[label] = results
            photos.append(photo)
            print(".", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return photos


def _pair(engine, selfie, reference) -> Pair:
    from jmo_identity.face.fingerprint import hash_distance, matched_keypoints

    return Pair(
        score=round(engine.similarity(selfie.embedding, reference.embedding), 4),
        hash_distance=hash_distance(selfie.face_hash, reference.face_hash),
        matched=matched_keypoints(selfie.face_keypoints, reference.face_keypoints),
    )


def _pct(n: int, total: int) -> str:
    return f"{n / total:.1%} ({n}/{total})" if total else "-"


def _fingerprint_cost(photos: list[Photo]) -> tuple[float, float]:
    """Median ms of face_keypoints on an aligned crop and of one matched_keypoints call."""
    from jmo_identity.face.fingerprint import face_keypoints, matched_keypoints
    from jmo_identity.face.recognizer import align

    crops = []
    for p in photos:
        if p.selfie is None:
            continue
        rgb = np.asarray(Image.open(p.path).convert("RGB"))
        crops.append(align(rgb, p.selfie.landmarks))
    extract, match = [], []
    prints = []
    for crop in crops:
        t = time.perf_counter()
        prints.append(face_keypoints(crop))
        extract.append(time.perf_counter() - t)
    for a, b in zip(prints, prints[1:] + prints[:1]):
        t = time.perf_counter()
        matched_keypoints(a, b)
        match.append(time.perf_counter() - t)
    return float(np.median(extract)) * 1e3, float(np.median(match)) * 1e3


def main() -> None:
    from jmo_identity.domain.biometrics import FacePolicy
    from jmo_identity.face import FaceEngine
    from jmo_identity.settings import IdentitySettings

    cv2.setNumThreads(1)
    settings = IdentitySettings()
    policy = FacePolicy(
        copy_min_score=settings.face_copy_min_score, copy_min_matched_keypoints=settings.face_copy_min_matched_keypoints
    )
    people = people_photos()
    engine = FaceEngine.load(settings.face_cache_dir, threads=1)
    photos = _analyse(engine, people)

    genuine: list[Pair] = []
    impostor: list[Pair] = []
    copies: dict[str, list[Pair | None]] = {label: [] for label in RECAPTURES}
    copies[SAME_PHOTO] = []
    for s in photos:
        for r in photos:
            if s is r or s.selfie is None or r.reference is None:
                continue
            pair = _pair(engine, s.selfie, r.reference)
            if s.person != r.person:
                impostor.append(pair)
            elif _duplicate(s.path, r.path):
                copies[SAME_PHOTO].append(pair)
            else:
                genuine.append(pair)
    for r in photos:
        for label, results in r.copies.items():
            copies[label].extend(None if c is None else _pair(engine, c, r.reference) for c in results)

    multi = {p: len(v) for p, v in people.items() if len(v) > 1}
    usable = sum(1 for p in photos if p.selfie is not None or p.reference is not None)
    refused_ref = [f"{p.person}/{p.path.name}" for p in photos if p.reference is None]
    refused_selfie = [f"{p.person}/{p.path.name}" for p in photos if p.selfie is None]
    print(
        f"Set: {len(photos)} photos of {len(people)} people; {len(multi)} people with several independent photos "
        f"({', '.join(f'{k} {v}' for k, v in multi.items())}), {len(people) - len(multi)} with one."
    )
    print(
        f"  usable: {usable}; refused as KTP reference: {refused_ref or 'none'}; "
        f"refused as selfie: {refused_selfie or 'none'}"
    )
    print(
        f"  same photo published twice, left out of the genuine pairs: "
        f"{'; '.join(', '.join(sorted(g)) for g in DUPLICATES)}"
    )
    print(f"  comparisons (selfie vs KTP, both ways): {len(genuine)} genuine, {len(impostor)} impostor")

    print("\nMatching:")
    print("| threshold | FMR | FNMR |\n|---|---|---|")
    for t in sorted({settings.face_threshold_default, *settings.face_thresholds.values()}):
        fm = sum(p.score >= t for p in impostor)
        fnm = sum(p.score < t for p in genuine)
        print(f"| {t:.2f} | {_pct(fm, len(impostor))} | {_pct(fnm, len(genuine))} |")
    print(
        f"genuine scores {min(p.score for p in genuine):.3f}-{max(p.score for p in genuine):.3f}; "
        f"impostor scores at most {max(p.score for p in impostor):.3f}"
    )

    after = lambda p: policy.is_copy_of_reference(p.score, p.matched)  # noqa: E731
    print(
        "\nCopy check: before = score >= 0.95 or difference hash within 8 bits; after = score >= "
        f"{policy.copy_min_score} or >= {policy.copy_min_matched_keypoints} matched corners"
    )
    print("| | before | after |\n|---|---|---|")
    print(
        f"| genuine comparisons refused as copies | {_pct(sum(p.copy_before() for p in genuine), len(genuine))} "
        f"| {_pct(sum(map(after, genuine)), len(genuine))} |"
    )
    print(
        f"| impostor comparisons refused as copies | {_pct(sum(p.copy_before() for p in impostor), len(impostor))} "
        f"| {_pct(sum(map(after, impostor)), len(impostor))} |"
    )
    for label, pairs in copies.items():
        checked = [p for p in pairs if p is not None]
        refused = len(pairs) - len(checked)
        note = f" ({refused} of {len(pairs)} refused as bad captures)" if refused else ""
        print(
            f"| copies caught: {label}{note} | {_pct(sum(p.copy_before() for p in checked), len(checked))} "
            f"| {_pct(sum(map(after, checked)), len(checked))} |"
        )
    lost = sum(1 for pairs in copies.values() for p in pairs if p is not None and p.copy_before() and not after(p))
    print(f"copies caught before and missed after: {lost}")

    g = np.array([p.matched for p in genuine])
    print(
        f"\nMatched corners: genuine max {g.max()}, p99 {np.percentile(g, 99):.0f}, median {np.median(g):.0f}; "
        f"impostor max {max(p.matched for p in impostor)}"
    )
    for label, pairs in copies.items():
        m = [p.matched for p in pairs if p is not None]
        print(f"  {label}: min {min(m)}, median {np.median(m):.0f}")
    hd = [p.hash_distance for p in genuine]
    print(f"genuine hash distances {min(hd)}-{max(hd)} bits; highest genuine score {max(p.score for p in genuine):.3f}")
    extract, match = _fingerprint_cost(photos)
    print(
        f"\nFingerprint cost on this machine (one thread): face_keypoints {extract:.2f} ms per photo, "
        f"matched_keypoints {match:.2f} ms per comparison (medians)"
    )


if __name__ == "__main__":
    main()
