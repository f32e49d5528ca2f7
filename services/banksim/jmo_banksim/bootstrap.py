"""The one place the partner-bank simulator is put together from its settings. Nothing runs at import.

One process serves the HTTP API and reads the banks' instruction topics. `build(settings, clock)`
opens its clients, so the entrypoint calls it inside its lifespan (in the running event loop);
`start()` readies the database and resumes unfinished transfers, `aclose()` stops it all.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import httpx
from pymongo import AsyncMongoClient

from jmo_shared import httpclient, tracing
from jmo_shared.clock import Clock, SystemClock
from jmo_shared.kafka import client_options
from jmo_shared.logging import get_logger
from jmo_shared.mongo import Database, make_client

from .adapters.instruction_feed import InstructionFeed
from .adapters.notifier import Notifier
from .adapters.repository import ensure_indexes
from .domain.behaviour import BehaviourBook, Defaults
from .service_layer.bank import Bank
from .service_layer.state import BankState
from .service_layer.statements import StatementBook
from .settings import BanksimSettings

log = get_logger(__name__)


@dataclass
class BanksimService:
    settings: BanksimSettings
    client: AsyncMongoClient
    db: Database
    http: httpx.AsyncClient
    bank: Bank
    feed: InstructionFeed
    state: BankState
    _feed_task: asyncio.Task | None = field(default=None, init=False)

    async def start(self) -> int:
        """Indexes (waiting for the database), unfinished transfers resumed, the feed read; how many resumed."""
        await _prepare(self.db)
        resumed = await self.bank.resume()
        self._feed_task = asyncio.create_task(self.feed.run(), name="instruction-feed")
        return resumed

    async def aclose(self) -> None:
        self.feed.stop()
        if self._feed_task is not None:
            await asyncio.wait([self._feed_task], timeout=10)
            self._feed_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._feed_task
        await self.bank.stop()
        await self.http.aclose()
        await self.client.close()


def build(settings: BanksimSettings, clock: Clock | None = None, book: BehaviourBook | None = None) -> BanksimService:
    clock = clock or SystemClock()
    book = book or BehaviourBook()
    defaults = Defaults(
        settle_delay_seconds=settings.settle_delay_seconds,
        slow_delay_seconds=settings.slow_delay_seconds,
        reject_reason_code=settings.reject_reason_code,
        reject_reason=settings.reject_reason,
    )
    client = make_client(settings.mongodb_uri)
    db = Database(client, settings.db_name, source=f"/jmo/{settings.service_name}")
    http = httpclient.async_client(
        timeout=settings.notify_timeout_seconds, event_hooks={"request": [tracing.httpx_request_hook]}
    )
    notifier = Notifier(
        http,
        settings.signing_secrets(),
        clock,
        settings.notify_retry_initial_seconds,
        settings.notify_retry_max_seconds,
        settings.notify_give_up_seconds,
    )
    bank = Bank(db, book, defaults, notifier, clock, settings.reorder_hold_seconds, settings.serve_notify_url_prefix)
    feed = InstructionFeed(
        settings.kafka_bootstrap_servers,
        settings.consumer_group,
        settings.instruction_topic_pattern,
        bank.receive,
        client_options(settings),
    )
    statements = StatementBook(
        db,
        clock,
        book,
        ZoneInfo(settings.local_timezone),
        dict(settings.fund_accounts),
        settings.fund_owner_name,
        settings.fund_opening_balance_idr,
    )
    state = BankState(db=db, clock=clock, book=book, bank=bank, statements=statements)
    return BanksimService(settings, client, db, http, bank, feed, state)


async def _prepare(db: Database) -> None:
    delay = 0.5
    while True:
        try:
            await ensure_indexes(db)
            return
        except Exception as exc:  # database not there yet: wait, readiness says so
            log.warning("banksim_startup_retry", error=str(exc))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10)
