"""Settings every service shares; each service subclasses with its own env prefix.

Connection settings have un-prefixed names (`MONGODB_URI`, `KAFKA_BOOTSTRAP_SERVERS`,
`JWKS_URL`) so one environment file, a docker-compose `environment:` block or a
Kubernetes ConfigMap can point every service at the same broker and database.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_ENVIRONMENTS = frozenset({"local", "dev", "test"})


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_file=None)

    service_name: str = "service"
    # Where this process runs: `local` (the local stack, docker-compose, tests) or a deployed
    # environment (anything else, e.g. staging, production). Deployed, a service refuses to start
    # on what is only fit for a laptop (payout: bank secrets left unset or the public dev ones).
    environment: str = Field(default="production", validation_alias=AliasChoices("ENVIRONMENT", "environment"))
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
    # How this process proves who it is to the broker (jmo_shared.kafka.client_options). PLAINTEXT,
    # no identity: the local stack. Deployed: SASL_SSL with SCRAM-SHA-512, one user per service whose
    # ACLs allow only its own topics and consumer groups, and the CA of the brokers' certificates.
    kafka_security_protocol: str = Field(
        default="PLAINTEXT",
        validation_alias=AliasChoices("KAFKA_SECURITY_PROTOCOL", "kafka_security_protocol"),
    )
    kafka_sasl_mechanism: str = Field(
        default="SCRAM-SHA-512", validation_alias=AliasChoices("KAFKA_SASL_MECHANISM", "kafka_sasl_mechanism")
    )
    kafka_sasl_username: str | None = Field(
        default=None, validation_alias=AliasChoices("KAFKA_SASL_USERNAME", "kafka_sasl_username")
    )
    kafka_sasl_password: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("KAFKA_SASL_PASSWORD", "kafka_sasl_password")
    )
    # PEM file of the CA that signed the brokers' certificates (SSL, SASL_SSL); unset: the system's CAs.
    kafka_ssl_cafile: str | None = Field(
        default=None, validation_alias=AliasChoices("KAFKA_SSL_CAFILE", "kafka_ssl_cafile")
    )
    jwks_url: str = Field(
        default="http://127.0.0.1:8001/.well-known/jwks.json",
        validation_alias=AliasChoices("JWKS_URL", "jwks_url"),
    )
    # Extra trusted member keys (a JWKS document) ADDED to the ones fetched from jwks_url and kept
    # across its refreshes. A key here wins over a fetched key with the same kid. With jwks_url
    # unset: these keys only. Staff keys go in STAFF_JWKS_JSON / STAFF_JWKS_URL, never here.
    jwks_json: str | None = Field(default=None, validation_alias=AliasChoices("JWKS_JSON", "jwks_json"))
    jwt_issuer: str = Field(default="jmo-identity", validation_alias=AliasChoices("JWT_ISSUER", "jwt_issuer"))
    jwt_audience: str = Field(default="jmo-mobile", validation_alias=AliasChoices("JWT_AUDIENCE", "jwt_audience"))
    # The staff identity provider (officers, ops): its own keys, issuer and audience. A staff role is
    # taken only from a token signed by these keys (jmo_shared.auth.TokenVerifier); with neither the
    # URL nor the JSON set, no token can carry a staff role.
    staff_jwks_url: str | None = Field(default=None, validation_alias=AliasChoices("STAFF_JWKS_URL", "staff_jwks_url"))
    staff_jwks_json: str | None = Field(
        default=None, validation_alias=AliasChoices("STAFF_JWKS_JSON", "staff_jwks_json")
    )
    staff_jwt_issuer: str = Field(
        default="jmo-staff", validation_alias=AliasChoices("STAFF_JWT_ISSUER", "staff_jwt_issuer")
    )
    staff_jwt_audience: str = Field(
        default="jmo-backend", validation_alias=AliasChoices("STAFF_JWT_AUDIENCE", "staff_jwt_audience")
    )
    # Largest request body the API reads on a route that takes JSON (or a small form); upload routes
    # have their own limit (jmo_shared.http.BodyLimit). A larger one answers 413 request_too_large.
    max_json_body_bytes: int = 64 * 1024
    log_level: str = Field(default="INFO", validation_alias=AliasChoices("LOG_LEVEL", "log_level"))
    # Outbox rows leave right after their commit (jmo_shared.outbox); the worker's sweeper looks this
    # often for rows still unpublished this long after their commit (a crashed process's, say).
    outbox_sweep_seconds: float = 5.0
    outbox_sweep_after_seconds: float = 10.0
    # Workers delete processed-event ids past retention this often
    # (jmo_shared.retention; the local database's TTL sweep is off). 0: leave it to TTL indexes.
    retention_purge_seconds: float = 600.0
    # Per process. The local database serves each connection with a thread; keep the sum over the
    # stack's processes well below what it handles (SecantusDB: 13 processes x 10).
    mongodb_max_pool_size: int = Field(
        default=10, validation_alias=AliasChoices("MONGODB_MAX_POOL_SIZE", "mongodb_max_pool_size")
    )
    consumer_group_prefix: str = Field(
        default="jmo", validation_alias=AliasChoices("CONSUMER_GROUP_PREFIX", "consumer_group_prefix")
    )
    # SIGTERM: how long in-flight requests, the consumers' batch in hand and the relay's batch may
    # take to finish. Keep the Deployment's terminationGracePeriodSeconds above twice this.
    shutdown_grace_seconds: float = Field(
        default=20.0, validation_alias=AliasChoices("SHUTDOWN_GRACE_SECONDS", "shutdown_grace_seconds")
    )
    # How long an idle keep-alive connection stays open. Longer than any client's or proxy's own idle
    # expiry (httpx: 5 s; load balancers: 60 s), so the client always closes first: a server that closes
    # an idle connection as the client sends on it drops that request, and a POST is not resent.
    http_keep_alive_seconds: int = Field(
        default=75, ge=1, validation_alias=AliasChoices("HTTP_KEEP_ALIVE_SECONDS", "http_keep_alive_seconds")
    )
    # Tracing (jmo_shared.tracing): spans go to an OTLP/HTTP collector (e.g. http://otel-collector:4318)
    # and/or to JSON-lines files in a directory (the local stack); with neither, no SDK is loaded.
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT", "otel_exporter_otlp_endpoint"),
    )
    trace_file_dir: str | None = Field(default=None, validation_alias=AliasChoices("TRACE_FILE_DIR", "trace_file_dir"))

    @property
    def is_local(self) -> bool:
        return self.environment.strip().lower() in LOCAL_ENVIRONMENTS
