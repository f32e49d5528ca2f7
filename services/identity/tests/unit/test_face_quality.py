"""Capture-quality rules on synthetic detections (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest

from jmo_identity.face import CAPTURE_HINTS, FaceCaptureError, QualityPolicy
from jmo_identity.face.detector import Detection, nms
from jmo_identity.face.quality import check, pose, select_face

# A frontal face: eyes level, nose centred, mouth below (pixels).
FRONTAL = np.array([[100, 100], [160, 100], [130, 132], [106, 160], [154, 160]], dtype=np.float32)


def _det(x: float, w: float, score: float = 0.9, marks: np.ndarray = FRONTAL) -> Detection:
    return Detection(box=(x, 50.0, x + w, 50.0 + w * 1.3), score=score, landmarks=marks)


def _figures(**overrides: float) -> dict[str, float]:
    base = {
        "face_width_px": 200.0,
        "face_relative_size": 0.4,
        "roll_deg": 0.0,
        "yaw_ratio": 0.5,
        "pitch_ratio": 0.55,
        "eye_span_ratio": 0.45,
        "brightness": 130.0,
        "overexposed_fraction": 0.0,
        "sharpness": 500.0,
    }
    base.update(overrides)
    return base


def _code(fn: object, *args: object) -> str:
    with pytest.raises(FaceCaptureError) as info:
        fn(*args)  # type: ignore[operator]
    return info.value.code


def test_every_code_has_english_and_indonesian_hints() -> None:
    for code, (en, ind) in CAPTURE_HINTS.items():
        err = FaceCaptureError(code)
        assert err.hint == en and err.hint_id == ind and en != ind
    with pytest.raises(ValueError):
        FaceCaptureError("made_up_code")


def test_pose_of_a_frontal_face() -> None:
    p = pose(FRONTAL)
    assert abs(p["roll_deg"]) < 1e-6
    assert p["yaw_ratio"] == pytest.approx(0.5)
    assert p["pitch_ratio"] == pytest.approx(0.533, abs=0.01)
    assert p["eye_distance_px"] == pytest.approx(60)


def test_pose_ratios_do_not_depend_on_roll() -> None:
    angle = np.radians(30)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    turned = (FRONTAL - FRONTAL[2]) @ rot.T + FRONTAL[2]
    p = pose(turned)
    assert p["roll_deg"] == pytest.approx(30, abs=1e-3)
    assert p["yaw_ratio"] == pytest.approx(0.5, abs=1e-6)
    assert p["pitch_ratio"] == pytest.approx(pose(FRONTAL)["pitch_ratio"], abs=1e-6)


def test_select_face() -> None:
    pol = QualityPolicy()
    assert _code(select_face, [], pol) == "no_face"
    assert _code(select_face, [_det(0, 100, score=0.4)], pol) == "no_face"
    main = _det(0, 200)
    # A small face in the background is a passer-by, not a second subject.
    assert select_face([_det(400, 60, score=0.95), main], pol) is main
    # A weak detection of comparable size is ignored too.
    assert select_face([main, _det(400, 180, score=0.65)], pol) is main
    assert _code(select_face, [main, _det(400, 150, score=0.9)], pol) == "multiple_faces"


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"face_width_px": 60.0}, "face_too_small"),
        ({"face_relative_size": 0.05}, "face_too_small"),
        ({"roll_deg": -25.0}, "face_not_frontal"),
        ({"yaw_ratio": 0.1}, "face_not_frontal"),  # nose near one eye: head turned
        ({"yaw_ratio": 1.2}, "face_not_frontal"),  # nose outside the eyes: profile
        ({"pitch_ratio": 0.2}, "face_not_frontal"),  # looking up
        ({"pitch_ratio": 0.9}, "face_not_frontal"),  # looking down
        ({"eye_span_ratio": 0.2}, "face_not_frontal"),
        ({"yaw_ratio": None}, "face_not_frontal"),  # measure() turns NaN into None
        ({"brightness": 25.0}, "too_dark"),
        ({"brightness": 240.0}, "too_bright"),
        ({"overexposed_fraction": 0.5}, "too_bright"),
        ({"sharpness": 5.0}, "too_blurry"),
        # Order: a small face is reported as small, not as blurry.
        ({"face_width_px": 60.0, "sharpness": 5.0}, "face_too_small"),
        ({"brightness": 25.0, "sharpness": 5.0}, "too_dark"),
    ],
)
def test_check_codes(overrides: dict[str, float], code: str) -> None:
    figures = _figures(**overrides)
    with pytest.raises(FaceCaptureError) as info:
        check(figures, QualityPolicy())
    assert info.value.code == code
    assert info.value.quality == figures  # the measured figures travel with the error


def test_degenerate_landmarks_give_json_safe_figures() -> None:
    import json

    from jmo_identity.face.quality import measure

    same_point = np.tile(np.array([[120.0, 120.0]], dtype=np.float32), (5, 1))
    crop = np.full((112, 112, 3), 128, dtype=np.uint8)
    figures = measure((400, 400, 3), _det(50, 200, marks=same_point), crop, faces_detected=1)
    assert figures["yaw_ratio"] is None and figures["pitch_ratio"] is None
    json.dumps(figures, allow_nan=False)
    with pytest.raises(FaceCaptureError) as info:
        check(figures, QualityPolicy())
    assert info.value.code == "face_not_frontal"


@pytest.mark.parametrize("yaw_ratio", [0.2, 0.22, 0.78, 0.8])
def test_moderately_turned_faces_pass_the_yaw_gate(yaw_ratio: float) -> None:
    # Up to |yaw_ratio - 0.5| = 0.3 is accepted: the turned photos measured
    # (up to 0.28) still matched above the strictest threshold.
    check(_figures(yaw_ratio=yaw_ratio), QualityPolicy())


@pytest.mark.parametrize("yaw_ratio", [0.19, 0.81])
def test_turned_beyond_the_gate_gets_the_look_straight_hint(yaw_ratio: float) -> None:
    with pytest.raises(FaceCaptureError) as info:
        check(_figures(yaw_ratio=yaw_ratio), QualityPolicy())
    assert info.value.code == "face_not_frontal"
    assert info.value.hint == CAPTURE_HINTS["face_not_frontal"][0]
    assert info.value.hint_id == CAPTURE_HINTS["face_not_frontal"][1]
    assert info.value.quality["yaw_ratio"] == yaw_ratio


def test_check_passes_a_good_capture() -> None:
    check(_figures(), QualityPolicy())


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], dtype=np.float32)
    scores = np.array([0.8, 0.9, 0.7], dtype=np.float32)
    assert nms(boxes, scores, 0.3) == [1, 2]
