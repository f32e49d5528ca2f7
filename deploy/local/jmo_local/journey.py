"""A member's journey through the public HTTP API, as the mobile gateway drives it.

Used by the end-to-end tests and the benchmark: only the contract's paths,
no knowledge of any service's internals.
"""

from __future__ import annotations

import asyncio
import time
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from jmo_shared import httpclient

from .demo import DemoMember

PNG_1PX = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)
PDF_MINIMAL = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


class JourneyError(AssertionError):
    pass


class AccountExists(JourneyError):
    """Registration answered 409 account_exists: this member already has an app account."""


def fresh_capture(photo: bytes) -> bytes:
    """The same picture as a new capture: unique bytes, identical pixels.

    A phone camera never produces the same file twice, and identity refuses a
    selfie whose exact bytes the member already sent (`selfie_replayed`). A JPEG
    gets a comment segment after its start marker, a PNG a text chunk after its
    header; anything else is sent as it is.
    """
    tag = f"capture {uuid.uuid4().hex}".encode()
    if photo[:2] == b"\xff\xd8":
        return photo[:2] + b"\xff\xfe" + (len(tag) + 2).to_bytes(2, "big") + tag + photo[2:]
    if photo[:8] == b"\x89PNG\r\n\x1a\n":
        body = b"tEXt" + b"Comment\x00" + tag
        chunk = len(body[4:]).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")
        header_end = 8 + 8 + int.from_bytes(photo[8:12], "big") + 4  # signature + IHDR chunk
        return photo[:header_end] + chunk + photo[header_end:]
    return photo


def _check(resp: httpx.Response, *expected: int) -> dict[str, Any]:
    if resp.status_code not in expected:
        raise JourneyError(f"{resp.request.method} {resp.request.url.path} -> {resp.status_code}: {resp.text[:600]}")
    return resp.json() if resp.content else {}


@dataclass
class Urls:
    identity: str
    profile: str
    balance: str
    claims: str
    payout: str
    banksim: str
    notify: str = ""


@dataclass
class Journey:
    urls: Urls
    member: DemoMember
    password: str = field(default_factory=lambda: f"Jht-{uuid.uuid4().hex[:12]}!")
    email: str = ""
    phone: str = ""
    token: str = ""
    member_id: str = ""
    client: httpx.AsyncClient = field(default_factory=lambda: httpclient.async_client(timeout=30))
    # Multiplies every wait for an event to arrive: fault tests stop workers and the broker for a while.
    patience: float = 1.0

    def __post_init__(self) -> None:
        self.email = self.email or f"{self.member.nik}@example.id"
        self.phone = self.phone or f"+628{self.member.nik[-9:]}"

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def close(self) -> None:
        await self.client.aclose()

    async def open_bank_account(self) -> None:
        m = self.member
        _check(
            await self.client.post(
                f"{self.urls.banksim}/sim/accounts",
                json={"bank_code": m.bank_code, "account_number": m.account_number, "holder_name": m.full_name},
            ),
            200,
            201,
        )

    async def register(self, timeout: float = 60) -> str:
        """Register once the registries have projected the member (feeds are asynchronous)."""
        m = self.member
        body = {
            "nik": m.nik,
            "kpj": m.cards[0].kpj,
            "full_name": m.full_name,
            "birth_date": m.birth_date.isoformat(),
            "email": self.email,
            "phone": self.phone,
            "password": self.password,
        }
        deadline = time.monotonic() + timeout * self.patience
        while True:
            resp = await self.client.post(f"{self.urls.identity}/v1/accounts", json=body)
            if resp.status_code == 201:
                self.member_id = resp.json()["member_id"]
                return self.member_id
            if (
                resp.status_code == 422
                and time.monotonic() < deadline
                and resp.json().get("code") in ("not_in_registry", "registry_mismatch")
            ):
                await asyncio.sleep(0.3)
                continue
            if resp.status_code == 409 and resp.json().get("code") == "account_exists":
                raise AccountExists(f"{m.nik} already has an account")
            _check(resp, 201)

    async def login(self) -> str:
        data = _check(
            await self.client.post(
                f"{self.urls.identity}/v1/auth/login", json={"email": self.email, "password": self.password}
            ),
            200,
        )
        self.token = data["access_token"]
        return self.token

    async def verify_face(self, purpose: str, selfie: Path | None = None, timeout: float = 60) -> dict[str, Any]:
        photo = selfie or self.member.selfie
        assert photo is not None, "the member has no selfie"
        capture = fresh_capture(photo.read_bytes())
        mime = "image/png" if photo.suffix.lower() == ".png" else "image/jpeg"
        deadline = time.monotonic() + timeout * self.patience
        while True:
            resp = await self.client.post(
                f"{self.urls.identity}/v1/biometrics/verifications",
                headers=self.auth,
                data={"purpose": purpose},
                files={"selfie": (photo.name, capture, mime)},
            )
            # The KTP photo may still be on its way from the population registry feed.
            if (
                resp.status_code == 409
                and resp.json().get("code") == "no_reference_photo"
                and time.monotonic() < deadline
            ):
                await asyncio.sleep(0.3)
                continue
            return _check(resp, 201)

    async def _put_step(self, update_id: str, step: str, body: dict[str, Any]) -> dict[str, Any]:
        # No retry on the face step: the verification_id identity answered is a signed assertion that
        # profile accepts at once, whether or not the FaceVerified event has reached it.
        resp = await self.client.put(
            f"{self.urls.profile}/v1/profile/updates/{update_id}/{step}", headers=self.auth, json=body
        )
        return _check(resp, 200)

    async def update_profile(self, face_verification_id: str) -> dict[str, Any]:
        m = self.member
        update = await self._start_update()
        update_id = update["update_id"]
        await self._put_step(update_id, "membership", {"confirmed": True})
        await self._put_step(update_id, "face", {"verification_id": face_verification_id})
        await self._put_step(update_id, "contact", {"phone": self.phone, "email": self.email})
        await self._put_step(
            update_id,
            "tax-bank",
            {"npwp": m.nik, "bank_code": m.bank_code, "account_number": m.account_number, "account_name": m.full_name},
        )
        await self._put_step(
            update_id,
            "population",
            {
                "nik": m.nik,
                "kk_number": m.kk_number,
                "address": m.address.model_dump(),
                "birth_place": m.birth_place,
                "mother_maiden_name": "SITI AMINAH",
            },
        )
        await self._put_step(
            update_id,
            "additional",
            {
                "marital_status": "married",
                "education": "sma",
                "occupation": "karyawan swasta",
                "emergency_contact": {"name": "Rahmat Hidayat", "relation": "sibling", "phone": "+6281234567890"},
            },
        )
        return _check(
            await self.client.post(f"{self.urls.profile}/v1/profile/updates/{update_id}/confirm", headers=self.auth),
            200,
        )

    async def _start_update(self, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout * self.patience
        while True:
            resp = await self.client.post(f"{self.urls.profile}/v1/profile/updates", headers=self.auth)
            # The profile projection follows the account's event.
            if resp.status_code in (404, 409, 422) and time.monotonic() < deadline:
                await asyncio.sleep(0.3)
                continue
            return _check(resp, 201, 200)

    async def balance(self) -> dict[str, Any]:
        return _check(await self.client.get(f"{self.urls.balance}/v1/balance", headers=self.auth), 200)

    async def wait_balance(self, kpj: str, contributions_idr: int, timeout: float = 90) -> dict[str, Any]:
        deadline = time.monotonic() + timeout * self.patience
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            resp = await self.client.get(f"{self.urls.balance}/v1/balance", headers=self.auth)
            if resp.status_code == 200:
                last = resp.json()
                card = next((c for c in last["cards"] if c["kpj"] == kpj), None)
                if card and card["contributions_idr"] == contributions_idr:
                    return card
            await asyncio.sleep(0.3)
        raise JourneyError(f"balance of {kpj} did not reach {contributions_idr} contributions: {last}")

    async def upload_documents(self, kinds: list[str]) -> list[str]:
        ids = []
        for kind in kinds:
            if kind in ("ktp", "heir_ktp") and self.member.photo:
                payload = (f"{kind}.jpg", self.member.photo.read_bytes(), "image/jpeg")
            elif kind in ("kpj_card", "kk"):
                payload = (f"{kind}.png", PNG_1PX, "image/png")
            else:
                payload = (f"{kind}.pdf", PDF_MINIMAL, "application/pdf")
            data = _check(
                await self.client.post(
                    f"{self.urls.claims}/v1/claims/documents",
                    headers=self.auth,
                    data={"kind": kind},
                    files={"file": payload},
                ),
                201,
            )
            ids.append(data["document_id"])
        return ids

    async def _eligibility_response(self, kpj: str) -> httpx.Response:
        return await self.client.get(
            f"{self.urls.claims}/v1/claims/eligibility", headers=self.auth, params={"kpj": kpj}
        )

    async def eligibility(self, kpj: str) -> dict[str, Any]:
        return _check(await self._eligibility_response(kpj), 200)

    async def wait_claim_ready(self, kpj: str, reason: str, timeout: float = 60) -> dict[str, Any]:
        """Eligibility as the claims service sees it, once the events it projects have arrived."""
        deadline = time.monotonic() + timeout * self.patience
        entry: dict[str, Any] = {}
        while time.monotonic() < deadline:
            resp = await self._eligibility_response(kpj)
            if resp.status_code == 404 and resp.json().get("code") == "card_not_found":
                # The claims service has not projected the card yet (its own consumer, which may run
                # behind balance's): not an answer about the card, so keep waiting until the deadline.
                entry = {"card_not_found": resp.json().get("detail")}
                await asyncio.sleep(0.3)
                continue
            data = _check(resp, 200)
            entry = next((r for r in data["reasons"] if r["reason"] == reason), {})
            if entry.get("eligible") and entry.get("estimated", {}).get("gross_idr", 0) > 0:
                return entry
            await asyncio.sleep(0.3)
        raise JourneyError(f"{reason} on {kpj} not eligible: {entry}")

    async def submit_claim(
        self,
        kpj: str,
        reason: str,
        document_ids: list[str],
        verification_id: str,
        idempotency_key: str | None = None,
        timeout: float = 30,
        correlation_id: str | None = None,
    ) -> httpx.Response:
        body = {"reason": reason, "kpj": kpj, "document_ids": document_ids, "verification_id": verification_id}
        headers = {**self.auth, "Idempotency-Key": idempotency_key or uuid.uuid4().hex}
        if correlation_id:
            headers["X-Correlation-ID"] = correlation_id
        deadline = time.monotonic() + timeout * self.patience
        while True:
            resp = await self.client.post(f"{self.urls.claims}/v1/claims", headers=headers, json=body)
            # The claims service learns of the profile update by event (the face match it reads from the
            # signed verification_id itself, so verification_not_found is not retried).
            if (
                resp.status_code == 422
                and time.monotonic() < deadline
                and resp.json().get("code")
                in ("data_update_required", "bank_account_missing", "bank_account_unconfirmed")
            ):
                await asyncio.sleep(0.3)
                continue
            return resp

    async def claim(self, claim_id: str) -> dict[str, Any]:
        return _check(await self.client.get(f"{self.urls.claims}/v1/claims/{claim_id}", headers=self.auth), 200)

    async def wait_claim(self, claim_id: str, status: str, timeout: float = 90) -> dict[str, Any]:
        deadline = time.monotonic() + timeout * self.patience
        claim: dict[str, Any] = {}
        final = {"PAID", "REJECTED", "PAYOUT_FAILED", "NEEDS_REVIEW"}
        while time.monotonic() < deadline:
            claim = await self.claim(claim_id)
            if claim["status"] == status:
                return claim
            if claim["status"] in final:
                break
            await asyncio.sleep(0.2)
        raise JourneyError(f"claim {claim_id} did not reach {status}: {claim}")

    async def payouts(self, claim_id: str) -> Any:
        return _check(
            await self.client.get(f"{self.urls.payout}/v1/payouts", headers=self.auth, params={"claim_id": claim_id}),
            200,
        )

    async def notifications(self) -> dict[str, Any]:
        """The member's inbox (notify), newest first."""
        return _check(await self.client.get(f"{self.urls.notify}/v1/notifications", headers=self.auth), 200)

    async def bank_account(self) -> dict[str, Any]:
        m = self.member
        return _check(await self.client.get(f"{self.urls.banksim}/sim/accounts/{m.bank_code}/{m.account_number}"), 200)
