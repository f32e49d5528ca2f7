"""OpenID Connect authorization code flow with PKCE (RFC 7636): the parts that are pure computation.

The back office is a confidential client at the fund's identity provider, and uses PKCE
anyway (OAuth 2.1 asks it of every client): a stolen authorization code is useless
without the verifier, which never leaves this server. `state` ties the callback to the
browser that started the sign-in; `nonce` ties the ID token to it.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

VERIFIER_BYTES = 48  # 64 characters of base64url: inside RFC 7636's 43..128


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def new_verifier() -> str:
    return _b64url(secrets.token_bytes(VERIFIER_BYTES))


def s256_challenge(verifier: str) -> str:
    """BASE64URL(SHA256(ASCII(code_verifier))), RFC 7636 section 4.2."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


@dataclass(frozen=True)
class PendingSignIn:
    """What the server keeps between sending the browser to the provider and its return."""

    state: str
    nonce: str
    verifier: str
    next_path: str = "/"

    @classmethod
    def start(cls, next_path: str = "/") -> PendingSignIn:
        return cls(
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            verifier=new_verifier(),
            next_path=next_path,
        )

    def authorization_url(self, endpoint: str, client_id: str, redirect_uri: str, scopes: str) -> str:
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": scopes,
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": s256_challenge(self.verifier),
            "code_challenge_method": "S256",
        }
        separator = "&" if "?" in endpoint else "?"
        return f"{endpoint}{separator}{urlencode(params)}"

    def token_request(self, code: str, client_id: str, redirect_uri: str) -> dict[str, str]:
        """The form body of the authorization code exchange at the token endpoint."""
        return {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "code_verifier": self.verifier,
        }


def safe_next(path: str | None) -> str:
    """A local path to return to after sign-in; anything else (another host, `//evil`) is `/`."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path
