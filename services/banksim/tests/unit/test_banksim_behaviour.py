import hashlib
import hmac
import json
from datetime import UTC, datetime

from jmo_banksim.domain.behaviour import Behaviour, BehaviourBook, Defaults, Plan, plan_for
from jmo_banksim.domain.transfer import bank_reference, decide
from jmo_shared.bank_signature import signed_request

DEFAULTS = Defaults(
    settle_delay_seconds=0.2,
    slow_delay_seconds=30,
    reject_reason_code="MS03",
    reject_reason="not specified reason agent generated",
)


def test_normal_answers_after_the_settle_delay() -> None:
    assert plan_for(Behaviour(), DEFAULTS) == Plan(answer=True, delay_seconds=0.2)
    assert plan_for(Behaviour(delay_seconds=1.5), DEFAULTS).delay_seconds == 1.5


def test_slow_uses_its_long_delay_unless_told() -> None:
    assert plan_for(Behaviour("slow"), DEFAULTS).delay_seconds == 30
    assert plan_for(Behaviour("slow", delay_seconds=2), DEFAULTS).delay_seconds == 2


def test_reject_carries_the_given_reason_or_the_default() -> None:
    default = plan_for(Behaviour("reject"), DEFAULTS)
    assert (default.reject_code, default.reject_reason) == ("MS03", "not specified reason agent generated")
    given = plan_for(Behaviour("reject", reason_code="AC04", reason="closed account"), DEFAULTS)
    assert (given.reject_code, given.reject_reason) == ("AC04", "closed account")


def test_duplicate_reorder_silent() -> None:
    assert plan_for(Behaviour("duplicate"), DEFAULTS).copies == 2
    assert plan_for(Behaviour("reorder"), DEFAULTS).reorder
    assert not plan_for(Behaviour("silent"), DEFAULTS).answer


def test_book_per_bank_and_for_all() -> None:
    book = BehaviourBook()
    book.set(Behaviour("reject"), "014")
    assert book.for_bank("014").mode == "reject"
    assert book.for_bank("002").mode == "normal"
    book.set(Behaviour("silent"))  # for all banks: replaces the per-bank choices
    assert book.for_bank("014").mode == "silent" and book.for_bank("002").mode == "silent"
    assert book.snapshot()["banks"] == {}


def test_decision() -> None:
    normal = Plan(answer=True, delay_seconds=0)
    assert decide(normal, account_exists=True).status == "ACSC"
    missing = decide(normal, account_exists=False)
    assert (missing.status, missing.reason_code, missing.reason) == ("RJCT", "AC01", "account not found")
    rejected = decide(Plan(answer=True, delay_seconds=0, reject_code="AM04"), account_exists=True)
    assert (rejected.status, rejected.reason_code) == ("RJCT", "AM04")


def test_bank_reference_is_stable_per_transfer() -> None:
    assert bank_reference("014", "E2Eabc") == bank_reference("014", "E2Eabc")
    assert bank_reference("014", "E2Eabc") != bank_reference("014", "E2Eabd")
    assert bank_reference("014", "E2Eabc").startswith("SIM014")


def test_signature_is_hmac_of_timestamp_dot_body() -> None:
    now = datetime(2025, 7, 15, 3, 0, tzinfo=UTC)
    raw, headers = signed_request("014", "dev-secret-014", {"payout_id": "p1", "status": "ACSC"}, now)
    assert json.loads(raw) == {"payout_id": "p1", "status": "ACSC"}
    assert headers["X-Bank-Code"] == "014"
    assert headers["X-Timestamp"] == "2025-07-15T03:00:00Z"
    expected = hmac.new(b"dev-secret-014", b"2025-07-15T03:00:00Z." + raw, hashlib.sha256).hexdigest()
    assert headers["X-Signature"] == expected
