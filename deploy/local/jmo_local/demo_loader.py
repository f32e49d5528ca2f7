"""Loads the demo members into a running system: bank accounts in the simulator, feeds on Kafka."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime
from pathlib import Path

from aiokafka import AIOKafkaProducer

from jmo_identity.face.sample_photos import face_photos
from jmo_shared import httpclient
from jmo_shared.events import EventData

from .demo import DemoMember, build_members, feed_events, member_to_json
from .services import ProcessSpec


def demo_photo_pairs(cache_dir: Path) -> list[tuple[Path, Path]]:
    """(KTP photo, selfie) pairs of the same person from the offline test photos, always two different shots.

    Only one person has several independent photos offline, so every demo member gets that face; a
    selfie that is the KTP photo itself would be refused as a copy (selfie_is_reference_photo), as it
    should. Measured with the identity engine: each pair matches (0.75 to 0.80) and is no copy
    (3 to 5 matching corners between the aligned crops, where a copy starts at 50).
    """
    photos = face_photos(cache_dir / "faces")
    a1, a2, a3 = photos["person_a_1"], photos["person_a_2"], photos["person_a_3"]
    return [(a1, a2), (a2, a3), (a3, a1)]


async def publish_events(bootstrap: str, events: list[EventData], source: str, progress: bool = True) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=20)
    await producer.start()
    try:
        started = time.monotonic()
        pending = []
        for n, data in enumerate(events, 1):
            event = data.to_event(source)
            pending.append(
                await producer.send(
                    data.topic, value=event.to_bytes(), key=data.key().encode(), headers=event.kafka_headers()
                )
            )
            if len(pending) >= 2000:
                for fut in pending:
                    await fut
                pending.clear()
                if progress:
                    print(f"    published {n}/{len(events)} feed events", flush=True)
        for fut in pending:
            await fut
        if progress:
            print(f"    published {len(events)} feed events in {time.monotonic() - started:.1f}s", flush=True)
    finally:
        await producer.stop()


async def open_bank_accounts(banksim_url: str, members: list[DemoMember]) -> None:
    async with httpclient.async_client(base_url=banksim_url, timeout=10) as client:
        for member in members:
            resp = await client.post(
                "/sim/accounts",
                json={
                    "bank_code": member.bank_code,
                    "account_number": member.account_number,
                    "holder_name": member.full_name,
                },
            )
            resp.raise_for_status()


async def load_demo(bootstrap: str, specs: list[ProcessSpec], count: int, cache_dir: Path, data_dir: Path) -> dict:
    today = date.today()
    print(f"==> loading demo data: {count} members", flush=True)
    members = build_members(count, today, demo_photo_pairs(cache_dir))
    banksim = next(s for s in specs if s.name == "banksim")
    await open_bank_accounts(banksim.url, members)
    print(f"    opened {count} accounts at the partner-bank simulator", flush=True)
    events: list[EventData] = []
    for member in members:
        events += feed_events(member, today)
    await publish_events(bootstrap, events, source="/demo/upstream")
    (data_dir / "demo-members.json").write_text(json.dumps([member_to_json(m) for m in members], indent=2))
    print("    the services are projecting them now (watch their logs or /metrics consumer_lag)", flush=True)
    return {"members": count, "events": len(events), "at": datetime.now(UTC).isoformat()}


def main(argv: list[str] | None = None) -> None:
    """What `make run` runs once, in a process of its own: the photos, the event models and the
    producer it loads leave with it instead of staying in the long-lived `jmo_local.run` (~170 MB).
    Writes `<data dir>/demo-loaded.json` when done (the stack's default ports, as `make run`)."""
    import argparse
    import asyncio

    from .services import DEMO_STAMP, process_specs

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--members", type=int, required=True)
    parser.add_argument("--cache-dir", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    summary = asyncio.run(load_demo(args.bootstrap, process_specs(), args.members, args.cache_dir, args.data_dir))
    stamp = args.data_dir / DEMO_STAMP
    stamp.write_text(json.dumps({**summary, "loaded_at": datetime.now(UTC).isoformat()}))


if __name__ == "__main__":
    main()
