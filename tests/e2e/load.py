"""Many members through a JHT claim at once, for the fault and rolling-restart tests.

Each member is new (its own NIK, one KPJ card ended by resignation, contributions
on the upstream feed, an account at the bank simulator) and goes through the
public API only: register, log in, face match, pengkinian data, documents, a
second face match, and a resignation claim for the whole card. Members start
with bounded concurrency (and optionally a pace), so claims are submitted over
the whole run while the test breaks things; a tracker follows every submitted
claim until it reaches a final state.

All HTTP goes through one client whose transport (`RecordingTransport`) counts
what the callers saw: 5xx answers, refused connections, dropped connections,
and can hold new requests to a process that is being restarted (`TrafficGate`).
"""

from __future__ import annotations

import asyncio
import io
import statistics
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from jmo_local.bench import bench_members
from jmo_local.demo import feed_events
from jmo_local.demo_loader import demo_photo_pairs, publish_events
from jmo_local.journey import Journey, JourneyError, Urls
from jmo_local.services import ROOT
from jmo_local.stackstats import percentile

FINAL = frozenset({"PAID", "REJECTED", "NEEDS_REVIEW", "PAYOUT_FAILED"})
# The money path is under test, not password hashing: cheap argon2 parameters for identity let a
# 2-core machine onboard a few hundred members (register + login cost ~0.4 s of CPU otherwise).
FAST_ONBOARDING = {
    "IDENTITY_ARGON2_TIME_COST": "1",
    "IDENTITY_ARGON2_MEMORY_KIB": "8192",
    "IDENTITY_ARGON2_PARALLELISM": "1",
}


# --- what HTTP saw ---------------------------------------------------------------------------


@dataclass
class TrafficGate:
    """Per port: open or held (new requests wait), and what came back."""

    names: dict[int, str] = field(default_factory=dict)  # port -> process name, for reports
    requests: int = 0
    server_errors: list[str] = field(default_factory=list)
    refused: Counter = field(default_factory=Counter)
    dropped: list[str] = field(default_factory=list)
    _open: dict[int, asyncio.Event] = field(default_factory=dict)

    def _event(self, port: int) -> asyncio.Event:
        if port not in self._open:
            self._open[port] = asyncio.Event()
            self._open[port].set()
        return self._open[port]

    def hold(self, port: int) -> None:
        self._event(port).clear()

    def release(self, port: int) -> None:
        self._event(port).set()

    async def wait_open(self, port: int) -> None:
        await self._event(port).wait()

    def name(self, port: int | None) -> str:
        return self.names.get(port or 0, str(port))


def _safe_to_resend(request: httpx.Request) -> bool:
    return request.method in ("GET", "PUT", "HEAD") or "idempotency-key" in request.headers


class RecordingTransport(httpx.AsyncBaseTransport):
    """Counts 5xx answers; resends a request whose connection was refused (it never reached a server)."""

    def __init__(self, gate: TrafficGate, retry_seconds: float = 90.0) -> None:
        self.gate = gate
        self._retry_seconds = retry_seconds
        self._inner = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=100, max_keepalive_connections=40))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        port = request.url.port
        deadline = time.monotonic() + self._retry_seconds
        while True:
            await self.gate.wait_open(port or 0)
            self.gate.requests += 1
            try:
                response = await self._inner.handle_async_request(request)
            except httpx.ConnectError:
                self.gate.refused[self.gate.name(port)] += 1
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.25)
                continue
            except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
                # Dropped after it was sent: it may have been applied, so only a safe request is resent.
                self.gate.dropped.append(f"{self.gate.name(port)} {request.method} {request.url.path}: {exc!r}")
                if _safe_to_resend(request) and time.monotonic() < deadline:
                    await asyncio.sleep(0.25)
                    continue
                raise
            if response.status_code >= 500:
                body = await response.aread()
                self.gate.server_errors.append(
                    f"{self.gate.name(port)} {request.method} {request.url.path} -> {response.status_code}: "
                    f"{body[:300]!r}"
                )
                return httpx.Response(response.status_code, headers=response.headers, content=body, request=request)
            return response

    async def aclose(self) -> None:
        await self._inner.aclose()


# --- members and their claims ----------------------------------------------------------------


def light_photos(directory: Path, side: int = 480) -> tuple[Path, Path]:
    """The KTP photo and a selfie of the same person, scaled down to `side` pixels.

    Every member's PersonRecorded carries the KTP photo: at full size (280 KB, 370 KB in
    base64) a few hundred of them are most of what the database writes. Scaled down,
    the pair still matches (similarity 0.73 against the 0.50 threshold, measured).
    """
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for index, source in enumerate(demo_photo_pairs(ROOT / ".cache")[0]):
        target = directory / f"{'ktp' if index == 0 else 'selfie'}-{side}.jpg"
        if not target.exists():
            image = Image.open(source).convert("RGB")
            image.thumbnail((side, side))
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=88)
            partial = target.with_suffix(f".{uuid.uuid4().hex}.part")
            partial.write_bytes(buffer.getvalue())
            partial.replace(target)  # several test processes may make it at once
        out.append(target)
    return out[0], out[1]


@dataclass
class MemberRun:
    journey: Journey
    contributions_idr: int
    kpj: str
    card_before: dict[str, Any] = field(default_factory=dict)
    claim_id: str | None = None
    claim: dict[str, Any] = field(default_factory=dict)
    failure: str | None = None

    @property
    def member(self):
        return self.journey.member

    @property
    def status(self) -> str | None:
        return self.claim.get("status")

    def timeline_at(self, status: str) -> datetime | None:
        at = next((t["at"] for t in self.claim.get("timeline", []) if t["status"] == status), None)
        return datetime.fromisoformat(at.replace("Z", "+00:00")) if at else None


class ClaimLoad:
    def __init__(
        self,
        urls: Urls,
        kafka_bootstrap: str,
        members: int,
        concurrency: int,
        patience: float = 4.0,
        gate: TrafficGate | None = None,
        start_interval: float = 0.0,
    ) -> None:
        self.urls = urls
        self.kafka = kafka_bootstrap
        self.concurrency = concurrency
        self.start_interval = start_interval
        self.gate = gate or TrafficGate()
        self.transport = RecordingTransport(self.gate)
        self.client = httpx.AsyncClient(transport=self.transport, timeout=60)
        self.today = date.today()
        self.runs: list[MemberRun] = []
        ktp, selfie = light_photos(Path(tempfile.gettempdir()) / "jmo-e2e-faces")
        for member in bench_members(members, self.today):
            member.photo, member.selfie = ktp, selfie
            card = member.cards[0]
            # A year of contributions, not two: half the feed events, the same claim.
            card.registered_on = card.ended_on - timedelta(days=365)
            contributions = sum(
                e.employer_idr + e.worker_idr
                for e in feed_events(member, self.today)
                if e.event_type.endswith("ContributionPosted.v1")
            )
            journey = Journey(urls, member, client=self.client, patience=patience)
            self.runs.append(MemberRun(journey, contributions, member.cards[0].kpj))
        self.onboarding_seconds: list[float] = []
        self.submitted = 0
        self.started_at = 0.0

    async def close(self) -> None:
        await self.client.aclose()

    async def publish_feeds(self) -> None:
        """Accounts at the simulator, then what the core system and the registry publish about everyone."""
        gate = asyncio.Semaphore(16)

        async def open_account(run: MemberRun) -> None:
            async with gate:
                await run.journey.open_bank_account()

        await asyncio.gather(*(open_account(r) for r in self.runs))
        events = [e for r in self.runs for e in feed_events(r.member, self.today)]
        await publish_events(self.kafka, events, source="/e2e/upstream", progress=False)

    async def _onboard_and_submit(self, run: MemberRun) -> None:
        j = run.journey
        started = time.monotonic()
        await j.register()
        await j.login()
        face = await j.verify_face("profile_update")
        if not face["matched"]:
            raise JourneyError(f"face did not match: {face}")
        await j.update_profile(face["verification_id"])
        run.card_before = await j.wait_balance(run.kpj, run.contributions_idr)
        eligibility = await j.wait_claim_ready(run.kpj, "resignation")
        documents = await j.upload_documents(eligibility["required_documents"])
        claim_face = await j.verify_face("claim")
        self.onboarding_seconds.append(time.monotonic() - started)
        resp = await j.submit_claim(
            run.kpj, "resignation", documents, claim_face["verification_id"], idempotency_key=uuid.uuid4().hex
        )
        if resp.status_code != 202:
            raise JourneyError(f"claim refused {resp.status_code}: {resp.text[:300]}")
        run.claim_id = resp.json()["claim_id"]
        run.claim = {"status": resp.json().get("status", "SUBMITTED")}
        self.submitted += 1

    async def run(self) -> None:
        """Every member through onboarding and submission; failures are kept on the run, not raised."""
        gate = asyncio.Semaphore(self.concurrency)
        self.started_at = time.monotonic()

        async def one(index: int, run: MemberRun) -> None:
            if self.start_interval:
                await asyncio.sleep(index * self.start_interval)
            async with gate:
                try:
                    await self._onboard_and_submit(run)
                except Exception as exc:  # noqa: BLE001 - reported per member by the test
                    run.failure = f"{type(exc).__name__}: {str(exc)[:400]}"

        await asyncio.gather(*(one(i, r) for i, r in enumerate(self.runs)))

    async def wait_submitted(self, count: int) -> None:
        while self.submitted < count and any(r.claim_id is None and r.failure is None for r in self.runs):
            await asyncio.sleep(0.25)

    # --- following the claims ---

    async def member_get(self, run: MemberRun, url: str, **params: str) -> httpx.Response:
        """GET as the member, logging in again when the token expired during a long run."""
        resp = await self.client.get(url, headers=run.journey.auth, params=params)
        if resp.status_code == 401:
            await run.journey.login()
            resp = await self.client.get(url, headers=run.journey.auth, params=params)
        return resp

    async def _refresh(self, run: MemberRun) -> None:
        resp = await self.member_get(run, f"{self.urls.claims}/v1/claims/{run.claim_id}")
        if resp.status_code == 200:
            run.claim = resp.json()

    async def wait_final(self, timeout: float, interval: float = 1.0) -> list[MemberRun]:
        """Poll every submitted claim until all are final; returns those that are not (empty when done)."""
        deadline = time.monotonic() + timeout
        gate = asyncio.Semaphore(8)

        async def refresh(run: MemberRun) -> None:
            async with gate:
                try:
                    await self._refresh(run)
                except httpx.HTTPError:
                    pass

        while True:
            open_runs = [r for r in self.claims() if r.status not in FINAL]
            if not open_runs or time.monotonic() > deadline:
                return open_runs
            await asyncio.gather(*(refresh(r) for r in open_runs))
            await asyncio.sleep(interval)

    def claims(self) -> list[MemberRun]:
        return [r for r in self.runs if r.claim_id]

    def status_counts(self) -> Counter:
        counts: Counter = Counter()
        for run in self.runs:
            if run.failure:
                counts["not submitted"] += 1
            elif run.claim_id:
                key = run.status or "?"
                if run.claim.get("reason_code"):
                    key += f" ({run.claim['reason_code']})"
                counts[key] += 1
        return counts

    def latencies(self) -> list[float]:
        """Submit to PAID per paid claim, in seconds, from the claims service's own timeline."""
        out = []
        for run in self.claims():
            submitted, paid = run.timeline_at("SUBMITTED"), run.timeline_at("PAID")
            if submitted and paid:
                out.append((paid - submitted).total_seconds())
        return out

    def throughput(self) -> str:
        paid = [r for r in self.claims() if r.status == "PAID"]
        if not paid:
            return "no claim paid"
        first = min(r.timeline_at("SUBMITTED") for r in paid)
        last = max(r.timeline_at("PAID") for r in paid)
        span = max((last - first).total_seconds(), 1e-3)
        lat = self.latencies()
        onboarding = self.onboarding_seconds or [0.0]
        return (
            f"{len(paid)} claims paid in {span:.1f}s (first submission to last payment) = "
            f"{len(paid) / span:.2f} claims/s; submit->PAID p50 {statistics.median(lat):.2f}s "
            f"p99 {percentile(lat, 99):.2f}s max {max(lat):.2f}s; onboarding per member "
            f"p50 {statistics.median(onboarding):.1f}s (register, login, 2 face matches, wizard, documents)"
        )

    def failures(self) -> list[str]:
        return [f"{r.member.nik}: {r.failure}" for r in self.runs if r.failure]
