"""Outbound HTTP clients that share one TLS context per process.

httpx builds a fresh TLS context for every client it creates, loading the whole CA bundle
(measured here: about 40 ms of CPU per `httpx.AsyncClient()`, against 0.1 ms with a shared
context), even for a client that only ever speaks plain http. The JWKS refresh, readiness
loops, the benchmark's and tests' member journeys create many short-lived clients; built
through here they reuse the one context, which verifies exactly as httpx's default does.
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The context httpx builds by default (its CA bundle; SSL_CERT_FILE / SSL_CERT_DIR honoured), built once."""
    return httpx.create_ssl_context()


def async_client(**options: Any) -> httpx.AsyncClient:
    """`httpx.AsyncClient(**options)` on the shared TLS context (unless `verify` is given)."""
    options.setdefault("verify", tls_context())
    return httpx.AsyncClient(**options)


def client(**options: Any) -> httpx.Client:
    """`httpx.Client(**options)` on the shared TLS context (unless `verify` is given)."""
    options.setdefault("verify", tls_context())
    return httpx.Client(**options)
