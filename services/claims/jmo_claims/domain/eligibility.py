"""Which claim reasons a member can use for a card, from when, and what a claim would pay.

Every answer says why not and from when (the checklist members asked for), rather
than a bare "cannot continue".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from dateutil.relativedelta import relativedelta

from .documents import CONDITIONAL_DOCUMENTS, REQUIRED_DOCUMENTS
from .model import Card, Employment, Member, ReasonAssessment, Unmet
from .policy import ClaimPolicy
from .tax import estimate
from .text import day

REASONS: tuple[str, ...] = (
    "retirement",
    "resignation",
    "termination",
    "contract_end",
    "leaving_indonesia",
    "disability",
    "death",
    "partial_10",
    "partial_30",
)
PARTIAL_REASONS = frozenset({"partial_10", "partial_30"})

Rule = Callable[[Member, Card, date, ClaimPolicy], tuple[date | None, list[Unmet]]]


def local_today(now: datetime, policy: ClaimPolicy) -> date:
    """Waiting periods end on calendar days in Indonesia, not in UTC."""
    return now.astimezone(policy.tz).date()


def partial_percent(reason: str, policy: ClaimPolicy) -> int | None:
    if reason == "partial_10":
        return policy.partial_pension_percent
    if reason == "partial_30":
        return policy.partial_housing_percent
    return None


def claimable_gross(card: Card, percent: int | None) -> int:
    """A full claim takes what is not already held; a partial one a share of the balance."""
    if percent is None:
        return max(card.available_idr or 0, 0)
    return max((card.balance_idr or 0) * percent // 100, 0)


def _retirement(member: Member, card: Card, today: date, policy: ClaimPolicy) -> tuple[date | None, list[Unmet]]:
    candidates = []
    if member.birth_date is not None:
        candidates.append(member.birth_date + relativedelta(years=policy.retirement_age_years))
    # The work agreement may set an earlier retirement age; the employer reports it as the cause.
    if card.employment is not None and card.employment.cause == "retirement":
        candidates.append(card.employment.ended_on)
    if not candidates:
        return None, [
            Unmet(
                "birth_date_unknown",
                "Your birth date has not arrived from the population registry yet; try again later.",
            )
        ]
    eligible_from = min(candidates)
    if today < eligible_from:
        return eligible_from, [
            Unmet(
                "retirement_age_not_reached",
                f"You reach the retirement age of {policy.retirement_age_years} "
                f"on {day(eligible_from)}; you can claim from then.",
            )
        ]
    return eligible_from, []


def _after_employment(cause: str, start: Callable[[Employment, ClaimPolicy], date]) -> Rule:
    label = cause.replace("_", " ")

    def rule(member: Member, card: Card, today: date, policy: ClaimPolicy) -> tuple[date | None, list[Unmet]]:
        employment = card.employment
        if employment is None:
            return None, [
                Unmet(
                    "employment_not_ended",
                    f"Your employer has not reported that the employment behind card {card.kpj} ended.",
                )
            ]
        if employment.cause != cause:
            reported = employment.cause.replace("_", " ")
            return None, [
                Unmet(
                    "employment_ended_otherwise",
                    f"Your employer reported this employment ended by {reported}, not {label}: "
                    f"choose that reason instead.",
                )
            ]
        eligible_from = start(employment, policy)
        if today < eligible_from:
            return eligible_from, [
                Unmet("waiting_period", f"After {label} a claim can be made from {day(eligible_from)}.")
            ]
        return eligible_from, []

    return rule


def _with_documents(member: Member, card: Card, today: date, policy: ClaimPolicy) -> tuple[date | None, list[Unmet]]:
    # Leaving Indonesia, disability and death are proven by their documents alone.
    return None, []


def _partial(member: Member, card: Card, today: date, policy: ClaimPolicy) -> tuple[date | None, list[Unmet]]:
    unmet = []
    eligible_from = None
    first = member.first_registered_on
    years = policy.partial_min_membership_years
    if first is None:
        unmet.append(
            Unmet("membership_unknown", "The start of your membership has not arrived from the membership system yet.")
        )
    else:
        eligible_from = first + relativedelta(years=years)
        if today < eligible_from:
            unmet.append(
                Unmet(
                    "membership_too_short",
                    f"A partial claim needs {years} years of membership; yours reaches that on {day(eligible_from)}.",
                )
            )
    if not member.still_working:
        unmet.append(
            Unmet("not_working", "A partial claim is for members who still work: none of your cards is active.")
        )
    if member.partial_taken:
        unmet.append(
            Unmet(
                "partial_already_claimed", "A partial claim (10% or 30%) can be made once only, and you have made one."
            )
        )
    return eligible_from, unmet


_RULES: dict[str, Rule] = {
    "retirement": _retirement,
    "resignation": _after_employment(
        "resignation", lambda e, p: e.letter_date + relativedelta(months=p.resignation_wait_months)
    ),
    "termination": _after_employment(
        "termination", lambda e, p: e.ended_on + relativedelta(months=p.termination_wait_months)
    ),
    "contract_end": _after_employment(
        "contract_end", lambda e, p: e.ended_on + timedelta(days=p.contract_end_wait_days)
    ),
    "leaving_indonesia": _with_documents,
    "disability": _with_documents,
    "death": _with_documents,
    "partial_10": _partial,
    "partial_30": _partial,
}


def _balance_unmet(card: Card, gross_idr: int) -> list[Unmet]:
    if card.balance_idr is None:
        return [Unmet("balance_unknown", f"The balance of card {card.kpj} is not known yet; try again later.")]
    if gross_idr <= 0:
        return [Unmet("no_balance", f"Card {card.kpj} has no balance to claim.")]
    return []


def assess(
    member: Member, card: Card, reason: str, today: date, has_npwp: bool, policy: ClaimPolicy
) -> ReasonAssessment:
    eligible_from, unmet = _RULES[reason](member, card, today, policy)
    percent = partial_percent(reason, policy)
    gross = claimable_gross(card, percent)
    unmet = unmet + _balance_unmet(card, gross)
    return ReasonAssessment(
        kpj=card.kpj,
        reason=reason,
        eligible=not unmet,
        eligible_from=eligible_from,
        unmet=tuple(unmet),
        required_documents=REQUIRED_DOCUMENTS[reason],
        estimated=estimate(gross, has_npwp, policy),
        partial_percent=percent,
        paid_to="heirs" if reason == "death" else "member",
        conditional_documents=CONDITIONAL_DOCUMENTS.get(reason, ()),
    )


def assess_member(
    member: Member, today: date, has_npwp: bool, policy: ClaimPolicy, kpj: str | None = None
) -> list[ReasonAssessment]:
    cards = [c for c in member.cards if kpj is None or c.kpj == kpj]
    return [assess(member, card, reason, today, has_npwp, policy) for card in cards for reason in REASONS]
