"""Whether a claim can be accepted: every precondition, each refusal with a code and a sentence.

All refusals are reported together, so the member fixes everything in one go.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from jmo_shared.errors import ErrorKind

from .documents import DOCUMENT_KINDS
from .eligibility import PARTIAL_REASONS, assess, local_today, partial_percent
from .model import Card, Document, FaceMatch, Member, Profile, ReasonAssessment
from .policy import ClaimPolicy
from .text import moment, rupiah


@dataclass(frozen=True)
class SubmitClaim:
    member_id: str
    nik: str
    reason: str
    kpj: str
    document_ids: tuple[str, ...]
    verification_id: str
    partial_percent: int | None = None


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str
    field: str
    kind: ErrorKind = ErrorKind.INVALID


class ClaimRefused(Exception):
    def __init__(self, refusals: list[Refusal]) -> None:
        super().__init__("; ".join(f"{r.code}: {r.message}" for r in refusals))
        self.refusals = refusals


@dataclass(frozen=True)
class SubmissionFacts:
    member: Member
    profile: Profile | None
    face: FaceMatch | None
    face_already_used: bool
    documents: dict[str, Document] = field(default_factory=dict)
    has_open_claim: bool = False


def profile_refusals(profile: Profile | None, now: datetime, policy: ClaimPolicy) -> list[Refusal]:
    """Pengkinian data done, and a bank account the money can safely go to."""
    if profile is None or not profile.data_update_completed:
        return [Refusal("data_update_required", "Complete a data update (pengkinian data) before claiming.", "profile")]
    account = profile.bank_account
    if account is None:
        return [
            Refusal(
                "bank_account_missing",
                "Register a bank account in your own name in a data update (tax-bank step).",
                "bank_account",
            )
        ]
    if not account.inquiry_name:
        return [
            Refusal(
                "bank_account_unconfirmed",
                "Your bank has not confirmed the account holder's name yet; redo the tax-bank step.",
                "bank_account",
            )
        ]
    # A freshly changed account is where fraud happens: wait, unless a face match confirmed the change.
    if account.face_verification_id is None and account.changed_at is not None:
        usable_from = account.changed_at + timedelta(days=policy.bank_account_cooling_off_days)
        if now < usable_from:
            return [
                Refusal(
                    "bank_account_cooling_off",
                    f"Your bank account changed recently; for your safety it can receive a claim from "
                    f"{moment(usable_from.astimezone(policy.tz))} WIB, or now if you confirm the change "
                    f"with a face match in a data update.",
                    "bank_account",
                )
            ]
    return []


def npwp_refusal(member: Member, card: Card, profile: Profile | None, policy: ClaimPolicy) -> list[Refusal]:
    if profile is not None and profile.npwp:
        return []
    limit = policy.npwp_required_above_idr
    if (card.balance_idr or 0) > limit:
        return [
            Refusal(
                "npwp_required", f"Your balance is above {rupiah(limit)}: add your NPWP in a data update first.", "npwp"
            )
        ]
    if member.partial_paid:
        return [
            Refusal(
                "npwp_required", "After a partial claim an NPWP is required: add it in a data update first.", "npwp"
            )
        ]
    return []


def face_refusals(cmd: SubmitClaim, face: FaceMatch | None, already_used: bool, now: datetime) -> list[Refusal]:
    if face is None or face.member_id != cmd.member_id:
        return [
            Refusal(
                "verification_not_found",
                "No face match of yours with this id was found; take a selfie for the claim first.",
                "verification_id",
            )
        ]
    if face.purpose != "claim":
        return [
            Refusal(
                "verification_wrong_purpose",
                f"This face match was made for {face.purpose.replace('_', ' ')}; take one for the claim.",
                "verification_id",
            )
        ]
    if now >= face.expires_at:
        return [
            Refusal(
                "verification_expired",
                "This face match has expired; take a new selfie for the claim.",
                "verification_id",
            )
        ]
    if already_used:
        return [
            Refusal(
                "verification_already_used",
                "This face match was already used for another claim; take a new selfie.",
                "verification_id",
            )
        ]
    return []


def document_refusals(cmd: SubmitClaim, documents: dict[str, Document], required: tuple[str, ...]) -> list[Refusal]:
    refusals = []
    kinds = set()
    for i, document_id in enumerate(cmd.document_ids):
        doc = documents.get(document_id)
        if doc is None or doc.member_id != cmd.member_id:
            refusals.append(
                Refusal(
                    "document_not_found",
                    f"Document {document_id} was not found among your uploads.",
                    f"document_ids.{i}",
                )
            )
            continue
        kinds.add(doc.kind)
    missing = [k for k in required if k not in kinds]
    if missing:
        names = ", ".join(DOCUMENT_KINDS[k] for k in missing)
        refusals.append(Refusal("documents_missing", f"Upload these documents first: {names}.", "document_ids"))
    return refusals


def _partial_percent_refusals(cmd: SubmitClaim, policy: ClaimPolicy) -> list[Refusal]:
    expected = partial_percent(cmd.reason, policy)
    if cmd.partial_percent is None or cmd.partial_percent == expected:
        return []
    if cmd.reason not in PARTIAL_REASONS:
        return [
            Refusal("partial_percent_not_allowed", "A percentage applies to partial claims only.", "partial_percent")
        ]
    return [
        Refusal(
            "partial_percent_mismatch", f"A {cmd.reason} claim takes {expected}% of the balance.", "partial_percent"
        )
    ]


def decide(cmd: SubmitClaim, facts: SubmissionFacts, now: datetime, policy: ClaimPolicy) -> ReasonAssessment:
    """The assessment the claim is accepted on, or ClaimRefused with every reason why not."""
    card = facts.member.card(cmd.kpj)
    if card is None:
        raise ClaimRefused([Refusal("card_not_found", f"Card {cmd.kpj} is not one of your KPJ cards.", "kpj")])
    if facts.has_open_claim:
        raise ClaimRefused(
            [
                Refusal(
                    "open_claim_exists",
                    "You already have a claim in progress; one claim at a time.",
                    "kpj",
                    ErrorKind.CONFLICT,
                )
            ]
        )
    has_npwp = bool(facts.profile and facts.profile.npwp)
    assessment = assess(facts.member, card, cmd.reason, local_today(now, policy), has_npwp, policy)
    refusals = _partial_percent_refusals(cmd, policy)
    refusals += [Refusal(u.code, u.message, "reason") for u in assessment.unmet]
    refusals += document_refusals(cmd, facts.documents, assessment.required_documents)
    refusals += profile_refusals(facts.profile, now, policy)
    refusals += face_refusals(cmd, facts.face, facts.face_already_used, now)
    refusals += npwp_refusal(facts.member, card, facts.profile, policy)
    if refusals:
        raise ClaimRefused(refusals)
    return assessment
