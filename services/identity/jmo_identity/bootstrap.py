"""The composition root: builds identity's API and worker from settings. Nothing runs at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from jmo_shared.clock import Clock, SystemClock
from jmo_shared.events import MemberRegistered, PersonRecorded
from jmo_shared.http import BodyLimitRule, create_app
from jmo_shared.logging import get_logger
from jmo_shared.runtime import Runtime, api_lifespan, worker_app
from jmo_shared.topics import CORE_MEMBERSHIP, POPULATION_RECORDS

from .adapters.account_store import AccountStore
from .adapters.attempt_store import CLIENT_ATTEMPTS, LOGIN_FAILURES, REFUSED_REGISTRATIONS, AttemptStore
from .adapters.biometric_store import BiometricStore
from .adapters.challenge_store import ChallengeStore, load_code_pepper
from .adapters.indexes import ensure_indexes
from .adapters.notifier import LocalNotifier
from .adapters.password_hashing import PasswordHashing
from .adapters.registry_store import RegistryStore
from .adapters.signing import AccessTokenIssuer, FaceAssertionIssuer, Keyring, KeyringVerifier, KeyStore
from .adapters.token_store import TokenStore
from .domain.biometrics import FacePolicy
from .domain.client_address import parse_networks
from .domain.codes import CodePolicy
from .domain.lockout import LockoutPolicy
from .domain.passwords import PasswordPolicy
from .service_layer import throttling
from .service_layer.context import IdentityContext
from .service_layer.registry import registry_handlers
from .settings import IdentitySettings

log = get_logger(__name__)


def build_context(runtime: Runtime, settings: IdentitySettings, clock: Clock) -> IdentityContext:
    db = runtime.db
    keyring = Keyring(KeyStore(db, settings.signing_key_pem, clock))
    return IdentityContext(
        db=db,
        clock=clock,
        registry=RegistryStore(db),
        accounts=AccountStore(db),
        login_failures=AttemptStore(db, LOGIN_FAILURES),
        tokens=TokenStore(db),
        biometrics=BiometricStore(db),
        hashing=PasswordHashing(settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism),
        keyring=keyring,
        access_tokens=AccessTokenIssuer(
            keyring, settings.jwt_issuer, settings.jwt_audience,
            timedelta(seconds=settings.access_token_ttl_seconds), clock,
        ),
        face_assertions=FaceAssertionIssuer(keyring, settings.jwt_issuer),
        password_policy=PasswordPolicy(min_length=settings.password_min_length),
        lockout=LockoutPolicy(
            max_failures=settings.login_max_failures,
            window=timedelta(seconds=settings.login_failure_window_seconds),
            delay_step_seconds=settings.login_failure_delay_step_seconds,
            delay_max_seconds=settings.login_failure_delay_max_seconds,
        ),
        face_policy=FacePolicy(
            default_threshold=settings.face_threshold_default,
            thresholds=dict(settings.face_thresholds),
            validity=timedelta(seconds=settings.face_verification_ttl_seconds),
            daily_non_match_budget=settings.face_daily_retry_budget,
            timezone=settings.face_budget_timezone,
            copy_min_score=settings.face_copy_min_score,
            copy_min_matched_keypoints=settings.face_copy_min_matched_keypoints,
        ),
        refresh_ttl=timedelta(days=settings.refresh_token_ttl_days),
        session_max=timedelta(days=settings.session_max_days),
        challenges=ChallengeStore(db),
        code_policy=CodePolicy(
            ttl=timedelta(seconds=settings.code_ttl_seconds),
            max_attempts=settings.code_max_attempts,
            resend_cooldown=timedelta(seconds=settings.code_resend_cooldown_seconds),
            max_sends=settings.code_max_sends_per_hour,
            send_window=timedelta(hours=1),
        ),
        notifier=LocalNotifier(db, timedelta(hours=settings.notification_retention_hours)),
        client_attempts=AttemptStore(db, CLIENT_ATTEMPTS),
        client_limits=client_limits(settings),
        registration_refusals=AttemptStore(db, REFUSED_REGISTRATIONS),
        registration_nik_limit=attempt_limit(settings.registration_nik_max_refusals,
                                             settings.registration_nik_window_seconds),
        recovery_cooling_off=timedelta(hours=settings.recovery_cooling_off_hours),
        refuse_replayed_selfies=settings.face_refuse_replayed_selfies,
    )


def attempt_limit(count: int, seconds: int) -> LockoutPolicy:
    """`count` attempts in a sliding window of `seconds`, answered at once (no slowing down)."""
    return LockoutPolicy(max_failures=count, window=timedelta(seconds=seconds), delay_step_seconds=0)


def client_limits(settings: IdentitySettings) -> dict[str, LockoutPolicy]:
    s = settings
    return {
        throttling.LOGIN: attempt_limit(s.client_login_max_failures, s.client_login_window_seconds),
        throttling.PASSWORD_RESET: attempt_limit(s.client_reset_max_requests, s.client_reset_window_seconds),
        throttling.RECOVERY: attempt_limit(s.client_recovery_max_attempts, s.client_recovery_window_seconds),
        throttling.REGISTRATION: attempt_limit(s.client_registration_max_refusals,
                                               s.client_registration_window_seconds),
    }


def create_api(settings: IdentitySettings | None = None, clock: Clock | None = None) -> FastAPI:
    from .adapters.face import FacePort
    from .entrypoints.api import ROUTERS, UPLOAD_PATHS
    from .entrypoints.upload_limit import MULTIPART_OVERHEAD, UploadLimit

    settings = settings or IdentitySettings()
    clock = clock or SystemClock()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Built here, not in create_api: the runtime's Kafka client needs the server's running loop.
        runtime = Runtime(settings)
        ctx = build_context(runtime, settings, clock)
        face = FacePort(settings.face_cache_dir, settings.face_threads, settings.face_workers)
        ctx.face = face

        async def on_start(app: FastAPI) -> None:
            await ensure_indexes(runtime.db)
            await ctx.keyring.load()
            await ctx.hashing.start()
            ctx.code_pepper = await load_code_pepper(runtime.db, settings.code_pepper)
            try:
                await face.load()
            except Exception as exc:  # a broken model install must not take login down with it
                face.load_error = repr(exc)
                log.error("face_engine_unavailable", error=repr(exc))
            app.state.identity = ctx
            # Identity trusts its own keys directly instead of fetching its own JWKS over HTTP.
            app.state.verifier = KeyringVerifier(ctx.keyring, settings.jwt_issuer, settings.jwt_audience)

        try:
            async with api_lifespan(runtime, on_start)(app):
                yield
        finally:
            face.close()

    app = create_app(
        title="identity",
        description="Member accounts checked against the membership and population registries, login with "
        "ES256 access tokens and rotating refresh tokens, the JWKS, and face verification against the KTP photo.",
        lifespan=lifespan,
        routers=ROUTERS,
        max_body_bytes=settings.max_json_body_bytes,
        # UploadLimit (outside) already wants a Content-Length within the limit; this bounds the rest.
        uploads={path: BodyLimitRule(settings.selfie_max_bytes + MULTIPART_OVERHEAD, "image_too_large",
                                     field="selfie") for path in UPLOAD_PATHS},
    )
    app.add_middleware(UploadLimit, paths=UPLOAD_PATHS, max_bytes=settings.selfie_max_bytes)
    # Whose X-Forwarded-For to believe when throttling by client address.
    app.state.trusted_proxies = parse_networks(settings.trusted_proxies)
    return app


def create_worker(settings: IdentitySettings | None = None) -> FastAPI:
    """The worker app. The shared worker_app is built inside the lifespan (its Kafka clients need
    the running loop); this shell serves /healthz, /readyz and /metrics with its readiness checks."""
    settings = settings or IdentitySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime(settings)
        member_registered, person_recorded = registry_handlers(RegistryStore(runtime.db))
        registry = (
            runtime.consumer("registry", topics=[CORE_MEMBERSHIP, POPULATION_RECORDS])
            .on(MemberRegistered, member_registered)
            .on(PersonRecorded, person_recorded)
        )

        async def on_start() -> None:
            await ensure_indexes(runtime.db)

        inner = worker_app(runtime, [registry], relay=True, on_start=on_start)
        async with inner.router.lifespan_context(inner):
            app.state.runtime = runtime
            app.state.readiness = inner.state.readiness
            yield

    return create_app(
        title="identity worker",
        description="Projects the membership and population feeds into identity's registry; relays its outbox.",
        lifespan=lifespan,
        routers=[],
    )
