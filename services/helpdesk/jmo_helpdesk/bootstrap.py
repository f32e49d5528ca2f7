"""The one place the helpdesk service is put together from its settings. Nothing runs at import."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from jmo_shared.clock import Clock, SystemClock
from jmo_shared.idempotency import IdempotencyStore
from jmo_shared.logging import get_logger
from jmo_shared.periodic import every
from jmo_shared.runtime import Runtime

from .adapters.collections import ensure_indexes
from .adapters.complaints import ComplaintRepository
from .adapters.places import PlaceStore
from .adapters.programs import ProgramStore
from .service_layer.complaints import ComplaintDesk
from .service_layer.places import PlaceImport, PlaceQueries
from .service_layer.programs import Programs
from .settings import HelpdeskSettings

log = get_logger(__name__)


@dataclass
class HelpdeskService:
    settings: HelpdeskSettings
    runtime: Runtime
    clock: Clock
    places: PlaceQueries
    place_import: PlaceImport
    programs: Programs
    complaints: ComplaintDesk
    idempotency: IdempotencyStore

    async def on_api_start(self) -> None:
        await ensure_indexes(self.runtime.db)
        await self.idempotency.ensure_indexes()
        await self.programs.seed()

    async def on_worker_start(self) -> None:
        await ensure_indexes(self.runtime.db)
        await self.idempotency.ensure_indexes()
        await self.programs.seed()
        await self.place_import.seed_demo_if_empty()

    def periodic_tasks(self) -> list[Callable[[], Awaitable[None]]]:
        return [every("complaint_sla_sweep", self.settings.sla_sweep_seconds, self.complaints.sweep_sla)]


def build(
    settings: HelpdeskSettings | None = None, clock: Clock | None = None, runtime: Runtime | None = None
) -> HelpdeskService:
    settings = settings or HelpdeskSettings()
    clock = clock or SystemClock()
    runtime = runtime or Runtime(settings)
    db = runtime.db
    place_store = PlaceStore(db)
    idempotency = IdempotencyStore(db, scope="helpdesk.complaints")
    return HelpdeskService(
        settings=settings,
        runtime=runtime,
        clock=clock,
        places=PlaceQueries(place_store, settings.places_default_radius_km, settings.places_max_radius_km),
        place_import=PlaceImport(db, place_store),
        programs=Programs(db, ProgramStore(db), clock),
        complaints=ComplaintDesk(
            db, ComplaintRepository(db), idempotency, clock, settings.sla_policy(), settings.ticket_prefix
        ),
        idempotency=idempotency,
    )
