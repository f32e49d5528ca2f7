"""Offline face photos for tests and benchmarks (no internet, only PyPI).

Sources:
* the ``tests/test_images`` of the face_recognition 1.3.0 sdist from PyPI:
  three independent photos of one person (obama, obama2, obama3), one of
  another (biden). ``32bit.png`` is obama2 as RGBA and the two
  ``obama_partial_face`` files are crops of obama.jpg: not independent.
* scikit-image's ``data.astronaut()`` (a third person);
* the insightface wheel's sample images: ``t1.jpg`` (six people in one photo)
  and ``Tom_Hanks_54745.png`` (a 112x112 aligned greyscale-looking crop).

Run as a script to fetch the photos ahead of time:
    python -m jmo_local.faces [cache_dir]
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_CACHE = REPO_ROOT / ".cache" / "faces"
SDIST = "face_recognition==1.3.0"
# PyPI's digest of face_recognition-1.3.0.tar.gz: the photos decide test
# outcomes, so a different archive must not slip in.
SDIST_SHA256 = "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec"
_SDIST_PREFIX = "face_recognition-1.3.0/tests/test_images/"
_SDIST_FILES = {
    "person_a_1": "obama.jpg",
    "person_a_2": "obama2.jpg",
    "person_a_3": "obama3.jpg",
    "person_a_2_rgba": "32bit.png",
    "person_a_partial": "obama_partial_face.jpg",
    "person_b_1": "biden.jpg",
}


def _fetch_sdist_images(target: Path) -> None:
    """pip download the sdist (no build, no deps) and keep only the photos."""
    with tempfile.TemporaryDirectory(prefix="faces-sdist-") as tmp:
        # pip prepares the sdist's metadata even for a download, in an isolated
        # build env (setuptools + wheel fetched from PyPI): a venv without
        # `wheel` cannot do it with --no-build-isolation. Nothing is installed.
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
             "--quiet", "--disable-pip-version-check", "-d", tmp, SDIST],
            check=True,
            timeout=600,
        )
        archive = next(Path(tmp).glob("face_recognition-1.3.0.tar.gz"))
        digest = hashlib.sha256(archive.read_bytes()).hexdigest()
        if digest != SDIST_SHA256:
            raise RuntimeError(f"{archive.name} has sha256 {digest}, expected {SDIST_SHA256}")
        with tarfile.open(archive) as tar:
            for name in _SDIST_FILES.values():
                member = tar.getmember(_SDIST_PREFIX + name)
                src = tar.extractfile(member)
                assert src is not None
                partial = target / (name + ".part")
                partial.write_bytes(src.read())
                os.replace(partial, target / name)


def _insightface_images() -> Path:
    spec = importlib.util.find_spec("insightface")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("insightface is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "images"


def _astronaut(target: Path) -> Path:
    path = target / "astronaut.png"
    if not path.is_file():
        from PIL import Image
        from skimage import data

        partial = target / "astronaut.png.part"
        Image.fromarray(data.astronaut()).save(partial, format="PNG")
        os.replace(partial, path)
    return path


def face_photos(cache_dir: Path | str | None = None) -> dict[str, Path]:
    """Named photo paths; downloads the sdist into ``cache_dir`` on first use.

    Idempotent and safe to call from several processes: files appear by
    atomic rename, so a half-written one is never returned.
    """
    cache = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE
    cache.mkdir(parents=True, exist_ok=True)
    if not all((cache / name).is_file() for name in _SDIST_FILES.values()):
        _fetch_sdist_images(cache)
    photos = {key: cache / name for key, name in _SDIST_FILES.items()}
    photos["astronaut"] = _astronaut(cache)
    sample = _insightface_images()
    photos["group_six"] = sample / "t1.jpg"
    photos["tom_hanks_crop"] = sample / "Tom_Hanks_54745.png"
    return photos


if __name__ == "__main__":
    for key, value in face_photos(sys.argv[1] if len(sys.argv) > 1 else None).items():
        print(f"{key}\t{value}")
