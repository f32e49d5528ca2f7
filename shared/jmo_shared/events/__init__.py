"""Event contracts: the CloudEvents envelope and every versioned event type."""

from .balance import BalanceChanged, BalanceDebited, BalanceReleased, BalanceReservationRejected, BalanceReserved
from .base import REGISTRY, EventData, parse_data
from .claims import ClaimApproved, ClaimReason, ClaimRejected, ClaimStatusChanged, ClaimSubmitted
from .envelope import CloudEvent
from .helpdesk import ComplaintAnswered, ComplaintFiled
from .identity import AccountRegistered, ContactChanged, FaceMatchRefused, FaceVerified
from .payout import Amount, BankPayoutStatus, Party, PayoutFailed, PayoutInitiated, PayoutSent, PayoutSettled, Rail
from .profile import BankAccount, ProfileUpdated
from .risk import ClaimScreened, RiskFlagCleared, RiskFlagged
from .upstream import Address, ContributionPosted, EmploymentEnded, MemberRegistered, PersonRecorded

__all__ = [
    "REGISTRY",
    "AccountRegistered",
    "Address",
    "Amount",
    "BalanceChanged",
    "BalanceDebited",
    "BalanceReleased",
    "BalanceReservationRejected",
    "BalanceReserved",
    "BankAccount",
    "BankPayoutStatus",
    "ClaimApproved",
    "ClaimReason",
    "ClaimScreened",
    "ClaimRejected",
    "ClaimStatusChanged",
    "ClaimSubmitted",
    "ComplaintAnswered",
    "ComplaintFiled",
    "ContactChanged",
    "CloudEvent",
    "ContributionPosted",
    "EmploymentEnded",
    "EventData",
    "FaceMatchRefused",
    "FaceVerified",
    "MemberRegistered",
    "Party",
    "PayoutFailed",
    "PayoutInitiated",
    "PayoutSent",
    "PayoutSettled",
    "PersonRecorded",
    "ProfileUpdated",
    "Rail",
    "RiskFlagCleared",
    "RiskFlagged",
    "parse_data",
]
