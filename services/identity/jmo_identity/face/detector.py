"""YuNet face detector on onnxruntime, with its output decoder.

The 2023mar YuNet graph has a fixed 1x3x640x640 BGR input (raw 0..255, no
normalisation) and, for each stride 8/16/32, four heads per grid cell:
``cls`` and ``obj`` (already sigmoid), ``bbox`` (dx, dy, log w, log h in
stride units) and ``kps`` (five dx, dy pairs in stride units). The decoding
follows OpenCV's FaceDetectorYN so scores and landmarks mean the same as there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from .runtime import PROVIDERS, session_options

INPUT_SIZE = 640
STRIDES = (8, 16, 32)


@dataclass(frozen=True)
class Detection:
    """One face, in the pixel coordinates of the image given to detect()."""

    box: tuple[float, float, float, float]  # x1, y1, x2, y2
    score: float
    # (5, 2): right eye, left eye (as seen in the photo: image-left first),
    # nose tip, right mouth corner, left mouth corner.
    landmarks: np.ndarray

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


def _grid(stride: int) -> tuple[np.ndarray, np.ndarray]:
    cols = INPUT_SIZE // stride
    idx = np.arange(cols * cols)
    return (idx % cols).astype(np.float32), (idx // cols).astype(np.float32)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> list[int]:
    """Greedy non-maximum suppression; returns kept indices, best first."""
    order = np.argsort(-scores)
    areas = np.maximum(0.0, boxes[:, 2] - boxes[:, 0]) * np.maximum(0.0, boxes[:, 3] - boxes[:, 1])
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        xx1 = np.maximum(boxes[i, 0], boxes[rest, 0])
        yy1 = np.maximum(boxes[i, 1], boxes[rest, 1])
        xx2 = np.minimum(boxes[i, 2], boxes[rest, 2])
        yy2 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.maximum(0.0, xx2 - xx1) * np.maximum(0.0, yy2 - yy1)
        iou = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        order = rest[iou <= iou_threshold]
    return keep


class YuNetDetector:
    def __init__(
        self,
        model_path: Path | str,
        *,
        threads: int = 1,
        score_threshold: float = 0.6,
        nms_threshold: float = 0.3,
        top_k: int = 50,
    ) -> None:
        self.session = ort.InferenceSession(str(model_path), session_options(threads), providers=PROVIDERS)
        inp = self.session.get_inputs()[0]
        if list(inp.shape) != [1, 3, INPUT_SIZE, INPUT_SIZE]:
            raise ValueError(f"unexpected YuNet input shape {inp.shape}")
        self._input_name = inp.name
        self._outputs = [f"{head}_{s}" for head in ("cls", "obj", "bbox", "kps") for s in STRIDES]
        self._grids = {s: _grid(s) for s in STRIDES}
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.top_k = top_k

    def fit(self, rgb: np.ndarray) -> tuple[np.ndarray, float]:
        """The image resized to fit the 640x640 input (aspect kept), and the scale.

        Split from detect() so callers can try quarter turns of the small
        image (cheap) instead of turning the full one (~7 ms per copy).
        """
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError("detect() needs an HxWx3 uint8 RGB image")
        h, w = rgb.shape[:2]
        scale = min(INPUT_SIZE / w, INPUT_SIZE / h)
        nw, nh = min(INPUT_SIZE, max(1, round(w * scale))), min(INPUT_SIZE, max(1, round(h * scale)))
        # Bilinear, as OpenCV's own YuNet sample does: the working image is at
        # most 2x the input, where INTER_AREA costs 5 ms more and buys nothing.
        return cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_LINEAR), scale

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """Faces in an RGB uint8 image, best score first."""
        small, scale = self.fit(rgb)
        return self.detect_fitted(small, scale, rgb.shape[:2])

    def quarter_turn_scores(self, rgb: np.ndarray) -> list[float]:
        """Best face score of the image turned by 0, 90, 180 and 270 degrees
        (counter-clockwise), from one run: the four turns, each fitted into a
        320 px cell of one 640x640 input. -1.0 where no face was found.

        Half resolution is enough to tell which way is up: on the test photos
        the upright cell scored >= 0.90 and every other cell <= 0.81.
        """
        cell = INPUT_SIZE // 2
        h, w = rgb.shape[:2]
        scale = min(cell / w, cell / h)
        small = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_LINEAR)
        mosaic = np.zeros((INPUT_SIZE, INPUT_SIZE, 3), dtype=np.uint8)
        for turns in range(4):
            turned = np.rot90(small, turns)
            top, left = (turns // 2) * cell, (turns % 2) * cell
            mosaic[top : top + turned.shape[0], left : left + turned.shape[1]] = turned
        scores = [-1.0] * 4
        for det in self.detect_fitted(mosaic, 1.0, (INPUT_SIZE, INPUT_SIZE)):
            cx, cy = (det.box[0] + det.box[2]) / 2, (det.box[1] + det.box[3]) / 2
            idx = min(int(cy // cell), 1) * 2 + min(int(cx // cell), 1)
            scores[idx] = max(scores[idx], det.score)
        return scores

    def detect_fitted(self, small: np.ndarray, scale: float, full_hw: tuple[int, ...]) -> list[Detection]:
        """Faces in a fit() image, in the coordinates of the full image (h, w)."""
        nh, nw = small.shape[:2]
        # Pad right/bottom rather than stretch: faces stay undistorted, so the
        # landmark geometry used by the pose check stays meaningful. Written
        # straight into the float NCHW input (~0.5 ms; ~1.6 ms through a
        # padded uint8 canvas converted whole).
        blob = np.zeros((1, 3, INPUT_SIZE, INPUT_SIZE), dtype=np.float32)
        blob[0, :, :nh, :nw] = small[:, :, ::-1].transpose(2, 0, 1)  # RGB -> BGR: YuNet was trained on OpenCV's BGR
        outs = dict(zip(self._outputs, self.session.run(self._outputs, {self._input_name: blob})))
        boxes, scores, marks = [], [], []
        for s in STRIDES:
            gx, gy = self._grids[s]
            cls = np.clip(outs[f"cls_{s}"][0, :, 0], 0.0, 1.0)
            obj = np.clip(outs[f"obj_{s}"][0, :, 0], 0.0, 1.0)
            score = np.sqrt(cls * obj)
            sel = score >= self.score_threshold
            if not sel.any():
                continue
            bb = outs[f"bbox_{s}"][0][sel]
            kp = outs[f"kps_{s}"][0][sel]
            cx, cy = (gx[sel] + bb[:, 0]) * s, (gy[sel] + bb[:, 1]) * s
            bw, bh = np.exp(bb[:, 2]) * s, np.exp(bb[:, 3]) * s
            boxes.append(np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1))
            lx = (kp[:, 0::2] + gx[sel, None]) * s
            ly = (kp[:, 1::2] + gy[sel, None]) * s
            marks.append(np.stack([lx, ly], axis=2))
            scores.append(score[sel])
        if not boxes:
            return []
        all_boxes = np.concatenate(boxes) / scale
        all_scores = np.concatenate(scores)
        all_marks = np.concatenate(marks) / scale
        h, w = full_hw[:2]
        all_boxes[:, [0, 2]] = np.clip(all_boxes[:, [0, 2]], 0, w)
        all_boxes[:, [1, 3]] = np.clip(all_boxes[:, [1, 3]], 0, h)
        keep = nms(all_boxes, all_scores, self.nms_threshold)[: self.top_k]
        return [
            Detection(
                box=tuple(float(v) for v in all_boxes[i]),  # type: ignore[arg-type]
                score=float(all_scores[i]),
                landmarks=all_marks[i].astype(np.float32),
            )
            for i in keep
        ]
