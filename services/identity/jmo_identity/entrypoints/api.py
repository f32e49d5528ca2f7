"""Identity's HTTP API: accounts, login and tokens, the JWKS, face verification.

Routers only parse, call one handler and shape the answer. The member's own
account (contact confirmation, password change) and account recovery are in
self_service.py.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Response, UploadFile

from jmo_shared.http import CurrentMember

from ..service_layer import accounts as account_handlers
from ..service_layer import auth as auth_handlers
from ..service_layer import biometrics as biometric_handlers
from ..service_layer import passwords as password_handlers
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

VERIFICATIONS_PATH = "/v1/biometrics/verifications"
# Routes that take a photo: their size is checked from Content-Length before anything is read.
UPLOAD_PATHS = frozenset({VERIFICATIONS_PATH, self_service.RECOVERY_PATH})

accounts = APIRouter(prefix="/v1/accounts", tags=["accounts"])


@accounts.post(
    "", status_code=201, response_model=RegisterAccountResponse,
    responses={409: {"description": "account_exists / email_taken", **_PROBLEM},
               422: {"description": "validation_failed / not_in_registry / registry_mismatch", **_PROBLEM},
               429: {"description": "too_many_attempts: too many refused registrations from this client address "
                                    "or for this NIK (retry_after)", **_PROBLEM}},
)
async def register_account(body: RegisterAccountRequest, ctx: Identity, client: ClientAddress
                           ) -> RegisterAccountResponse:
    """Open an account; NIK, KPJ, name and birth date must match the membership and population registries."""
    member_id = await account_handlers.register_account(ctx, **body.model_dump(), client=client)
    return RegisterAccountResponse(member_id=member_id)


auth = APIRouter(prefix="/v1/auth", tags=["auth"])


@auth.post("/login", response_model=TokenResponse,
           responses={401: {"description": "invalid_credentials", **_PROBLEM},
                      423: {"description": "account_locked (temporary; retry_after seconds; unlock: password_reset)",
                            **_PROBLEM},
                      429: {"description": "too_many_attempts from this client address (retry_after)", **_PROBLEM}})
async def login(body: LoginRequest, ctx: Identity, client: ClientAddress) -> TokenResponse:
    return _tokens(await auth_handlers.login(ctx, body.email, body.password, client))


@auth.post("/refresh", response_model=TokenResponse,
           responses={401: {"description": "invalid_refresh_token / refresh_token_reused / ..._revoked / ..._expired",
                            **_PROBLEM}})
async def refresh(body: RefreshRequest, ctx: Identity) -> TokenResponse:
    """Spend the refresh token for a new pair. Presenting a spent token ends the whole login."""
    return _tokens(await auth_handlers.refresh(ctx, body.refresh_token))


@auth.post("/logout", status_code=204, response_class=Response)
async def logout(body: RefreshRequest, ctx: Identity) -> Response:
    await auth_handlers.logout(ctx, body.refresh_token)
    return Response(status_code=204)


@auth.post("/password-reset", status_code=202, response_model=PasswordResetAccepted,
           responses={429: {"description": "too_many_attempts from this client address", **_PROBLEM}})
async def request_password_reset(body: PasswordResetRequest, ctx: Identity, client: ClientAddress
                                 ) -> PasswordResetAccepted:
    """Send a reset code to the account's confirmed e-mail/phone. The same answer whether or not
    an account has this e-mail. Also the way to lift a login lock at once."""
    expires_in = await password_handlers.request_reset(ctx, body.email, client)
    return PasswordResetAccepted(
        detail="if an account has this e-mail and a confirmed contact, a code was sent there", expires_in=expires_in,
    )


@auth.post("/password-reset/confirm", status_code=204, response_class=Response,
           responses={422: {"description": "code_invalid / validation_failed (new_password)", **_PROBLEM},
                      429: {"description": "too_many_attempts from this client address", **_PROBLEM}})
async def confirm_password_reset(body: PasswordResetConfirm, ctx: Identity, client: ClientAddress) -> Response:
    """Set a new password with the code; every session ends and the login lock is lifted."""
    await password_handlers.confirm_reset(ctx, body.email, body.code, body.new_password, client)
    return Response(status_code=204)


keys = APIRouter(tags=["keys"])


@keys.get("/.well-known/jwks.json", response_model=Jwks)
async def jwks(ctx: Identity, response: Response) -> Jwks:
    """The public keys access tokens are signed with (current and previous)."""
    response.headers["Cache-Control"] = "public, max-age=300"
    return Jwks(**await ctx.keyring.jwks())


biometrics = APIRouter(prefix="/v1/biometrics", tags=["biometrics"])


@biometrics.post(
    "/verifications", status_code=201, response_model=VerificationResponse,
    responses={409: {"description": "no_reference_photo / needs_video_call / reference_photo_unusable", **_PROBLEM},
               411: {"description": "length_required", **_PROBLEM},
               422: {"description": "a bad capture (no_face, not_an_image, image_too_large, ...) with a hint",
                     **_PROBLEM}},
)
async def verify_face(
    member: CurrentMember,
    ctx: Identity,
    selfie: Annotated[UploadFile, File(description="JPEG or PNG selfie, at most 10 MB")],
    purpose: Annotated[Purpose, Form()],
) -> VerificationResponse:
    """Compare a selfie with the member's KTP photo. A match emits FaceVerified (valid 10 minutes)."""
    image = await selfie.read()
    answer = await biometric_handlers.verify_face(
        ctx, member_id=member.member_id, nik=member.nik or "", purpose=purpose, selfie=image
    )
    v = answer.verification
    return VerificationResponse(
        verification_id=answer.verification_id, matched=v.matched, score=v.score, threshold=v.threshold,
        quality=v.quality, expires_at=v.expires_at, model_version=v.model_version,
    )


# self_service's fixed paths (/v1/accounts/me, /v1/accounts/recovery) before any path parameter.
ROUTERS = [*self_service.ROUTERS, accounts, auth, keys, biometrics]


def main() -> None:
    from jmo_shared.runtime import serve

    from ..bootstrap import create_api
    from ..settings import IdentitySettings

    settings = IdentitySettings()
    serve(create_api(settings), settings)


if __name__ == "__main__":
    main()
