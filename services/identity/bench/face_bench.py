"""Face engine benchmark: verifications/s and latency, plus a similarity table.

One verification = engine.analyze(selfie bytes) + similarity to a reference
embedding computed once (as the service would cache the KTP photo's).
Selfies are the offline test photos re-encoded at 1-3 MP.

    python services/identity/bench/face_bench.py              # all configs
    python services/identity/bench/face_bench.py --similarity # calibration table
    python services/identity/bench/face_bench.py --run cpus=0 threads=1 workers=1
    python services/identity/bench/face_bench.py --run cpus=0 threads=1 workers=1 turned=1

Each configuration runs in its own process pinned with sched_setaffinity
(what `taskset` does), since onnxruntime sizes its thread pools at load.
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from jmo_identity.face.sample_photos import face_photos

REPO = Path(__file__).resolve().parents[3]
CACHE = REPO / ".cache"


def _photos() -> dict[str, Path]:
    return face_photos()


def _rss_mb() -> tuple[float, float]:
    """(current RSS, peak RSS) in MB from /proc (Linux)."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def _selfies(photos: dict[str, Path], turned: bool = False) -> list[bytes]:
    """The test photos as 1-3 MP JPEGs (quality 90, like a phone camera);
    ``turned``: stored sideways without an EXIF orientation, as some uploads
    arrive, so each one goes through the orientation search."""
    from PIL import Image

    out = []
    for name, megapixels in [("person_a_1", 1.2), ("person_a_3", 3.0), ("person_b_1", 2.0), ("astronaut", 1.5)]:
        im = Image.open(photos[name]).convert("RGB")
        scale = (megapixels * 1e6 / (im.width * im.height)) ** 0.5
        im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.BICUBIC)
        if turned:
            im = im.transpose(Image.Transpose.ROTATE_90)
        buf = io.BytesIO()
        im.save(buf, format="JPEG", quality=90)
        out.append(buf.getvalue())
    return out


def run(cpus: list[int], threads: int, workers: int, seconds: float, auto_orient: bool, turned: bool = False) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(cpus))  # before ORT creates its pools
    from jmo_identity.face import FaceEngine

    photos = _photos()
    rss_before, _ = _rss_mb()
    t0 = time.perf_counter()
    engine = FaceEngine.load(CACHE / "face-models", threads=threads, auto_orient=auto_orient)
    load_s = time.perf_counter() - t0
    rss_loaded, _ = _rss_mb()
    reference = engine.analyze(photos["person_a_2"].read_bytes()).embedding
    selfies = _selfies(photos, turned)
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker(offset: int) -> None:
        for data in itertools.islice(itertools.cycle(selfies), offset, None):
            if time.perf_counter() > deadline:
                return
            start = time.perf_counter()
            engine.similarity(engine.analyze(data).embedding, reference)
            with lock:
                latencies.append(time.perf_counter() - start)

    stages = _stages(engine, selfies) if workers == 1 else ""
    started = time.perf_counter()
    cpu_started = time.process_time()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    # CPU time per verification barely moves when other processes compete
    # for the cores (wall-clock latency does): the figure for capacity plans.
    cpu_ms = (time.process_time() - cpu_started) / len(latencies) * 1000
    q = statistics.quantiles([v * 1000 for v in latencies], n=100)
    rss_now, rss_peak = _rss_mb()
    print(
        f"cpus={','.join(map(str, cpus)):<4} ort_threads={threads} workers={workers} auto_orient={int(auto_orient)} turned={int(turned)} | "
        f"{len(latencies) / elapsed:6.1f} verif/s  {cpu_ms:5.1f} CPU-ms/verif  min {min(latencies) * 1000:5.1f}  p50 {q[49]:6.1f}  p99 {q[98]:6.1f} ms | "
        f"load {load_s:.2f} s  RSS: before load {rss_before:.0f} MB, after load {rss_loaded:.0f} MB, "
        f"after run {rss_now:.0f} MB (peak {rss_peak:.0f}){stages}",
        flush=True,
    )


def _stages(engine: FaceEngine, selfies: list[bytes], rounds: int = 5) -> str:  # type: ignore[name-defined]  # noqa: F821
    """Mean ms per stage, to see where the time goes ("orient": the search for
    the photos that need it, averaged over all photos)."""
    from jmo_identity.face import decode_image
    from jmo_identity.face.engine import upright_as_given
    from jmo_identity.face.recognizer import align

    totals = {"decode": 0.0, "detect": 0.0, "orient": 0.0, "embed": 0.0}
    searched = 0
    for data in selfies * rounds:
        t0 = time.perf_counter()
        rgb = decode_image(data, engine.limits).rgb
        t1 = time.perf_counter()
        image, detections = rgb, engine.detector.detect(rgb)
        t2 = time.perf_counter()
        if engine.auto_orient and not upright_as_given(detections):
            image, detections, _ = engine._search_turns(rgb, detections)
            searched += 1
        t3 = time.perf_counter()
        engine.recognizer.embed_aligned(align(image, detections[0].landmarks))
        t4 = time.perf_counter()
        for key, value in zip(totals, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            totals[key] += value
    n = len(selfies) * rounds
    return (
        "\n    stages (mean ms): "
        + ", ".join(f"{k} {v / n * 1000:.1f}" for k, v in totals.items())
        + f"; orientation searched for {searched}/{n} photos"
    )


def similarity_table() -> None:
    from PIL import Image

    from jmo_identity.face import REFERENCE_POLICY, FaceEngine
    from jmo_identity.face.recognizer import align

    photos = _photos()
    engine = FaceEngine.load(CACHE / "face-models")
    emb = {
        k: engine.analyze(photos[k].read_bytes()).embedding
        for k in ["person_a_1", "person_a_2", "person_a_3", "person_b_1", "astronaut"]
    }
    emb["tom_hanks"] = engine.analyze(photos["tom_hanks_crop"].read_bytes(), policy=REFERENCE_POLICY).embedding
    import numpy as np

    group = np.asarray(Image.open(photos["group_six"]).convert("RGB"))
    for i, det in enumerate(engine.detector.detect(group)):
        emb[f"group{i}"] = engine.recognizer.embed_aligned(align(group, det.landmarks))
    names = list(emb)
    label = {n: n.replace("person_", "") for n in names}
    print(" " * 10 + " ".join(f"{label[n]:>9}" for n in names))
    for a in names:
        print(f"{label[a]:>10}" + " ".join(f"{engine.similarity(emb[a], emb[b]):9.3f}" for b in names))
    same = [
        engine.similarity(emb[a], emb[b])
        for a, b in itertools.combinations(["person_a_1", "person_a_2", "person_a_3"], 2)
    ]
    diff = [
        engine.similarity(emb[a], emb[b])
        for a, b in itertools.combinations(names, 2)
        if not (a.startswith("person_a") and b.startswith("person_a"))
    ]
    print(f"same person: {len(same)} pairs, {min(same):.3f}..{max(same):.3f}")
    print(f"different people: {len(diff)} pairs, max {max(diff):.3f}, mean {statistics.mean(diff):.3f}")
    _degraded(engine, photos, emb)


def _degraded(engine: FaceEngine, photos: dict[str, Path], emb: dict[str, np.ndarray]) -> None:  # type: ignore[name-defined]  # noqa: F821
    """Genuine pairs with a degraded capture: how far can scores fall while
    the capture still passes the quality checks?"""
    from PIL import Image, ImageEnhance, ImageFilter

    from jmo_identity.face import FaceCaptureError

    base = Image.open(photos["person_a_1"]).convert("RGB")

    def jpeg(im: Image.Image, quality: int = 90) -> bytes:
        buf = io.BytesIO()
        im.save(buf, format="JPEG", quality=quality)
        return buf.getvalue()

    variants = {
        "blur sigma 3": jpeg(base.filter(ImageFilter.GaussianBlur(3))),
        "blur sigma 5": jpeg(base.filter(ImageFilter.GaussianBlur(5))),
        "dark x0.3": jpeg(ImageEnhance.Brightness(base).enhance(0.3)),
        "bright x1.6": jpeg(ImageEnhance.Brightness(base).enhance(1.6)),
        "jpeg q10": jpeg(base, 10),
        "jpeg q5": jpeg(base, 5),
        "greyscale": jpeg(base.convert("L")),
        "face 60 px": jpeg(base.resize((base.width // 4, base.height // 4))),
        "tilt 15 deg": jpeg(base.rotate(15, expand=True, fillcolor=(128, 128, 128))),
        "tilt 25 deg": jpeg(base.rotate(25, expand=True, fillcolor=(128, 128, 128))),
    }
    clean = engine.similarity(emb["person_a_1"], emb["person_a_2"])
    print(f"person_a_1 degraded vs person_a_2 (clean {clean:.3f}):")
    for name, data in variants.items():
        try:
            score = engine.similarity(engine.analyze(data).embedding, emb["person_a_2"])
            print(f"  {name:<12} {score:.3f}")
        except FaceCaptureError as err:
            print(f"  {name:<12} refused: {err.code}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--similarity", action="store_true", help="print the similarity table and exit")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--run", nargs="+", metavar="KEY=VALUE", help="one configuration, in this process")
    args = parser.parse_args()
    if args.similarity:
        similarity_table()
        return
    if args.run:
        opts = dict(item.split("=", 1) for item in args.run)
        run(
            [int(c) for c in opts["cpus"].split(",")],
            int(opts["threads"]),
            int(opts["workers"]),
            args.seconds,
            opts.get("auto_orient", "1") == "1",
            opts.get("turned", "0") == "1",
        )
        return
    ncpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    two = "0,1" if ncpu >= 2 else "0"
    configs = [
        ("0", 1, 1, 1, 0),  # one core, one ORT thread: the per-process baseline
        ("0", 1, 1, 0, 0),  # same without the orientation fallback
        ("0", 1, 1, 1, 1),  # sideways selfies: every one pays for the orientation search
        (two, 2, 1, 1, 0),  # one request at a time, two ORT threads
        (two, 1, 2, 1, 0),  # two concurrent requests, one ORT thread each
    ]
    _photos()  # fetch once before the children start
    for cpus, threads, workers, orient, turned in configs:
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--seconds",
                str(args.seconds),
                "--run",
                f"cpus={cpus}",
                f"threads={threads}",
                f"workers={workers}",
                f"auto_orient={orient}",
                f"turned={turned}",
            ],
            check=True,
        )


if __name__ == "__main__":
    main()
