"""Safe decoding of untrusted photo bytes into a bounded RGB array.

Every check that can be made from the header is made before any pixel is
decoded: a 30000x30000 PNG is under 1 MB on the wire and several GB once
decoded. Large JPEGs are decoded reduced (libjpeg's DCT scaling, PIL's
``draft``), which is both faster and smaller than decoding then resizing.

Never set ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES = True`` in this process:
truncated uploads would then decode silently with grey fill instead of being
refused here.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import FaceCaptureError

_EXIF_ORIENTATION = 0x0112
# EXIF orientation -> the transpose that makes the pixels upright (the same
# table ImageOps.exif_transpose uses; applied ourselves so a malformed EXIF
# block can only lose the rotation, never fail the upload).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")
# What a decoder raises on cut-off or corrupt data once the header was fine.
_CORRUPT = (OSError, SyntaxError, ValueError, EOFError, zlib.error, struct.error, IndexError)


@dataclass(frozen=True)
class DecodeLimits:
    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 40_000_000
    # Long side of the array handed to the detector and the aligner. Faces in
    # a selfie stay far above the 112 px the recogniser uses; more pixels only
    # cost time.
    working_size: int = 1280
    # The API contract accepts JPEG and PNG. (PIL may report a JPEG with
    # multi-picture data as "MPO"; it decodes as its first, main picture.)
    formats: tuple[str, ...] = ("JPEG", "PNG")


@dataclass(frozen=True)
class DecodedImage:
    rgb: np.ndarray  # HxWx3 uint8, upright, long side <= working_size
    format: str
    original_size: tuple[int, int]  # (width, height) from the header, as stored
    exif_orientation: int


def _orientation(im: Image.Image) -> int:
    try:
        value = int(im.getexif().get(_EXIF_ORIENTATION, 1))
    except Exception:  # malformed EXIF: treat as upright rather than refuse
        return 1
    return value if value in _TRANSPOSE else 1


def _to_rgb(im: Image.Image) -> Image.Image:
    """Any PIL mode to 8-bit RGB; transparency is flattened onto white.

    White rather than black: a cut-out portrait on black would read as a dark
    photo and fail the brightness check for no fault of the member.
    """
    if im.mode == "RGB":
        return im
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # 16/32-bit greyscale: PIL's convert() clips instead of rescaling.
        arr = np.asarray(im, dtype=np.float64)
        peak = 65535.0 if arr.max(initial=0.0) > 255 else 255.0
        grey = np.clip(arr * (255.0 / peak), 0, 255).astype(np.uint8)
        return Image.fromarray(grey).convert("RGB")
    has_alpha = im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (im.mode == "P" and "transparency" in im.info)
    if has_alpha:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return im.convert("RGB")


def decode_image(data: bytes, limits: DecodeLimits = DecodeLimits()) -> DecodedImage:
    """Decode untrusted bytes, or raise FaceCaptureError with a stable code."""
    if not data:
        raise FaceCaptureError("empty_image")
    if len(data) > limits.max_bytes:
        raise FaceCaptureError("image_too_large", quality={"bytes": len(data)})
    try:
        # open() parses only the header (up to the first image data chunk).
        im = Image.open(io.BytesIO(data), formats=list(limits.formats))
    except Image.DecompressionBombError:
        # PIL's own guard (above ~179 MP) fires inside open(): still too large.
        raise FaceCaptureError("image_too_large") from None
    except (UnidentifiedImageError, *_CORRUPT):
        # A JPEG/PNG signature whose header cannot be parsed is an upload cut
        # short (or damaged), which the member fixes differently from sending
        # the wrong kind of file.
        code = "image_truncated" if data.startswith(_SIGNATURES) else "not_an_image"
        raise FaceCaptureError(code) from None

    width, height = im.size
    if width <= 0 or height <= 0:
        raise FaceCaptureError("not_an_image")
    if width * height > limits.max_pixels:
        raise FaceCaptureError("image_too_large", quality={"width": width, "height": height})

    fmt = str(im.format)
    orientation = _orientation(im)
    long_side = max(width, height)
    if long_side > limits.working_size and hasattr(im, "draft"):
        # JPEG only (other formats return None): decode at 1/2, 1/4 or 1/8,
        # never below the working size.
        ratio = limits.working_size / long_side
        im.draft(None, (max(1, int(width * ratio)), max(1, int(height * ratio))))
    try:
        im.load()
    except _CORRUPT:
        raise FaceCaptureError("image_truncated") from None

    try:
        rgb = _to_rgb(im)
        factor = max(rgb.size) // limits.working_size
        if factor >= 2:
            # Integer box reduction in C: anti-aliased and ~3x faster than
            # any filtered resize of the full image.
            rgb = rgb.reduce(factor)
        if orientation != 1:
            rgb = rgb.transpose(_TRANSPOSE[orientation])  # on the reduced image: cheap
        array = np.asarray(rgb, dtype=np.uint8)
    except _CORRUPT:
        raise FaceCaptureError("image_truncated") from None
    finally:
        im.close()
    h, w = array.shape[:2]
    if max(h, w) > limits.working_size:
        # Less than 2x left to go: bilinear barely aliases at that ratio and
        # costs ~3 ms where PIL's filtered resize costs 30+ ms for 3 MP.
        ratio = limits.working_size / max(h, w)
        size = (max(1, round(w * ratio)), max(1, round(h * ratio)))
        array = cv2.resize(array, size, interpolation=cv2.INTER_LINEAR)
    return DecodedImage(
        rgb=np.ascontiguousarray(array),
        format=fmt,
        original_size=(width, height),
        exif_orientation=orientation,
    )
