"""The sample photos' cache is filled by several processes at once on a fresh clone (the test workers)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from jmo_identity.face.sample_photos import _publish


def test_writers_publishing_one_file_at_once_each_succeed_and_leave_one_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "astronaut.png"
    writers = 8
    started = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(n: int, part: Path) -> None:
        started.wait()  # every writer is between its write and its rename at the same time
        part.write_bytes(bytes([n]) * 1000)
        time.sleep(0.05)

    def publish(n: int) -> None:
        try:
            _publish(target, lambda part: write(n, part))
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=publish, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    content = target.read_bytes()
    assert len(content) == 1000 and len(set(content)) == 1 and content[0] in range(writers)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["astronaut.png"]


def test_a_failed_write_leaves_neither_the_file_nor_its_partial(tmp_path: Path) -> None:
    target = tmp_path / "photo.jpg"

    def fail(part: Path) -> None:
        part.write_bytes(b"half")
        raise OSError("disk full")

    try:
        _publish(target, fail)
    except OSError:
        pass
    else:
        raise AssertionError("the write's error must reach the caller")
    assert list(tmp_path.iterdir()) == []
