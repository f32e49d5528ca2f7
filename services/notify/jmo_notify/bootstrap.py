"""The one place the notify service is put together from its settings. Nothing runs at import."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from jmo_shared.clock import Clock, SystemClock
from jmo_shared.consumer import IdempotentConsumer
from jmo_shared.runtime import Runtime
from jmo_shared.topics import CLAIMS_EVENTS, HELPDESK_EVENTS, IDENTITY_EVENTS, PAYOUT_EVENTS, PROFILE_EVENTS

from .adapters.collections import RECORDED_PUSH, RECORDED_SMS, ensure_indexes
from .adapters.deliveries import DeliveryStore
from .adapters.recorders import RecordingChannel
from .adapters.smtp import SmtpChannel
from .adapters.store import NotifyStore
from .domain.kinds import EMAIL, PUSH, SMS
from .service_layer.delivering import DeliveryLoop
from .service_layer.handlers import EventHandlers
from .service_layer.inbox import DeadLetters, Inbox
from .service_layer.ports import Channel
from .settings import NotifySettings

CONSUMED_TOPICS = [IDENTITY_EVENTS, PROFILE_EVENTS, CLAIMS_EVENTS, PAYOUT_EVENTS, HELPDESK_EVENTS]


@dataclass
class NotifyService:
    settings: NotifySettings
    runtime: Runtime
    clock: Clock
    events: EventHandlers
    deliveries: DeliveryLoop
    inbox: Inbox
    dead_letters: DeadLetters

    async def ensure_indexes(self) -> None:
        await ensure_indexes(self.runtime.db)

    def consumers(self) -> list[IdempotentConsumer]:
        consumer = self.runtime.consumer("events", topics=CONSUMED_TOPICS)
        wanted = self.events.wanted()
        for event_cls, handler in self.events.handlers():
            consumer.on(event_cls, handler, when=wanted.get(event_cls))
        consumer.read_ahead(self.events.read_ahead)
        return [consumer]

    def background_tasks(self) -> list[Callable[[], Awaitable[None]]]:
        return [self.deliveries.run]


def channels_from(settings: NotifySettings, runtime: Runtime, clock: Clock) -> dict[str, Channel]:
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return {
        EMAIL: SmtpChannel(
            settings.smtp_host,
            settings.smtp_port,
            settings.mail_from,
            settings.message_id_domain,
            settings.smtp_timeout_seconds,
            settings.smtp_starttls,
            settings.smtp_username,
            password,
        ),
        # No SMS gateway or push provider yet: the local adapters record what they would send.
        SMS: RecordingChannel(runtime.db, RECORDED_SMS, clock),
        PUSH: RecordingChannel(runtime.db, RECORDED_PUSH, clock),
    }


def build(
    settings: NotifySettings | None = None,
    clock: Clock | None = None,
    runtime: Runtime | None = None,
    channels: dict[str, Channel] | None = None,
) -> NotifyService:
    settings = settings or NotifySettings()
    clock = clock or SystemClock()
    runtime = runtime or Runtime(settings)
    db = runtime.db
    store, delivery_store = NotifyStore(db), DeliveryStore(db)
    loop = DeliveryLoop(
        delivery_store,
        channels or channels_from(settings, runtime, clock),
        clock,
        settings.retry_policy(),
        batch_size=settings.delivery_batch_size,
        concurrency=settings.delivery_concurrency,
        lease=timedelta(seconds=settings.delivery_lease_seconds),
        poll_seconds=settings.delivery_poll_seconds,
        gather_seconds=settings.delivery_gather_seconds,
    )
    return NotifyService(
        settings=settings,
        runtime=runtime,
        clock=clock,
        events=EventHandlers(
            store,
            delivery_store,
            clock,
            settings.sla_apology_extra_days,
            settings.sla_notify_max_level,
            timedelta(hours=settings.deliver_max_age_hours),
            on_planned=loop.wake,
        ),
        deliveries=loop,
        inbox=Inbox(store, clock),
        dead_letters=DeadLetters(delivery_store, clock),
    )
