"""Builds the simulator from settings: HTTP API and the Kafka consumer in one process.
Clients are opened in the lifespan (inside the event loop), never at import."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI

from jmo_shared import tracing
from jmo_shared.clock import Clock, SystemClock
from jmo_shared.http import create_app
from jmo_shared.kafka import client_options
from jmo_shared.logging import get_logger
from jmo_shared.mongo import Database, make_client

from .adapters.instruction_feed import InstructionFeed
from .adapters.notifier import Notifier
from .adapters.repository import ensure_indexes
from .domain.behaviour import BehaviourBook, Defaults
from .entrypoints.routers import router
from .service_layer.bank import Bank
from .service_layer.state import BankState
from .service_layer.statements import StatementBook
from .settings import BanksimSettings

log = get_logger(__name__)


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


def create_api(settings: BanksimSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or BanksimSettings()
    clock = clock or SystemClock()
    book = BehaviourBook()
    defaults = Defaults(
        settle_delay_seconds=settings.settle_delay_seconds,
        slow_delay_seconds=settings.slow_delay_seconds,
        reject_reason_code=settings.reject_reason_code,
        reject_reason=settings.reject_reason,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = make_client(settings.mongodb_uri)
        db = Database(client, settings.db_name, source=f"/jmo/{settings.service_name}")
        http = httpx.AsyncClient(timeout=settings.notify_timeout_seconds,
                                 event_hooks={"request": [tracing.httpx_request_hook]})
        notifier = Notifier(http, settings.signing_secrets(), clock, settings.notify_retry_initial_seconds,
                            settings.notify_retry_max_seconds, settings.notify_give_up_seconds)
        bank = Bank(db, book, defaults, notifier, clock, settings.reorder_hold_seconds,
                    settings.serve_notify_url_prefix)
        feed = InstructionFeed(settings.kafka_bootstrap_servers, settings.consumer_group,
                               settings.instruction_topic_pattern, bank.receive, client_options(settings))
        statements = StatementBook(db, clock, book, ZoneInfo(settings.local_timezone), dict(settings.fund_accounts),
                                   settings.fund_owner_name, settings.fund_opening_balance_idr)
        app.state.bank = BankState(db=db, clock=clock, book=book, bank=bank, statements=statements)
        app.state.readiness = {"mongodb": db.ping, "kafka": feed.ready}
        await _prepare(db)
        resumed = await bank.resume()
        feed_task = asyncio.create_task(feed.run(), name="instruction-feed")
        log.info("banksim_started", port=settings.port, resumed=resumed, group=settings.consumer_group)
        try:
            yield
        finally:
            feed.stop()
            await asyncio.wait([feed_task], timeout=10)
            feed_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await feed_task
            await bank.stop()
            await http.aclose()
            await client.close()
            log.info("banksim_stopped")

    return create_app(
        title="partner-bank simulator",
        description="Plays the member's bank for local runs and tests: accounts, inquiry, transfers, reports.",
        lifespan=lifespan,
        routers=[router],
        max_body_bytes=settings.max_json_body_bytes,
    )
