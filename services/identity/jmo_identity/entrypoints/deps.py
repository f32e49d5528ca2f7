"""What every identity route depends on: the handlers' context and the caller's address."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from jmo_shared.http import PROBLEM_RESPONSE

from ..domain.client_address import client_address
from ..service_layer.auth import TokenPair
from ..service_layer.context import IdentityContext
from .schemas import TokenResponse

PROBLEM = PROBLEM_RESPONSE


def _context(request: Request) -> IdentityContext:
    return request.app.state.identity


def _client(request: Request) -> str:
    peer = request.client.host if request.client else None
    return client_address(
        peer, request.headers.getlist("x-forwarded-for"), getattr(request.app.state, "trusted_proxies", ())
    )


Identity = Annotated[IdentityContext, Depends(_context)]
ClientAddress = Annotated[str, Depends(_client)]


def tokens(pair: TokenPair) -> TokenResponse:
    return TokenResponse(access_token=pair.access_token, expires_in=pair.expires_in, refresh_token=pair.refresh_token)
