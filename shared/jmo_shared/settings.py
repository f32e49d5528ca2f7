"""Settings every service shares; each service subclasses with its own env prefix.

Connection settings have un-prefixed names (`MONGODB_URI`, `KAFKA_BOOTSTRAP_SERVERS`,
`JWKS_URL`) so one environment file, a docker-compose `environment:` block or a
Kubernetes ConfigMap can point every service at the same broker and database.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_file=None)

    service_name: str = "service"
    host: str = "127.0.0.1"
    port: int = 8000
    # The worker process (consumers + outbox relay) serves health and metrics here.
    worker_port: int = 8100
    mongodb_uri: str = Field(
        default="mongodb://127.0.0.1:27017/?retryWrites=false&directConnection=true",
        validation_alias=AliasChoices("MONGODB_URI", "mongodb_uri"),
    )
    db_name: str = "jmo"
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "kafka_bootstrap_servers"),
    )
    jwks_url: str = Field(
        default="http://127.0.0.1:8001/.well-known/jwks.json",
        validation_alias=AliasChoices("JWKS_URL", "jwks_url"),
    )
    # A fixed JWKS document instead of fetching jwks_url (tests, air-gapped setups).
    jwks_json: str | None = Field(default=None, validation_alias=AliasChoices("JWKS_JSON", "jwks_json"))
    jwt_issuer: str = Field(default="jmo-identity", validation_alias=AliasChoices("JWT_ISSUER", "jwt_issuer"))
    jwt_audience: str = Field(default="jmo-mobile", validation_alias=AliasChoices("JWT_AUDIENCE", "jwt_audience"))
    log_level: str = Field(default="INFO", validation_alias=AliasChoices("LOG_LEVEL", "log_level"))
    # The outbox relay polls this often when it finds nothing to publish.
    outbox_poll_seconds: float = 0.05
    consumer_group_prefix: str = Field(
        default="jmo", validation_alias=AliasChoices("CONSUMER_GROUP_PREFIX", "consumer_group_prefix")
    )
