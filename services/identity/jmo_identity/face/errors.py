"""Errors of the face engine.

A bad capture is the member's problem to fix (retake the selfie), not a
mismatch and not a server fault: it carries a stable machine ``code`` for the
API's 422 answer plus hints in English (``hint``) and Indonesian (``hint_id``).
"""

from __future__ import annotations

from typing import Any

# code -> (English hint, Indonesian hint). Codes are part of the public API
# contract: add freely, never rename.
CAPTURE_HINTS: dict[str, tuple[str, str]] = {
    "empty_image": (
        "The photo is empty. Take the photo again.",
        "Foto kosong. Silakan ambil foto lagi.",
    ),
    "not_an_image": (
        "The file is not a JPEG or PNG photo. Upload a photo from the camera.",
        "Berkas bukan foto JPEG atau PNG. Unggah foto dari kamera.",
    ),
    "image_too_large": (
        "The photo is too large. Use a photo under 10 MB and 40 megapixels.",
        "Foto terlalu besar. Gunakan foto di bawah 10 MB dan 40 megapiksel.",
    ),
    "image_truncated": (
        "The photo is damaged or did not upload completely. Try again.",
        "Foto rusak atau tidak terunggah sepenuhnya. Coba lagi.",
    ),
    "no_face": (
        "No face was found. Face the camera in good light.",
        "Wajah tidak terdeteksi. Hadapkan wajah ke kamera di tempat terang.",
    ),
    "multiple_faces": (
        "More than one face is in the photo. Make sure only you are in the frame.",
        "Ada lebih dari satu wajah. Pastikan hanya Anda yang ada di foto.",
    ),
    "face_too_small": (
        "Your face is too small in the photo. Hold the camera closer.",
        "Wajah terlalu kecil. Dekatkan kamera ke wajah Anda.",
    ),
    "too_blurry": (
        "The photo is blurry. Hold the phone still and clean the lens.",
        "Foto buram. Pegang ponsel dengan stabil dan bersihkan lensa.",
    ),
    "too_dark": (
        "The photo is too dark. Move to a brighter place.",
        "Foto terlalu gelap. Pindah ke tempat yang lebih terang.",
    ),
    "too_bright": (
        "The photo is too bright. Avoid direct light on your face.",
        "Foto terlalu terang. Hindari cahaya langsung ke wajah.",
    ),
    "face_not_frontal": (
        "Look straight at the camera and keep your head upright.",
        "Lihat lurus ke kamera dan tegakkan kepala Anda.",
    ),
}


class FaceCaptureError(Exception):
    """The photo cannot be used; the member should take another one."""

    def __init__(self, code: str, hint: str | None = None, *, quality: dict[str, Any] | None = None) -> None:
        if code not in CAPTURE_HINTS:
            raise ValueError(f"unknown face capture code {code!r}")
        default_en, default_id = CAPTURE_HINTS[code]
        self.code = code
        self.hint = hint or default_en
        self.hint_id = default_id
        # The figures measured before the capture was refused, so the API can
        # show the member (and support) why, e.g. {"brightness": 21.4}.
        self.quality: dict[str, Any] = dict(quality or {})
        super().__init__(f"{code}: {self.hint}")


class ModelIntegrityError(RuntimeError):
    """A model file is missing or its bytes differ from the pinned sha256.

    Deliberately not a FaceCaptureError: it is an operator problem (wrong
    package version, corrupted install) and must fail readiness, not a request.
    """
