"""Event contracts: the CloudEvents envelope and every versioned event type."""

from .balance import BalanceChanged, BalanceDebited, BalanceReleased, BalanceReservationRejected, BalanceReserved
from .base import REGISTRY, EventData, parse_data
from .claims import ClaimApproved, ClaimReason, ClaimRejected, ClaimStatusChanged, ClaimSubmitted
from .envelope import CloudEvent
from .helpdesk import ComplaintFiled
from .identity import AccountRegistered, ContactChanged, FaceVerified
from .payout import Amount, BankPayoutStatus, Party, PayoutFailed, PayoutInitiated, PayoutSent, PayoutSettled, Rail
from .profile import BankAccount, ProfileUpdated
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
    "ClaimRejected",
    "ClaimStatusChanged",
    "ClaimSubmitted",
    "ComplaintFiled",
    "ContactChanged",
    "CloudEvent",
    "ContributionPosted",
    "EmploymentEnded",
    "EventData",
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
    "parse_data",
]
