"""Settings of the helpdesk service (env prefix HELPDESK_, e.g. HELPDESK_SLA_HOURS='{"claim": 48}')."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from jmo_shared.settings import ServiceSettings

from .domain.complaints import SlaPolicy


class HelpdeskSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HELPDESK_", extra="ignore")

    service_name: str = "helpdesk"
    port: int = 8006
    worker_port: int = 8106
    db_name: str = "helpdesk"

    # Hours from filing to resolution per complaint category; the categories a member may choose
    # are exactly these keys. Service-level targets are BPJS Ketenagakerjaan's own
    # commitments (claims are promised within 5 working days), not regulation: tune here.
    sla_hours: dict[str, int] = Field(
        default_factory=lambda: {
            "claim": 72,
            "payout": 48,
            "balance": 72,
            "account": 48,
            "data_update": 72,
            "service": 120,
            "other": 120,
        }
    )
    # How often the worker looks for complaints past their due time.
    sla_sweep_seconds: float = 60.0
    ticket_prefix: str = "HD"
    # Nearest-place search radius when the caller gives none, and the largest allowed.
    places_default_radius_km: float = 50.0
    places_max_radius_km: float = 2000.0

    def sla_policy(self) -> SlaPolicy:
        return SlaPolicy(dict(self.sla_hours))
