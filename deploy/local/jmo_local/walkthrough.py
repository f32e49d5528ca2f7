"""`make demo`: one demo member's JHT claim, step by step, against the system `make run` started.

Picks a demo member whose last job ended by resignation and who has no app
account yet, and drives the public API the way the mobile app does, printing
each step: registration, login, face match, the pengkinian data wizard, the
balance, eligibility, documents, the claim, its timeline to PAID, the payout,
the money in the member's bank account and the notifications the member got.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from datetime import date
from pathlib import Path

from jmo_shared import httpclient
from jmo_shared.events import ContributionPosted

from .demo import feed_events, member_from_json
from .journey import AccountExists, Journey, JourneyError, Urls
from .services import API_PORTS, BANKSIM_PORT, ROOT
from .staff import staff_token


def show(step: str, detail: object = "") -> None:
    text = detail if isinstance(detail, str) else json.dumps(detail, indent=2, ensure_ascii=False)
    print(f"\n\033[1m-- {step}\033[0m\n{text}" if text else f"\n\033[1m-- {step}\033[0m", flush=True)


def idr(amount: int) -> str:
    return "Rp" + f"{amount:,}".replace(",", ".")


async def register_next(urls: Urls, members: list[dict]) -> tuple[Journey, str]:
    """Register the first claimable demo member who has no account yet (so the demo runs again and again).

    Whether a member has an account is asked the way the app would learn it: registration answers 409
    `account_exists`. (Logging in cannot tell: a wrong password answers like a missing account.)
    """
    skipped = 0
    for doc in members:
        if not doc.get("claimable_kpj"):
            continue
        journey = Journey(urls, member_from_json(doc))
        try:
            member_id = await journey.register()
        except AccountExists:
            skipped += 1
            await journey.close()
            continue
        if skipped:
            print(f"({skipped} demo members walked by earlier runs already have an account: taking the next)")
        return journey, member_id
    raise SystemExit("every claimable demo member already has an account: `make clean` and `make run` again")


async def officer_approves(urls: Urls, data_dir: Path, claim_id: str) -> dict:
    """The decision an officer takes in the back office, with a token of the local stack's staff key."""
    headers = {"Authorization": f"Bearer {staff_token(data_dir, ['officer'], 'demo.officer')}"}
    body = {
        "decision": "approve",
        "reason_code": "identity_confirmed",
        "note": "Identity and documents confirmed by video call.",
    }
    async with httpclient.async_client(timeout=30) as client:
        resp = await client.post(f"{urls.claims}/v1/review/claims/{claim_id}/decision", headers=headers, json=body)
    if resp.status_code != 200:
        raise JourneyError(f"officer decision -> {resp.status_code}: {resp.text[:600]}")
    return resp.json()


async def walk(urls: Urls, data_dir: Path) -> None:
    members = json.loads((data_dir / "demo-members.json").read_text())
    journey, member_id = await register_next(urls, members)
    m = journey.member
    kpj = next(c["claimable_kpj"] for c in members if c["nik"] == m.nik)
    try:
        show(
            "Demo member",
            {
                "nik": m.nik,
                "name": m.full_name,
                "kpj_cards": [c.kpj for c in m.cards],
                "claimable_kpj": kpj,
                "bank": f"{m.bank_code} {m.account_number}",
            },
        )
        show("POST /v1/accounts (identity)", {"member_id": member_id})
        await journey.login()
        show("POST /v1/auth/login", f"access token: {journey.token[:32]}...")
        face = await journey.verify_face("profile_update")
        show(
            "POST /v1/biometrics/verifications (purpose profile_update)",
            {k: face[k] for k in ("matched", "score", "threshold", "expires_at")},
        )
        confirmed = await journey.update_profile(face["verification_id"])
        show("Pengkinian data: 6 steps + POST /v1/profile/updates/{id}/confirm", confirmed)
        # The claimable card's employment has ended, so its contributions do not depend on today's date.
        contributions = sum(
            e.employer_idr + e.worker_idr
            for e in feed_events(m, date.today())
            if isinstance(e, ContributionPosted) and e.kpj == kpj
        )
        print("\nwaiting for the balance service to project this member's contributions ...", flush=True)
        card = await journey.wait_balance(kpj, contributions, timeout=900)
        show("GET /v1/balance (this card)", card)
        eligibility = await journey.wait_claim_ready(kpj, "resignation", timeout=900)
        show("GET /v1/claims/eligibility (resignation)", eligibility)
        documents = await journey.upload_documents(eligibility["required_documents"])
        show("POST /v1/claims/documents", {"document_ids": documents})
        claim_face = await journey.verify_face("claim")
        show("POST /v1/biometrics/verifications (purpose claim)", {"matched": claim_face["matched"]})
        resp = await journey.submit_claim(
            kpj, "resignation", documents, claim_face["verification_id"], idempotency_key=uuid.uuid4().hex
        )
        show(f"POST /v1/claims -> {resp.status_code}", resp.json())
        if resp.status_code != 202:
            raise SystemExit(1)
        claim_id = resp.json()["claim_id"]
        try:
            claim = await journey.wait_claim(claim_id, "PAID", timeout=300)
        except JourneyError:
            claim = await journey.claim(claim_id)
            if claim["status"] != "NEEDS_REVIEW":
                raise
            # Above the app's cap (or another reason for a person to look): an officer decides, as at a branch.
            show(
                "GET /v1/claims/{claim_id}: in manual review",
                {k: claim[k] for k in ("status", "reason_code")} | {"note": claim["timeline"][-1]["note"]},
            )
            show(
                "POST /v1/review/claims/{claim_id}/decision (an officer's staff token)",
                await officer_approves(urls, data_dir, claim_id),
            )
            claim = await journey.wait_claim(claim_id, "PAID", timeout=300)
        show(
            "GET /v1/claims/{claim_id}",
            {k: claim[k] for k in ("status", "gross_idr", "tax_idr", "net_idr", "sla_due_at", "timeline")},
        )
        show("GET /v1/payouts?claim_id=...", await journey.payouts(claim["claim_id"]))
        account = await journey.bank_account()
        show(
            "The member's bank (simulator)",
            {"holder": account.get("holder_name"), "balance": idr(account["balance_idr"])},
        )
        show(
            "GET /v1/notifications (what the member was told, newest first)",
            await paid_notice_listed(journey, claim["claim_id"]),
        )
        print(f"\nPaid {idr(claim['net_idr'])} to {m.full_name}.")
    except JourneyError as exc:
        raise SystemExit(f"demo step failed: {exc}") from exc
    finally:
        await journey.close()


async def paid_notice_listed(journey: Journey, claim_id: str, timeout: float = 30) -> list[dict]:
    """The member's notifications once the "paid" one for this claim is among them (or after `timeout`)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        items = (await journey.notifications())["items"]
        paid = any(n["kind"] == "claim_paid" and n.get("claim_id") == claim_id for n in items)
        if paid or loop.time() >= deadline:
            return [{"at": n["created_at"], "kind": n["kind"], "title": n["title"], "read": n["read"]} for n in items]
        await asyncio.sleep(0.5)


def main() -> None:
    base = "http://127.0.0.1"
    urls = Urls(
        *(f"{base}:{API_PORTS[s]}" for s in ("identity", "profile", "balance", "claims", "payout")),
        banksim=f"{base}:{BANKSIM_PORT}",
        notify=f"{base}:{API_PORTS['notify']}",
    )
    data_dir = Path(os.environ.get("DATA_DIR", ROOT / ".data")).resolve()
    if not (data_dir / "demo-members.json").exists():
        sys.exit(f"no demo data in {data_dir}: start the system with `make run` first")
    asyncio.run(walk(urls, data_dir))


if __name__ == "__main__":
    main()
