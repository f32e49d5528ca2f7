"""Decoding untrusted photo bytes: every refusal happens before decoding."""

from __future__ import annotations

import io
import resource
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from jmo_identity.face import DecodeLimits, FaceCaptureError, decode_image


def _jpeg(im: Image.Image, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=90, **kw)
    return buf.getvalue()


def _png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_header_only(width: int, height: int, idat: bytes = b"") -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def _gradient(w: int = 320, h: int = 240) -> Image.Image:
    x = np.linspace(0, 255, w, dtype=np.uint8)[None, :].repeat(h, 0)
    return Image.fromarray(np.stack([x, x[::-1, ::-1], np.full_like(x, 90)], axis=2))


def _code(data: bytes, limits: DecodeLimits = DecodeLimits()) -> str:
    with pytest.raises(FaceCaptureError) as info:
        decode_image(data, limits)
    assert info.value.hint and info.value.hint_id  # English and Indonesian hints
    return info.value.code


@pytest.fixture(scope="module")
def png_bomb() -> bytes:
    """A real 30000x30000 greyscale PNG: 875 KB on the wire, 900 MB decoded."""
    width = height = 30000
    comp = zlib.compressobj(9)
    block = b"\x00" * ((width + 1) * 500)  # filter byte + row, 500 rows at a time
    idat = b"".join([comp.compress(block) for _ in range(height // 500)] + [comp.flush()])
    return _png_header_only(width, height, idat)


def test_empty() -> None:
    assert _code(b"") == "empty_image"


@pytest.mark.parametrize(
    "data",
    [b"hello, not a photo", b"%PDF-1.7\n" + b"0" * 200, b"GIF89a" + b"\x00" * 40],
    ids=["text", "pdf", "gif-header"],
)
def test_not_an_image(data: bytes) -> None:
    assert _code(data) == "not_an_image"


@pytest.mark.parametrize("cut", [8, 20, 300])
def test_header_cut_short_is_truncated_not_wrong_type(cut: int) -> None:
    for data in (_jpeg(_gradient()), _png(_gradient())):
        assert _code(data[:cut]) == "image_truncated"


def test_other_formats_are_refused() -> None:
    buf = io.BytesIO()
    _gradient().save(buf, format="GIF")
    assert _code(buf.getvalue()) == "not_an_image"


def test_too_many_bytes() -> None:
    data = _jpeg(_gradient())
    assert _code(data, DecodeLimits(max_bytes=len(data) - 1)) == "image_too_large"


def test_header_over_pixel_cap_is_refused_before_decoding() -> None:
    # 8000x6000 = 48 MP: above our 40 MP cap, below PIL's own bomb guard.
    assert _code(_png_header_only(8000, 6000)) == "image_too_large"


def test_png_bomb_is_refused_fast_and_small(png_bomb: bytes) -> None:
    assert len(png_bomb) < 1_000_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    started = time.perf_counter()
    assert _code(png_bomb) == "image_too_large"
    elapsed = time.perf_counter() - started
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert elapsed < 0.5, elapsed
    assert grown_mb < 50, grown_mb  # decoding would take 900 MB+


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated(fmt: str) -> None:
    rng = np.random.default_rng(1)
    noisy = Image.fromarray(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8))
    data = _jpeg(noisy) if fmt == "JPEG" else _png(noisy)
    assert _code(data[: len(data) * 6 // 10]) == "image_truncated"


def test_large_jpeg_is_decoded_reduced_to_working_size() -> None:
    big = _gradient(6000, 4000)  # 24 MP
    data = _jpeg(big)
    started = time.perf_counter()
    out = decode_image(data)
    assert time.perf_counter() - started < 1.0
    assert out.original_size == (6000, 4000)
    assert out.rgb.shape == (853, 1280, 3)
    assert out.format == "JPEG"


def test_exif_orientation_is_applied() -> None:
    upright = _gradient(320, 240)
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what a sideways camera writes
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    out = decode_image(_jpeg(stored, exif=exif.tobytes()))
    assert out.exif_orientation == 6
    assert out.rgb.shape == (240, 320, 3)
    diff = np.abs(out.rgb.astype(int) - np.asarray(upright).astype(int)).mean()
    assert diff < 6, diff


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_malformed_exif_only_loses_the_rotation() -> None:
    data = _jpeg(_gradient(), exif=b"Exif\x00\x00MM\x00*garbage")
    out = decode_image(data)
    assert out.exif_orientation == 1
    assert out.rgb.shape == (240, 320, 3)


def test_greyscale_becomes_rgb() -> None:
    out = decode_image(_jpeg(_gradient().convert("L")))
    assert out.rgb.shape == (240, 320, 3)
    assert np.array_equal(out.rgb[..., 0], out.rgb[..., 1])


def test_alpha_is_flattened_onto_white() -> None:
    rgba = np.zeros((50, 60, 4), dtype=np.uint8)
    rgba[:, :30] = (10, 20, 30, 255)  # opaque left half, transparent right half
    out = decode_image(_png(Image.fromarray(rgba, "RGBA")))
    assert out.rgb.shape == (50, 60, 3)
    assert tuple(out.rgb[0, 0]) == (10, 20, 30)
    assert tuple(out.rgb[0, -1]) == (255, 255, 255)


def test_sixteen_bit_greyscale_png_is_rescaled_not_clipped() -> None:
    arr = np.linspace(0, 65535, 64 * 64).astype(np.uint16).reshape(64, 64)
    out = decode_image(_png(Image.fromarray(arr)))
    assert out.rgb.max() == 255 and out.rgb.min() == 0
    assert 100 < out.rgb.mean() < 155


def test_small_png_is_kept_at_its_size() -> None:
    out = decode_image(_png(_gradient(200, 100)))
    assert out.rgb.shape == (100, 200, 3) and out.rgb.dtype == np.uint8
