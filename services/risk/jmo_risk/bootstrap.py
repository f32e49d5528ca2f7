"""The one place the risk service is put together from its settings. Nothing runs at import."""

from __future__ import annotations

from dataclasses import dataclass

from jmo_shared.clock import Clock, SystemClock
from jmo_shared.runtime import Runtime

from .adapters.flags import FlagStore, ensure_indexes
from .service_layer.flags import FlagDesk, FlagRecorder
from .settings import RiskSettings


@dataclass
class RiskService:
    settings: RiskSettings
    runtime: Runtime
    clock: Clock
    recorder: FlagRecorder
    desk: FlagDesk

    async def ensure_indexes(self) -> None:
        await ensure_indexes(self.runtime.db)


def build(settings: RiskSettings | None = None, clock: Clock | None = None) -> RiskService:
    settings = settings or RiskSettings()
    clock = clock or SystemClock()
    runtime = Runtime(settings)
    store = FlagStore(runtime.db)
    return RiskService(
        settings=settings,
        runtime=runtime,
        clock=clock,
        recorder=FlagRecorder(runtime.db, store),
        desk=FlagDesk(runtime.db, store, clock),
    )
