"""Settings of the notify service (env prefix NOTIFY_, e.g. NOTIFY_SMTP_HOST=mail.internal NOTIFY_SMTP_PORT=587)."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from jmo_shared.settings import ServiceSettings

from .domain.delivery import RetryPolicy


class NotifySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore")

    service_name: str = "notify"
    port: int = 8007
    worker_port: int = 8107
    db_name: str = "notify"

    # E-mail: an SMTP server (locally jmo_local.smtp on 1025, which keeps every message as an .eml file).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = 10.0
    mail_from: str = "BPJS Ketenagakerjaan <noreply@jmo.bpjsketenagakerjaan.go.id>"
    message_id_domain: str = "jmo.bpjsketenagakerjaan.go.id"

    # Retries of a failing channel: base, 2 x base, 4 x base ... capped; dead after max_attempts
    # (the defaults give up after about 21 minutes of an SMTP server that is away).
    retry_base_seconds: float = 5.0
    retry_max_seconds: float = 600.0
    max_attempts: int = 8
    # The delivery loop: how often it looks when not woken, how much per round, how many at once.
    delivery_poll_seconds: float = 1.0
    # Once woken by a planned notice, how long the loop lets more gather before its round (a round is
    # four commands whatever its size): a message goes out this much later, in fewer rounds under load.
    delivery_gather_seconds: float = 0.25
    delivery_batch_size: int = 50
    delivery_concurrency: int = 4
    delivery_lease_seconds: float = 60.0

    # A late claim's apology names a new date this many days after the escalation (the supervisor's
    # commitment; tune with the claims SLA).
    sla_apology_extra_days: int = 2
    # Escalation levels the member is told about (1: the first only; later levels are internal).
    sla_notify_max_level: int = 1

    # An event older than this when notify applies it goes in the inbox but is not sent out (a new
    # deployment reading the topics from their start must not e-mail members about last year).
    deliver_max_age_hours: float = 72.0

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(self.retry_base_seconds, self.retry_max_seconds, self.max_attempts)
