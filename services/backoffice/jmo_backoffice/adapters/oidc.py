"""The fund's identity provider (OpenID Connect): discovery and the authorization code exchange.

Its access token is the officer's staff token: the services verify it themselves with
the provider's keys (STAFF_JWKS_URL), so the back office needs nothing else from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from ..domain.pkce import PendingSignIn


class OidcError(Exception):
    pass


@dataclass(frozen=True)
class OidcEndpoints:
    authorization: str
    token: str
    end_session: str | None = None


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    client_id: str
    redirect_uri: str
    scopes: str = "openid profile"
    client_secret: str | None = None
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    end_session_endpoint: str | None = None


class OidcClient:
    def __init__(self, config: OidcConfig, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self._transport = transport
        self._endpoints: OidcEndpoints | None = None
        if config.authorization_endpoint and config.token_endpoint:
            self._endpoints = OidcEndpoints(
                config.authorization_endpoint, config.token_endpoint, config.end_session_endpoint
            )

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=10, transport=self._transport)

    async def endpoints(self) -> OidcEndpoints:
        if self._endpoints is None:
            url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
            try:
                async with self._client() as client:
                    resp = await client.get(url)
                    resp.raise_for_status()
                    doc = resp.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise OidcError(f"discovery failed: {exc}") from exc
            if doc.get("issuer", "").rstrip("/") != self.config.issuer.rstrip("/"):
                raise OidcError("the discovery document is for another issuer")
            self._endpoints = OidcEndpoints(
                doc["authorization_endpoint"], doc["token_endpoint"], doc.get("end_session_endpoint")
            )
        return self._endpoints

    async def authorization_url(self, pending: PendingSignIn) -> str:
        endpoints = await self.endpoints()
        return pending.authorization_url(
            endpoints.authorization, self.config.client_id, self.config.redirect_uri, self.config.scopes
        )

    async def _token_call(self, form: dict[str, str]) -> dict[str, Any]:
        endpoints = await self.endpoints()
        auth = (self.config.client_id, self.config.client_secret) if self.config.client_secret else None
        try:
            async with self._client() as client:
                resp = await client.post(endpoints.token, data=form, auth=auth)
        except httpx.HTTPError as exc:
            raise OidcError(f"token endpoint unreachable: {exc}") from exc
        if resp.status_code != 200:
            raise OidcError(f"token endpoint answered {resp.status_code}")
        tokens = resp.json()
        if not tokens.get("access_token"):
            raise OidcError("no access token in the answer")
        return tokens

    async def exchange(self, pending: PendingSignIn, code: str) -> dict[str, Any]:
        return await self._token_call(pending.token_request(code, self.config.client_id, self.config.redirect_uri))

    async def refresh(self, refresh_token: str) -> dict[str, Any]:
        return await self._token_call(
            {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": self.config.client_id}
        )
