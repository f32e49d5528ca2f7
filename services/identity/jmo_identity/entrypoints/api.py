"""Identity's HTTP API: accounts, login and tokens, the JWKS, face verification.

Routers only parse, call one handler and shape the answer. The member's own
account (contact confirmation, password change) and account recovery are in
self_service.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, FastAPI, File, Form, Response, UploadFile

from jmo_shared.clock import Clock
from jmo_shared.http import BodyLimitRule, CurrentMember, create_app
from jmo_shared.logging import get_logger
from jmo_shared.runtime import api_lifespan, serve

from ..adapters.face import FacePort
from ..adapters.signing import KeyringVerifier
from ..bootstrap import build
from ..domain.client_address import parse_networks
from ..service_layer import accounts as account_handlers
from ..service_layer import auth as auth_handlers
from ..service_layer import biometrics as biometric_handlers
from ..service_layer import passwords as password_handlers
from ..settings import IdentitySettings
from . import self_service
from .deps import PROBLEM as _PROBLEM
from .deps import ClientAddress, Identity
from .deps import tokens as _tokens
from .schemas import (
    Jwks,
    LoginRequest,
    PasswordResetAccepted,
    PasswordResetConfirm,
    PasswordResetRequest,
    Purpose,
    RefreshRequest,
    RegisterAccountRequest,
    RegisterAccountResponse,
    TokenResponse,
    VerificationResponse,
)
from .upload_limit import MULTIPART_OVERHEAD, UploadLimit

VERIFICATIONS_PATH = "/v1/biometrics/verifications"
# Routes that take a photo: their size is checked from Content-Length before anything is read.
UPLOAD_PATHS = frozenset({VERIFICATIONS_PATH, self_service.RECOVERY_PATH})

accounts = APIRouter(prefix="/v1/accounts", tags=["accounts"])

log = get_logger(__name__)


@accounts.post(
    "",
    status_code=201,
    response_model=RegisterAccountResponse,
    responses={
        409: {"description": "account_exists / email_taken", **_PROBLEM},
        422: {"description": "validation_failed / not_in_registry / registry_mismatch", **_PROBLEM},
        429: {
            "description": "too_many_attempts: too many refused registrations from this client address "
            "or for this NIK (retry_after)",
            **_PROBLEM,
        },
    },
)
async def register_account(
    body: RegisterAccountRequest, ctx: Identity, client: ClientAddress
) -> RegisterAccountResponse:
    """Open an account; NIK, KPJ, name and birth date must match the membership and population registries."""
    member_id = await account_handlers.register_account(ctx, **body.model_dump(), client=client)
    return RegisterAccountResponse(member_id=member_id)


auth = APIRouter(prefix="/v1/auth", tags=["auth"])


@auth.post(
    "/login",
    response_model=TokenResponse,
    responses={
        401: {"description": "invalid_credentials", **_PROBLEM},
        423: {"description": "account_locked (temporary; retry_after seconds; unlock: password_reset)", **_PROBLEM},
        429: {"description": "too_many_attempts from this client address (retry_after)", **_PROBLEM},
    },
)
async def login(body: LoginRequest, ctx: Identity, client: ClientAddress) -> TokenResponse:
    return _tokens(await auth_handlers.login(ctx, body.email, body.password, client))


@auth.post(
    "/refresh",
    response_model=TokenResponse,
    responses={
        401: {"description": "invalid_refresh_token / refresh_token_reused / ..._revoked / ..._expired", **_PROBLEM}
    },
)
async def refresh_tokens(body: RefreshRequest, ctx: Identity) -> TokenResponse:
    """Spend the refresh token for a new pair. Presenting a spent token ends the whole login."""
    return _tokens(await auth_handlers.refresh(ctx, body.refresh_token))


@auth.post("/logout", status_code=204, response_class=Response)
async def logout(body: RefreshRequest, ctx: Identity) -> Response:
    await auth_handlers.logout(ctx, body.refresh_token)
    return Response(status_code=204)


@auth.post(
    "/password-reset",
    status_code=202,
    response_model=PasswordResetAccepted,
    responses={429: {"description": "too_many_attempts from this client address", **_PROBLEM}},
)
async def request_password_reset(
    body: PasswordResetRequest, ctx: Identity, client: ClientAddress
) -> PasswordResetAccepted:
    """Send a reset code to the account's confirmed e-mail/phone. The same answer whether or not
    an account has this e-mail. Also the way to lift a login lock at once."""
    expires_in = await password_handlers.request_reset(ctx, body.email, client)
    return PasswordResetAccepted(
        detail="if an account has this e-mail and a confirmed contact, a code was sent there",
        expires_in=expires_in,
    )


@auth.post(
    "/password-reset/confirm",
    status_code=204,
    response_class=Response,
    responses={
        422: {"description": "code_invalid / validation_failed (new_password)", **_PROBLEM},
        429: {"description": "too_many_attempts from this client address", **_PROBLEM},
    },
)
async def confirm_password_reset(body: PasswordResetConfirm, ctx: Identity, client: ClientAddress) -> Response:
    """Set a new password with the code; every session ends and the login lock is lifted."""
    await password_handlers.confirm_reset(ctx, body.email, body.code, body.new_password, client)
    return Response(status_code=204)


keys = APIRouter(tags=["keys"])


@keys.get("/.well-known/jwks.json", response_model=Jwks)
async def get_jwks(ctx: Identity, response: Response) -> Jwks:
    """The public keys access tokens are signed with (current and previous)."""
    response.headers["Cache-Control"] = "public, max-age=300"
    return Jwks(**await ctx.keyring.jwks())


biometrics = APIRouter(prefix="/v1/biometrics", tags=["biometrics"])


@biometrics.post(
    "/verifications",
    status_code=201,
    response_model=VerificationResponse,
    responses={
        409: {"description": "no_reference_photo / needs_video_call / reference_photo_unusable", **_PROBLEM},
        411: {"description": "length_required", **_PROBLEM},
        422: {"description": "a bad capture (no_face, not_an_image, image_too_large, ...) with a hint", **_PROBLEM},
    },
)
async def verify_face(
    member: CurrentMember,
    ctx: Identity,
    selfie: Annotated[UploadFile, File(description="JPEG or PNG selfie, at most 10 MB")],
    purpose: Annotated[Purpose, Form()],
    client: ClientAddress,
) -> VerificationResponse:
    """Compare a selfie with the member's KTP photo. A match emits FaceVerified (valid 10 minutes)."""
    image = await selfie.read()
    answer = await biometric_handlers.verify_face(
        ctx, member_id=member.member_id, nik=member.nik or "", purpose=purpose, selfie=image, client=client
    )
    v = answer.verification
    return VerificationResponse(
        verification_id=answer.verification_id,
        matched=v.matched,
        score=v.score,
        threshold=v.threshold,
        quality=v.quality,
        expires_at=v.expires_at,
        model_version=v.model_version,
    )


# self_service's fixed paths (/v1/accounts/me, /v1/accounts/recovery) before any path parameter.
ROUTERS = [*self_service.ROUTERS, accounts, auth, keys, biometrics]


def create_api(settings: IdentitySettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or IdentitySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Built here, not in create_api: the runtime's Kafka client needs the server's running loop.
        service = build(settings, clock)
        ctx = service.ctx
        face = FacePort(settings.face_cache_dir, settings.face_threads, settings.face_workers)
        ctx.face = face

        async def on_start(app: FastAPI) -> None:
            await service.prepare_api()
            try:
                await face.load()
            except Exception as exc:  # a broken model install must not take login down with it
                face.load_error = repr(exc)
                log.error("face_engine_unavailable", error=repr(exc))
            app.state.identity = ctx
            # Identity trusts its own keys directly instead of fetching its own JWKS over HTTP.
            app.state.verifier = KeyringVerifier(ctx.keyring, settings.jwt_issuer, settings.jwt_audience)

        try:
            async with api_lifespan(service.runtime, on_start)(app):
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
        uploads={
            path: BodyLimitRule(settings.selfie_max_bytes + MULTIPART_OVERHEAD, "image_too_large", field="selfie")
            for path in UPLOAD_PATHS
        },
    )
    app.add_middleware(UploadLimit, paths=UPLOAD_PATHS, max_bytes=settings.selfie_max_bytes)
    # Whose X-Forwarded-For to believe when throttling by client address.
    app.state.trusted_proxies = parse_networks(settings.trusted_proxies)
    return app


def main() -> None:
    settings = IdentitySettings()
    serve(create_api(settings), settings)


if __name__ == "__main__":
    main()
