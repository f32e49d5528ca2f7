"""Handlers: one per message that changes a payout. Each runs inside one transaction (Tx),
so the payout document, the audit row and the events it emits are stored together or not at all."""

from __future__ import annotations

from datetime import datetime

from jmo_shared.errors import DomainError, ErrorKind, not_found
from jmo_shared.events import BankPayoutStatus, ClaimApproved, PayoutFailed, PayoutInitiated, PayoutSettled
from jmo_shared.events.payout import Amount, Party, PayoutSent
from jmo_shared.logging import correlation_id, current_correlation_id, get_logger
from jmo_shared.mongo import Database, Tx
from jmo_shared.topics import bank_topic

from ..adapters.repository import PayoutRepository, to_domain
from ..domain.ids import derive_ids
from ..domain.model import BANK_NOT_PARTNER, BankReport, ClaimToPay, Creditor, Payout, PayoutStatus, ReportOutcome
from ..domain.rails import choose_rail
from ..domain.tax import assess_pph21
from .context import PayoutContext

log = get_logger(__name__)


async def initiate_payout(tx: Tx, claim: ClaimApproved, ctx: PayoutContext) -> str | None:
    """ClaimApproved -> one payout, PayoutInitiated, and the bank's PayoutSent. Returns the payout id
    (None when the claim already has a payout: a redelivery or a duplicate approval)."""
    repo = PayoutRepository(tx)
    existing = await repo.by_claim(claim.claim_id)
    if existing is not None:
        log.info("payout_exists_for_claim", claim_id=claim.claim_id, payout_id=existing["_id"])
        return None
    if claim.gross_idr <= 0:
        raise DomainError(code="nothing_to_pay", detail=f"claim {claim.claim_id} approved with gross 0")
    now = ctx.clock.now()
    today = now.astimezone(ctx.local_tz).date()
    account = claim.bank_account
    tax = assess_pph21(claim.gross_idr, bool(claim.npwp and claim.npwp.strip()), claim.entitlement_date, today, ctx.tax)
    ids = derive_ids(ctx.new_payout_id(), today)
    creditor = Creditor(
        name=account.inquiry_name or account.account_name,
        account_number=account.account_number,
        bank_code=account.bank_code,
    )
    payout = Payout.create(
        ClaimToPay(
            claim_id=claim.claim_id,
            member_id=claim.member_id,
            nik=claim.nik,
            kpj=claim.kpj,
            reason=claim.reason,
            entitlement_date=claim.entitlement_date,
        ),
        tax,
        ids,
        creditor,
        now,
        correlation_id=current_correlation_id(),
    )
    if account.bank_code not in ctx.partner_banks:
        # No topic and no agreement with that bank: fail visibly so the member can change the account.
        payout.refuse_bank(BANK_NOT_PARTNER, f"bank {account.bank_code} is not a partner bank", now)
        await repo.add(payout)
        tx.emit(
            PayoutFailed(
                payout_id=ids.payout_id,
                claim_id=claim.claim_id,
                member_id=claim.member_id,
                reason_code=BANK_NOT_PARTNER,
                bank_reason=payout.failure_reason,
                failed_at=now,
            ),
            subject=ids.payout_id,
        )
        return ids.payout_id
    rail = choose_rail(tax.net_idr, now, ctx.rails)
    transfer = PayoutSent(
        payout_id=ids.payout_id,
        claim_id=claim.claim_id,
        member_id=claim.member_id,
        message_id=ids.message_id,
        end_to_end_id=ids.end_to_end_id,
        external_id=ids.external_id,
        partner_reference_no=ids.partner_reference_no,
        rail=rail,
        instructed_amount=Amount(amount_idr=tax.net_idr),
        gross_idr=tax.gross_idr,
        tax_idr=tax.tax_idr,
        net_idr=tax.net_idr,
        debtor=Party(name=ctx.debtor.name, account_number=ctx.debtor.account_number, bank_code=ctx.debtor.bank_code),
        creditor=Party(name=creditor.name, account_number=creditor.account_number, bank_code=creditor.bank_code),
        remittance_info=f"JHT {claim.claim_id}"[:140],
        requested_execution_date=today,
        notify_url=ctx.notify_url,
        sent_at=now,
    )
    payout.send(rail, transfer.model_dump(mode="json"), now)
    await repo.add(payout)
    tx.emit(
        PayoutInitiated(
            payout_id=ids.payout_id,
            claim_id=claim.claim_id,
            member_id=claim.member_id,
            gross_idr=tax.gross_idr,
            tax_idr=tax.tax_idr,
            net_idr=tax.net_idr,
            rail=rail,
            bank_code=account.bank_code,
            external_id=ids.external_id,
            initiated_at=now,
        ),
        subject=ids.payout_id,
    )
    tx.emit(transfer, subject=ids.payout_id, topic=bank_topic(account.bank_code))
    log.info(
        "payout_sent",
        payout_id=ids.payout_id,
        claim_id=claim.claim_id,
        rail=rail,
        bank_code=account.bank_code,
        net_idr=tax.net_idr,
    )
    return ids.payout_id


def _final_event(payout: Payout) -> PayoutSettled | PayoutFailed:
    if payout.status is PayoutStatus.SETTLED:
        assert payout.settled_at is not None and payout.bank_reference is not None
        return PayoutSettled(
            payout_id=payout.payout_id,
            claim_id=payout.claim_id,
            member_id=payout.member_id,
            gross_idr=payout.gross_idr,
            tax_idr=payout.tax_idr,
            net_idr=payout.net_idr,
            bank_code=payout.bank_code,
            bank_reference=payout.bank_reference,
            settled_at=payout.settled_at,
        )
    assert payout.failed_at is not None and payout.failure_code is not None
    return PayoutFailed(
        payout_id=payout.payout_id,
        claim_id=payout.claim_id,
        member_id=payout.member_id,
        reason_code=payout.failure_code,
        bank_reason=payout.failure_reason,
        failed_at=payout.failed_at,
    )


async def apply_bank_report(
    tx: Tx, report: BankReport, channel: str, ctx: PayoutContext
) -> tuple[ReportOutcome, Payout]:
    """A bank's result (signed HTTP or its status topic): the first final one decides, all are recorded."""
    repo = PayoutRepository(tx)
    doc = await repo.get(report.payout_id)
    if doc is None:
        raise not_found("payout", code="payout_not_found")
    if doc.get("correlation_id"):
        correlation_id.set(doc["correlation_id"])  # scoped to this request or consumed event
    payout = to_domain(doc)
    now = ctx.clock.now()
    outcome = payout.apply_report(report, now)
    await repo.record_report(report, channel, outcome, received_at=now)
    if outcome in ("settled", "failed"):
        if not await repo.save_final(payout, now):
            # Snapshot isolation makes this a write conflict first; kept as a guard, answered "try again".
            raise DomainError(code="payout_changed_concurrently", detail="retry the report", kind=ErrorKind.CONFLICT)
        tx.emit(_final_event(payout), subject=payout.payout_id)
        log.info("payout_final", payout_id=payout.payout_id, status=payout.status.value, channel=channel)
    elif outcome == "late":
        # The bank contradicts a final state (e.g. money credited after our timeout): reconciliation's job.
        log.warning(
            "bank_report_contradicts_final_state",
            payout_id=payout.payout_id,
            status=payout.status.value,
            reported=report.status,
            channel=channel,
        )
    return outcome, payout


async def on_bank_status(tx: Tx, data: BankPayoutStatus, ctx: PayoutContext) -> None:
    report = BankReport(
        payout_id=data.payout_id,
        end_to_end_id=data.end_to_end_id,
        bank_code=data.bank_code,
        status=data.status,
        bank_reference=data.bank_reference,
        reported_at=data.reported_at,
        reason_code=data.reason_code,
        reason=data.reason,
    )
    await apply_bank_report(tx, report, "kafka", ctx)


async def time_out_payout(db: Database, payout_id: str, ctx: PayoutContext) -> bool:
    """Fail one payout the bank never answered; False if an answer came meanwhile."""

    async def work(tx: Tx) -> bool:
        repo = PayoutRepository(tx)
        doc = await repo.get(payout_id)
        if doc is None:
            return False
        payout = to_domain(doc)
        now = ctx.clock.now()
        if not payout.is_overdue(now, ctx.bank_timeout):
            return False
        payout.time_out(now)
        if not await repo.save_final(payout, now):
            return False
        tx.emit(_final_event(payout), subject=payout.payout_id)
        return True

    timed_out = await db.transaction(work)
    if timed_out:
        log.warning("payout_bank_timeout", payout_id=payout_id)
    return timed_out


async def time_out_overdue(db: Database, ctx: PayoutContext, limit: int = 200) -> int:
    cutoff: datetime = ctx.clock.now() - ctx.bank_timeout
    ids = await PayoutRepository(db).overdue_ids(cutoff, limit)
    count = 0
    for payout_id in ids:
        count += await time_out_payout(db, payout_id, ctx)
    return count
