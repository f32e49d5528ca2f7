"""The one composition root: `build(settings, clock) -> BackofficeService`; nothing runs at import."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from jmo_shared.auth import JwksVerifier
from jmo_shared.clock import Clock, SystemClock
from jmo_shared.mongo import make_client

from .adapters.oidc import OidcClient, OidcConfig
from .adapters.services import ServicesClient, Upstreams
from .adapters.sessions import MemorySessions, MongoSessions
from .adapters.staff import StaffAccounts, StaffTokenIssuer
from .service_layer.desk import Desk
from .service_layer.signin import FailureCounter, SessionPolicy, SignIn
from .settings import BackofficeSettings


@dataclass
class BackofficeService:
    settings: BackofficeSettings
    clock: Clock
    signin: SignIn
    desk: Desk
    services: ServicesClient
    sessions: MongoSessions | MemorySessions
    mongo_client: object | None = None
    readiness: dict = field(default_factory=dict)

    async def start(self) -> None:
        await self.sessions.ensure_indexes()

    async def stop(self) -> None:
        await self.services.close()
        if self.mongo_client is not None:
            await self.mongo_client.close()  # type: ignore[attr-defined]


def build_signin(settings: BackofficeSettings, sessions, clock: Clock) -> SignIn:
    policy = SessionPolicy(
        idle=timedelta(seconds=settings.session_idle_seconds), lifetime=timedelta(seconds=settings.session_max_seconds)
    )
    failures = FailureCounter(settings.signin_max_failures, timedelta(seconds=settings.signin_lock_seconds))
    if settings.signin == "oidc":
        missing = [
            name
            for name in ("oidc_issuer", "oidc_client_id", "oidc_redirect_uri", "staff_jwks_url")
            if not getattr(settings, name)
        ]
        if missing:
            raise RuntimeError(f"BACKOFFICE_SIGNIN=oidc needs {', '.join(missing)}")
        oidc = OidcClient(
            OidcConfig(
                issuer=str(settings.oidc_issuer),
                client_id=str(settings.oidc_client_id),
                redirect_uri=str(settings.oidc_redirect_uri),
                scopes=settings.oidc_scopes,
                client_secret=settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else None,
                authorization_endpoint=settings.oidc_authorization_endpoint,
                token_endpoint=settings.oidc_token_endpoint,
                end_session_endpoint=settings.oidc_end_session_endpoint,
            )
        )
        staff_keys = JwksVerifier(
            settings.staff_jwks_url,
            settings.staff_jwt_issuer,
            settings.staff_jwt_audience,
            static_jwks=settings.staff_jwks_json,
        )
        return SignIn(sessions, clock, policy, oidc=oidc, staff_keys=staff_keys, failures=failures)
    if not settings.staff_accounts_file or not settings.staff_signing_key_file:
        raise RuntimeError(
            "BACKOFFICE_SIGNIN=local needs BACKOFFICE_STAFF_ACCOUNTS_FILE and BACKOFFICE_STAFF_SIGNING_KEY_FILE"
        )
    if not settings.is_local:
        raise RuntimeError(
            "the built-in sign-in is for local runs only (ENVIRONMENT=local/dev/test); "
            "deployed, set BACKOFFICE_SIGNIN=oidc"
        )
    issuer = StaffTokenIssuer(
        Path(settings.staff_signing_key_file),
        settings.staff_jwt_issuer,
        settings.staff_jwt_audience,
        timedelta(seconds=settings.staff_token_ttl_seconds),
    )
    return SignIn(
        sessions,
        clock,
        policy,
        accounts=StaffAccounts(Path(settings.staff_accounts_file)),
        issuer=issuer,
        failures=failures,
    )


def build(
    settings: BackofficeSettings,
    clock: Clock | None = None,
    *,
    in_memory: bool = False,
    services: ServicesClient | None = None,
) -> BackofficeService:
    clock = clock or SystemClock()
    services = services or ServicesClient(
        Upstreams(
            claims=settings.claims_url.rstrip("/"),
            helpdesk=settings.helpdesk_url.rstrip("/"),
            payout=settings.payout_url.rstrip("/"),
            claims_metrics=tuple(settings.claims_metrics_urls),
            payout_metrics=tuple(settings.payout_metrics_urls),
            risk=settings.risk_url.rstrip("/") if settings.risk_url else None,
        ),
        timeout=settings.upstream_timeout_seconds,
    )
    mongo_client = None
    sessions: MongoSessions | MemorySessions
    readiness: dict = {}
    if in_memory:
        sessions = MemorySessions()
    else:
        mongo_client = make_client(settings.mongodb_uri, max_pool_size=settings.mongodb_max_pool_size)
        sessions = MongoSessions(mongo_client[settings.db_name])

        async def mongodb() -> bool:
            await mongo_client.admin.command("ping")
            return True

        readiness["mongodb"] = mongodb
    signin = build_signin(settings, sessions, clock)
    desk = Desk(services, clock, settings.queue_page_size)
    return BackofficeService(settings, clock, signin, desk, services, sessions, mongo_client, readiness)
