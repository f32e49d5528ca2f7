"""How long after a face match the match is usable by claims: as signed (now) and by plain id (the projection).

Against the stack `make run` started. One new member (own feeds, registered, logged in) passes
`--matches` face matches for purpose `claim`. Right after each, a claim is sent with the
match's plain id (the assertion's `jti`, which is what clients passed before assertions), at once
and every 10 ms until claims knows that id from the FaceVerified event, and then with the
`verification_id` as identity answered it (the signed assertion). The claim carries no documents, so claims
refuses it either way and nothing is submitted; what is read is whether `verification_not_found`
is among the refusals. Printed, for each way: p50/p99/max of the time until claims knew the match
(for the plain id from the match's answer, polling; for the signed one, its own request) and how
often the first request was refused with `verification_not_found`.

    python -m jmo_local.face_usable --matches 20

Run it beside `make bench` to see the event's lag under load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
import uuid
from datetime import date

import httpx
import jwt

from jmo_shared import httpclient

from .demo import build_members, feed_events
from .demo_loader import demo_photo_pairs, publish_events
from .journey import Journey, Urls
from .services import API_PORTS, BANKSIM_PORT, ROOT


def jti_of(assertion: str) -> str:
    """The match's plain id inside the signed verification_id (claims checks the signature itself)."""
    return jwt.decode(assertion, options={"verify_signature": False})["jti"]


async def unknown_face(client: httpx.AsyncClient, journey: Journey, kpj: str, verification_id: str) -> bool:
    """Whether claims refuses this verification_id as unknown (the claim itself is refused anyway)."""
    resp = await client.post(
        f"{journey.urls.claims}/v1/claims",
        headers={
            **journey.auth,
            "Idempotency-Key": uuid.uuid4().hex,
        },
        json={"reason": "resignation", "kpj": kpj, "document_ids": ["none"], "verification_id": verification_id},
    )
    body = resp.json()
    codes = {body.get("code"), *(e.get("code") for e in body.get("errors", []))}
    return "verification_not_found" in codes


async def until_known(client, journey, kpj, verification_id, started: float, limit: float = 60.0) -> tuple[float, bool]:
    """Seconds from the match's answer until claims knew the match, and whether the first request already did."""
    first = True
    while await unknown_face(client, journey, kpj, verification_id):
        first = False
        if time.monotonic() - started > limit:
            return float("inf"), first
        await asyncio.sleep(0.01)
    return time.monotonic() - started, first


def summary(name: str, results: list[tuple[float, bool]]) -> str:
    ordered = sorted(seconds for seconds, _ in results)
    refused = sum(1 for _, first in results if not first)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    return (
        f"{name:<36} p50 {statistics.median(ordered) * 1000:7.1f} ms  p99 {p99 * 1000:7.1f} ms  "
        f"max {ordered[-1] * 1000:7.1f} ms; first request refused verification_not_found: "
        f"{refused} of {len(results)}"
    )


async def run(urls: Urls, kafka: str, matches: int) -> None:
    today = date.today()
    member = build_members(
        1,
        today,
        demo_photo_pairs(ROOT / ".cache")[:1],
        seed=random.randrange(10**9),
        nik_seq_start=random.randrange(1, 9000),
    )[0]
    journey = Journey(urls, member, patience=3.0)
    await publish_events(kafka, feed_events(member, today), source="/bench/upstream", progress=False)
    await journey.register()
    await journey.login()
    kpj = member.cards[0].kpj
    signed, plain = [], []
    async with httpclient.async_client(timeout=30) as client:
        for _ in range(matches):
            face = await journey.verify_face("claim")
            # The plain id first, straight after the answer (as clients sent it before assertions) ...
            plain.append(await until_known(client, journey, kpj, jti_of(face["verification_id"]), time.monotonic()))
            # ... then the signed one, timed from its own request (it needs no event, so no head start).
            signed.append(await until_known(client, journey, kpj, face["verification_id"], time.monotonic()))
    await journey.close()
    print(summary("signed verification_id (now)", signed))
    print(summary("plain id, via FaceVerified (before)", plain))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matches", type=int, default=20)
    parser.add_argument("--kafka", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    args = parser.parse_args()
    base = "http://127.0.0.1"
    urls = Urls(
        *(f"{base}:{API_PORTS[s]}" for s in ("identity", "profile", "balance", "claims", "payout")),
        banksim=f"{base}:{BANKSIM_PORT}",
    )
    asyncio.run(run(urls, args.kafka, args.matches))


if __name__ == "__main__":
    main()
