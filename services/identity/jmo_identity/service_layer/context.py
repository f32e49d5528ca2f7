"""What the handlers work with, built once per process by bootstrap."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from jmo_shared.clock import Clock
from jmo_shared.mongo import Database

from ..adapters.account_store import AccountStore
from ..adapters.attempt_store import AttemptStore
from ..adapters.biometric_store import BiometricStore
from ..adapters.challenge_store import ChallengeStore
from ..adapters.password_hashing import PasswordHashing
from ..adapters.registry_store import RegistryStore
from ..adapters.signing import AccessTokenIssuer, FaceAssertionIssuer, Keyring
from ..adapters.token_store import TokenStore
from ..domain.biometrics import FacePolicy
from ..domain.codes import CodePolicy
from ..domain.lockout import LockoutPolicy
from ..domain.passwords import PasswordPolicy
from .ports import Notifier

if TYPE_CHECKING:  # the worker process never loads the face engine
    from ..adapters.face import FacePort


@dataclass
class IdentityContext:
    db: Database
    clock: Clock
    registry: RegistryStore
    accounts: AccountStore
    login_failures: AttemptStore
    tokens: TokenStore
    biometrics: BiometricStore
    hashing: PasswordHashing
    keyring: Keyring
    access_tokens: AccessTokenIssuer
    face_assertions: FaceAssertionIssuer
    password_policy: PasswordPolicy
    lockout: LockoutPolicy
    face_policy: FacePolicy
    refresh_ttl: timedelta
    session_max: timedelta
    challenges: ChallengeStore
    code_policy: CodePolicy
    notifier: Notifier
    # Per scope ("login", "password_reset", "account_recovery", "registration"): attempts from one client address.
    client_attempts: AttemptStore
    client_limits: dict[str, LockoutPolicy]
    # Refused registrations per NIK, whatever address they came from.
    registration_refusals: AttemptStore
    registration_nik_limit: LockoutPolicy
    recovery_cooling_off: timedelta
    refuse_replayed_selfies: bool = True
    code_pepper: bytes = b""  # set at start-up (settings or the database)
    face: FacePort | None = None  # API process only
