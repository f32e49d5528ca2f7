"""Settings of the back office (env prefix BACKOFFICE_, e.g. BACKOFFICE_CLAIMS_URL=http://claims:8004).

It keeps no data of its own beyond sessions (MongoDB, `BACKOFFICE_DB_NAME`) and, locally,
the staff accounts file: everything an officer sees or does goes through the services'
HTTP APIs with the officer's staff token.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from jmo_shared.settings import ServiceSettings


class BackofficeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BACKOFFICE_", extra="ignore")

    service_name: str = "backoffice"
    port: int = 8080
    worker_port: int = 8080
    db_name: str = "backoffice"

    # Where the services are (their APIs), and where their Prometheus metrics are (the dashboard).
    claims_url: str = "http://127.0.0.1:8004"
    helpdesk_url: str = "http://127.0.0.1:8006"
    payout_url: str = "http://127.0.0.1:8005"
    # The risk service's officer API (clearing a flag); unset, flags are shown but cleared there.
    risk_url: str | None = "http://127.0.0.1:8008"
    # claims_by_status and claims_sla_breaches_total are the claims worker's.
    claims_metrics_urls: list[str] = Field(default_factory=lambda: ["http://127.0.0.1:8104/metrics"])
    # domain_events_total{type=PayoutInitiated,detail=<rail>}: the payout processes that publish it.
    payout_metrics_urls: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:8105/metrics", "http://127.0.0.1:8005/metrics"]
    )
    upstream_timeout_seconds: float = 10.0

    # How officers sign in: `local` (the built-in form; this process is then the staff token issuer,
    # signing with the staff key) or `oidc` (authorization code with PKCE at the fund's identity provider).
    signin: Literal["local", "oidc"] = "local"
    # local: the staff accounts (user -> argon2 hash and roles, jmo_local.staff seeds them) and the
    # staff signing key (PEM, EC P-256) whose public half the services trust (STAFF_JWKS_JSON).
    staff_accounts_file: str | None = None
    staff_signing_key_file: str | None = None
    staff_token_ttl_seconds: int = 900
    # Failed sign-ins per user name before it is locked for `signin_lock_seconds`.
    signin_max_failures: int = 5
    signin_lock_seconds: int = 900

    # oidc: the fund's identity provider. Endpoints come from the issuer's discovery document
    # unless set here.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_redirect_uri: str | None = None
    oidc_scopes: str = "openid profile"
    oidc_authorization_endpoint: str | None = None
    oidc_token_endpoint: str | None = None
    oidc_end_session_endpoint: str | None = None

    # Sessions: server-side (MongoDB), the cookie holds only a random id. `cookie_secure` off only
    # for plain-http local runs.
    cookie_secure: bool = True
    cookie_samesite: Literal["lax", "strict"] = "lax"
    session_idle_seconds: int = 1800
    session_max_seconds: int = 8 * 3600

    default_language: Literal["id", "en"] = "id"
    queue_page_size: int = 25
