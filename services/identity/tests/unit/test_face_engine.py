"""The face engine on the real models and real photos (all offline).

Photos come from jmo_identity.face.sample_photos (face_recognition 1.3.0 sdist from
PyPI, scikit-image, insightface's wheel). person_a_1..3 are three independent
photos of one person; person_b_1 and astronaut are two other people;
group_six holds six more.
"""

from __future__ import annotations

import io
import itertools
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageFilter

from jmo_identity.face import (
    MODEL_VERSION,
    REFERENCE_POLICY,
    FaceAnalysis,
    FaceCaptureError,
    FaceEngine,
)
from jmo_identity.face.recognizer import align
from jmo_identity.face.sample_photos import face_photos

# recognizer.py silences this at import, but pytest resets warning filters
# around collection and each test.
pytestmark = pytest.mark.filterwarnings("ignore:`estimate` is deprecated:FutureWarning")

DEFAULT_THRESHOLD = 0.50
STRICT_THRESHOLD = 0.60


@pytest.fixture(scope="module")
def photos() -> dict[str, Path]:
    return face_photos()


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> FaceEngine:
    return FaceEngine.load(tmp_path_factory.mktemp("face-models"), threads=1)


@pytest.fixture(scope="module")
def analysed(engine: FaceEngine, photos: dict[str, Path]) -> dict[str, FaceAnalysis]:
    names = ["person_a_1", "person_a_2", "person_a_3", "person_b_1", "astronaut"]
    return {n: engine.analyze(photos[n].read_bytes()) for n in names}


def _rgb(path: Path) -> Image.Image:
    return Image.open(path).convert("RGB")


def _jpeg(im: Image.Image, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=92, **kw)
    return buf.getvalue()


def _png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def _capture_code(engine: FaceEngine, data: bytes) -> FaceCaptureError:
    with pytest.raises(FaceCaptureError) as info:
        engine.analyze(data)
    return info.value


def test_load_is_once_per_process(engine: FaceEngine, tmp_path_factory: pytest.TempPathFactory) -> None:
    assert engine.model_version == MODEL_VERSION == FaceEngine.MODEL_VERSION
    cache = Path(engine.recognizer.model.model_file).parent
    assert FaceEngine.load(cache, threads=1) is engine


def test_analysis_shape(analysed: dict[str, FaceAnalysis]) -> None:
    a = analysed["person_a_1"]
    assert a.embedding.shape == (128,) and a.embedding.dtype == np.float32
    assert np.linalg.norm(a.embedding) == pytest.approx(1.0, abs=1e-5)
    assert a.landmarks.shape == (5, 2)
    x1, y1, x2, y2 = a.box
    assert 0 <= x1 < x2 <= 910 and 0 <= y1 < y2 <= 1137  # original pixels
    for key in ("detector_score", "face_width_px", "brightness", "sharpness", "roll_deg", "yaw_ratio"):
        assert key in a.quality
    # Upright photos are never turned by the orientation fallback.
    assert {x.quality["rotation_applied_deg"] for x in analysed.values()} == {0}


def test_same_person_scores_above_threshold(engine: FaceEngine, analysed: dict[str, FaceAnalysis]) -> None:
    for x, y in itertools.combinations(["person_a_1", "person_a_2", "person_a_3"], 2):
        score = engine.similarity(analysed[x].embedding, analysed[y].embedding)
        # Measured 0.75-0.80 on these three independent photos.
        assert score > STRICT_THRESHOLD, (x, y, score)


def test_different_people_score_below_threshold(
    engine: FaceEngine, analysed: dict[str, FaceAnalysis], photos: dict[str, Path]
) -> None:
    people = {
        "a": analysed["person_a_1"].embedding,
        "b": analysed["person_b_1"].embedding,
        "astronaut": analysed["astronaut"].embedding,
    }
    # The six people of the group photo, embedded one by one.
    group = np.asarray(_rgb(photos["group_six"]))
    for i, det in enumerate(engine.detector.detect(group)):
        people[f"group{i}"] = engine.recognizer.embed_aligned(align(group, det.landmarks))
    assert len(people) == 9
    scores = [engine.similarity(people[x], people[y]) for x, y in itertools.combinations(people, 2)]
    # Measured at most 0.36 over these 36 pairs.
    assert max(scores) < DEFAULT_THRESHOLD - 0.05, max(scores)


def test_recogniser_matches_opencv_reference(engine: FaceEngine, photos: dict[str, Path]) -> None:
    """Pins the channel order: insightface swaps R/B itself, so the crop goes
    in as BGR and the network sees RGB, exactly like OpenCV's FaceRecognizerSF."""
    rgb = np.asarray(_rgb(photos["person_a_1"]))
    crop = align(rgb, engine.detector.detect(rgb)[0].landmarks)
    reference = cv2.FaceRecognizerSF.create(engine.recognizer.model.model_file, "")
    expected = reference.feature(np.ascontiguousarray(crop[:, :, ::-1])).ravel()
    ours = engine.recognizer.embed_aligned(crop)
    assert float(ours @ (expected / np.linalg.norm(expected))) > 0.999


def test_exif_rotated_copy_still_matches(
    engine: FaceEngine, analysed: dict[str, FaceAnalysis], photos: dict[str, Path]
) -> None:
    stored = _rgb(photos["person_a_1"]).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    a = engine.analyze(_jpeg(stored, exif=exif.tobytes()))
    assert a.quality["rotation_applied_deg"] == 0  # EXIF did it, not the fallback
    assert engine.similarity(a.embedding, analysed["person_a_1"].embedding) > 0.95
    assert engine.similarity(a.embedding, analysed["person_a_2"].embedding) > STRICT_THRESHOLD


@pytest.mark.parametrize("turn", [Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270])
def test_photo_without_exif_orientation_is_turned_upright(
    engine: FaceEngine, analysed: dict[str, FaceAnalysis], photos: dict[str, Path], turn: Image.Transpose
) -> None:
    a = engine.analyze(_jpeg(_rgb(photos["person_a_3"]).transpose(turn)))
    assert a.quality["rotation_applied_deg"] in (90, 180, 270)
    assert engine.similarity(a.embedding, analysed["person_a_3"].embedding) > 0.95
    assert engine.similarity(a.embedding, analysed["person_a_1"].embedding) > STRICT_THRESHOLD


def _count_detector_runs(engine: FaceEngine, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts YuNet runs (every detection goes through detect_fitted) and orientation searches."""
    counts = {"runs": 0, "searches": 0}
    detector = engine.detector
    detect_fitted, quarter_turn_scores = detector.detect_fitted, detector.quarter_turn_scores

    def counted_detect_fitted(*args: object) -> object:
        counts["runs"] += 1
        return detect_fitted(*args)  # type: ignore[arg-type]

    def counted_quarter_turn_scores(*args: object) -> object:
        counts["searches"] += 1
        return quarter_turn_scores(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(detector, "detect_fitted", counted_detect_fitted)
    monkeypatch.setattr(detector, "quarter_turn_scores", counted_quarter_turn_scores)
    return counts


def test_upright_photo_skips_the_orientation_search(
    engine: FaceEngine, photos: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert engine.auto_orient  # the default
    counts = _count_detector_runs(engine, monkeypatch)
    for name in ("person_a_1", "person_a_2", "person_a_3", "person_b_1", "astronaut"):
        a = engine.analyze(photos[name].read_bytes())
        assert a.quality["rotation_applied_deg"] == 0
    assert counts == {"runs": 5, "searches": 0}


def test_upside_down_face_found_as_given_is_still_turned(
    engine: FaceEngine, analysed: dict[str, FaceAnalysis], photos: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Upside down, person_a_1 is found as given (score ~0.88) with landmarks
    in upright order and passes the pose check: only the search turns it."""
    counts = _count_detector_runs(engine, monkeypatch)
    a = engine.analyze(_jpeg(_rgb(photos["person_a_1"]).transpose(Image.Transpose.ROTATE_180)))
    assert counts == {"runs": 3, "searches": 1}  # as given, the mosaic, the turned photo
    assert a.quality["rotation_applied_deg"] == 180
    assert engine.similarity(a.embedding, analysed["person_a_1"].embedding) > 0.95
    assert engine.similarity(a.embedding, analysed["person_a_2"].embedding) > STRICT_THRESHOLD


def test_greyscale_still_matches(
    engine: FaceEngine, analysed: dict[str, FaceAnalysis], photos: dict[str, Path]
) -> None:
    a = engine.analyze(_jpeg(_rgb(photos["person_a_1"]).convert("L")))
    assert engine.similarity(a.embedding, analysed["person_a_1"].embedding) > 0.85
    assert engine.similarity(a.embedding, analysed["person_a_2"].embedding) > DEFAULT_THRESHOLD


def test_rgba_png_works(engine: FaceEngine, analysed: dict[str, FaceAnalysis], photos: dict[str, Path]) -> None:
    a = engine.analyze(photos["person_a_2_rgba"].read_bytes())  # obama2 saved as RGBA
    assert a.quality["image_format"] == "PNG"
    assert engine.similarity(a.embedding, analysed["person_a_2"].embedding) > 0.99
    # A cut-out portrait: transparent surroundings are flattened onto white.
    rgba = _rgb(photos["person_a_1"]).convert("RGBA")
    alpha = np.full((rgba.height, rgba.width), 255, dtype=np.uint8)
    alpha[:, :200] = 0
    rgba.putalpha(Image.fromarray(alpha))
    b = engine.analyze(_png(rgba))
    assert engine.similarity(b.embedding, analysed["person_a_1"].embedding) > 0.95


def test_box_is_in_original_pixels_when_decoded_reduced(
    engine: FaceEngine, analysed: dict[str, FaceAnalysis], photos: dict[str, Path]
) -> None:
    big = _rgb(photos["person_a_1"]).resize((2730, 3411))  # 3x: decoded at 1/2 then resized
    a = engine.analyze(_jpeg(big))
    expected = np.array(analysed["person_a_1"].box) * 3
    assert np.allclose(a.box, expected, rtol=0.05, atol=15), (a.box, expected)
    assert engine.similarity(a.embedding, analysed["person_a_1"].embedding) > 0.95


# --- bad captures ---------------------------------------------------------


def test_blank_image_has_no_face(engine: FaceEngine) -> None:
    err = _capture_code(engine, _jpeg(Image.new("RGB", (800, 600), (200, 200, 200))))
    assert err.code == "no_face" and err.hint_id


def test_tiny_face_in_big_canvas(engine: FaceEngine, photos: dict[str, Path]) -> None:
    small = _rgb(photos["person_a_1"]).resize((228, 284))  # face ~60 px wide
    canvas = Image.new("RGB", (1200, 1200), (120, 130, 140))
    canvas.paste(small, (500, 450))
    err = _capture_code(engine, _jpeg(canvas))
    assert err.code == "face_too_small"
    assert err.quality["face_width_px"] < 80


def test_blurry(engine: FaceEngine, photos: dict[str, Path]) -> None:
    err = _capture_code(engine, _jpeg(_rgb(photos["person_a_1"]).filter(ImageFilter.GaussianBlur(10))))
    assert err.code == "too_blurry"


def test_dark(engine: FaceEngine, photos: dict[str, Path]) -> None:
    err = _capture_code(engine, _jpeg(ImageEnhance.Brightness(_rgb(photos["person_a_1"])).enhance(0.15)))
    assert err.code == "too_dark"
    assert err.quality["brightness"] < 40


def test_overexposed(engine: FaceEngine, photos: dict[str, Path]) -> None:
    err = _capture_code(engine, _jpeg(ImageEnhance.Brightness(_rgb(photos["person_a_1"])).enhance(2.5)))
    assert err.code == "too_bright"


def test_two_faces_side_by_side(engine: FaceEngine, analysed: dict[str, FaceAnalysis], photos: dict[str, Path]) -> None:
    heads = []
    for name in ("person_a_1", "person_b_1"):
        x1, y1, x2, y2 = analysed[name].box
        w, h = x2 - x1, y2 - y1
        head = _rgb(photos[name]).crop((int(x1 - w * 0.4), int(y1 - h * 0.3), int(x2 + w * 0.4), int(y2 + h * 0.3)))
        heads.append(head.resize((400, int(400 * head.height / head.width))))
    canvas = Image.new("RGB", (800, max(h.height for h in heads)), (128, 128, 128))
    canvas.paste(heads[0], (0, 0))
    canvas.paste(heads[1], (400, 0))
    assert _capture_code(engine, _jpeg(canvas)).code == "multiple_faces"


def test_group_photo(engine: FaceEngine, photos: dict[str, Path]) -> None:
    assert _capture_code(engine, photos["group_six"].read_bytes()).code == "multiple_faces"


def test_not_an_image_and_truncated(engine: FaceEngine, photos: dict[str, Path]) -> None:
    assert _capture_code(engine, b"").code == "empty_image"
    assert _capture_code(engine, b"<html>selfie</html>").code == "not_an_image"
    data = photos["person_a_1"].read_bytes()
    assert _capture_code(engine, data[: len(data) // 2]).code == "image_truncated"


def test_tight_reference_crop_needs_the_reference_policy(engine: FaceEngine, photos: dict[str, Path]) -> None:
    data = photos["tom_hanks_crop"].read_bytes()  # 112x112, face ~74 px
    assert _capture_code(engine, data).code == "face_too_small"
    a = engine.analyze(data, policy=REFERENCE_POLICY)
    assert a.embedding.shape == (128,)


def test_concurrent_analyze_is_consistent(
    engine: FaceEngine, analysed: dict[str, FaceAnalysis], photos: dict[str, Path]
) -> None:
    data = photos["person_a_2"].read_bytes()
    results: list[np.ndarray] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(3):
            emb = engine.analyze(data).embedding
            with lock:
                results.append(emb)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 12
    for emb in results:
        assert np.allclose(emb, analysed["person_a_2"].embedding, atol=1e-5)


def test_the_face_fingerprint_finds_copies_not_the_same_face_elsewhere(engine, analysed, photos):
    from jmo_identity.face.fingerprint import hash_distance

    original = _rgb(photos["person_a_1"])
    small = original.resize((420, round(original.height * 420 / original.width)))
    copies = [
        _jpeg(small.resize((840, small.height * 2))),
        _png(ImageEnhance.Brightness(small).enhance(1.3).resize((840, small.height * 2))),
        _jpeg(small.convert("L").convert("RGB").resize((840, small.height * 2))),
    ]
    reference = engine.analyze(_jpeg(small), policy=REFERENCE_POLICY)
    for data in copies:
        copy = engine.analyze(data, policy=REFERENCE_POLICY)
        assert hash_distance(copy.face_hash, reference.face_hash) <= 8
    for other in ("person_a_2", "person_a_3", "person_b_1"):
        assert hash_distance(analysed[other].face_hash, reference.face_hash) > 16
