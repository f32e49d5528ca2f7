"""The one place the identity service is put together from its settings. Nothing runs at import.

`build(settings, clock)` gives the IdentityService: the runtime (database, Kafka), the context the
handlers work with, and the registry consumers. The shared Runtime opens Kafka clients inside a
running event loop, so the entrypoints (entrypoints/api.py, worker.py) call build() in their lifespans.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from jmo_shared.clock import Clock, SystemClock
from jmo_shared.consumer import IdempotentConsumer
from jmo_shared.events import MemberRegistered, PersonRecorded
from jmo_shared.logging import get_logger
from jmo_shared.runtime import Runtime
from jmo_shared.topics import CORE_MEMBERSHIP, POPULATION_RECORDS

from .adapters.account_store import AccountStore
from .adapters.attempt_store import CLIENT_ATTEMPTS, LOGIN_FAILURES, REFUSED_REGISTRATIONS, AttemptStore
from .adapters.biometric_store import BiometricStore
from .adapters.challenge_store import ChallengeStore, load_code_pepper
from .adapters.indexes import ensure_indexes
from .adapters.notifier import LocalNotifier
from .adapters.password_hashing import PasswordHashing
from .adapters.registry_store import RegistryStore
from .adapters.signing import AccessTokenIssuer, FaceAssertionIssuer, Keyring, KeyStore
from .adapters.token_store import TokenStore
from .domain.biometrics import FacePolicy
from .domain.codes import CodePolicy
from .domain.lockout import LockoutPolicy
from .domain.passwords import PasswordPolicy
from .service_layer import throttling
from .service_layer.context import IdentityContext
from .service_layer.registry import registry_handlers
from .settings import IdentitySettings

log = get_logger(__name__)


@dataclass
class IdentityService:
    settings: IdentitySettings
    runtime: Runtime
    clock: Clock
    ctx: IdentityContext

    async def ensure_indexes(self) -> None:
        await ensure_indexes(self.runtime.db)

    async def prepare_api(self) -> None:
        """What the API needs before its first request: indexes, signing keys, hashing, the code pepper."""
        await self.ensure_indexes()
        await self.ctx.keyring.load()
        await self.ctx.hashing.start()
        self.ctx.code_pepper = await load_code_pepper(self.runtime.db, self.settings.code_pepper)

    def consumers(self) -> list[IdempotentConsumer]:
        member_registered, person_recorded = registry_handlers(self.ctx.registry)
        return [
            self.runtime.consumer("registry", topics=[CORE_MEMBERSHIP, POPULATION_RECORDS])
            .on(MemberRegistered, member_registered)
            .on(PersonRecorded, person_recorded)
        ]


def build(settings: IdentitySettings | None = None, clock: Clock | None = None) -> IdentityService:
    settings = settings or IdentitySettings()
    clock = clock or SystemClock()
    runtime = Runtime(settings)
    return IdentityService(settings, runtime, clock, build_context(runtime, settings, clock))


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
            keyring,
            settings.jwt_issuer,
            settings.jwt_audience,
            timedelta(seconds=settings.access_token_ttl_seconds),
            clock,
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
        registration_nik_limit=attempt_limit(
            settings.registration_nik_max_refusals, settings.registration_nik_window_seconds
        ),
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
        throttling.REGISTRATION: attempt_limit(
            s.client_registration_max_refusals, s.client_registration_window_seconds
        ),
    }
