"""JwksVerifier: keys fetched from JWKS_URL plus static JWKS_JSON keys, kept across refreshes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from jmo_shared.auth import JwksVerifier
from jmo_shared.errors import DomainError, ErrorKind
from jmo_shared.testing import TokenIssuer


class JwksServer:
    """identity's /.well-known/jwks.json, served from a real socket; `keys` can change (rotation)."""

    def __init__(self) -> None:
        self.jwks: dict = {"keys": []}
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server.requests += 1
                body = json.dumps(server.jwks).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/.well-known/jwks.json"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def serve(self, *issuers: TokenIssuer) -> None:
        self.jwks = {"keys": [k for i in issuers for k in json.loads(i.jwks())["keys"]]}

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    server = JwksServer()
    yield server
    server.close()


async def test_static_keys_are_added_to_the_fetched_ones_and_survive_a_refresh(jwks_server: JwksServer) -> None:
    identity, staff, rotated = TokenIssuer(), TokenIssuer(), TokenIssuer()
    jwks_server.serve(identity)
    verifier = JwksVerifier(jwks_server.url, identity.issuer, identity.audience, static_jwks=staff.jwks())

    member = await verifier.verify(identity.token("m-1", "3171011506900001"))
    officer = await verifier.verify(staff.token("officer-7", roles=["officer"], signer="member"))
    assert member.member_id == "m-1" and officer.roles == frozenset({"officer"})
    assert jwks_server.requests == 1

    # identity rotates: the old key leaves its JWKS, a new one comes; an unknown kid refreshes at once.
    jwks_server.serve(rotated)
    assert (await verifier.verify(rotated.token("m-2", "3171011506900002"))).member_id == "m-2"
    assert jwks_server.requests == 2
    # The staff key was not in any fetched document and is still trusted after the refresh.
    assert (
        await verifier.verify(staff.token("officer-7", roles=["officer"], signer="member"))
    ).member_id == "officer-7"
    with pytest.raises(DomainError) as gone:
        await verifier.verify(identity.token("m-1", "3171011506900001"))
    assert (gone.value.kind, gone.value.code) == (ErrorKind.UNAUTHENTICATED, "invalid_token")


async def test_a_static_key_wins_over_a_fetched_key_with_the_same_kid(jwks_server: JwksServer) -> None:
    trusted, impostor = TokenIssuer(), TokenIssuer()
    impostor.kid = trusted.kid  # the fetched document names the static key's kid with another key
    jwks_server.serve(impostor)
    verifier = JwksVerifier(jwks_server.url, trusted.issuer, trusted.audience, static_jwks=trusted.jwks())
    assert (await verifier.verify(trusted.token("m-1"))).member_id == "m-1"
    with pytest.raises(DomainError) as refused:
        await verifier.verify(impostor.token("m-1"))
    assert refused.value.kind is ErrorKind.UNAUTHENTICATED


async def test_static_keys_still_verify_while_the_jwks_url_is_down() -> None:
    staff = TokenIssuer()
    verifier = JwksVerifier(
        "http://127.0.0.1:1/.well-known/jwks.json", staff.issuer, staff.audience, static_jwks=staff.jwks()
    )
    for _ in range(3):
        assert (
            await verifier.verify(staff.token("officer-1", roles=["ops"], signer="member"))
        ).member_id == "officer-1"
    with pytest.raises(DomainError) as unavailable:
        await verifier.verify(TokenIssuer().token("m-1"))
    assert (unavailable.value.kind, unavailable.value.code) == (ErrorKind.UNAVAILABLE, "auth_unavailable")


async def test_forged_kids_do_not_hammer_the_jwks_endpoint(jwks_server: JwksServer) -> None:
    identity = TokenIssuer()
    jwks_server.serve(identity)
    verifier = JwksVerifier(jwks_server.url, identity.issuer, identity.audience)
    await verifier.verify(identity.token("m-1"))
    for _ in range(5):
        with pytest.raises(DomainError):
            await verifier.verify(TokenIssuer().token("m-1"))
    assert jwks_server.requests == 2  # the first fetch, then one forced refresh within the interval
