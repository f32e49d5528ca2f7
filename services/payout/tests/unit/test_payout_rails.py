from datetime import UTC, datetime, timedelta, timezone

import pytest

from jmo_payout.domain.rails import choose_rail
from jmo_payout.settings import PayoutSettings

POLICY = PayoutSettings().rail_policy()
WIB = timezone(timedelta(hours=7))


def wib(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2025, 7, 15, hour, minute, second, tzinfo=WIB)


@pytest.mark.parametrize("at", [wib(3), wib(12), wib(23, 59)])
def test_bi_fast_up_to_its_limit_at_any_hour(at: datetime) -> None:
    assert choose_rail(1, at, POLICY) == "BI_FAST"
    assert choose_rail(250_000_000, at, POLICY) == "BI_FAST"


@pytest.mark.parametrize(
    ("amount", "at", "rail"),
    [
        (250_000_001, wib(10), "SKN"),
        (1_000_000_000, wib(10), "SKN"),
        (1_000_000_001, wib(10), "RTGS"),
        (250_000_001, wib(7, 59, 59), "RTGS"),
        (250_000_001, wib(8, 0, 0), "SKN"),
        (250_000_001, wib(16, 44, 59), "SKN"),
        (250_000_001, wib(16, 45, 0), "RTGS"),
        (250_000_001, wib(22), "RTGS"),
    ],
)
def test_above_bi_fast_skn_inside_its_window_else_rtgs(amount: int, at: datetime, rail: str) -> None:
    assert choose_rail(amount, at, POLICY) == rail


def test_window_is_read_in_jakarta_time() -> None:
    # 01:00 UTC is 08:00 WIB: SKN is open although it is the middle of the night in UTC.
    assert choose_rail(300_000_000, datetime(2025, 7, 15, 1, 0, tzinfo=UTC), POLICY) == "SKN"
    assert choose_rail(300_000_000, datetime(2025, 7, 15, 0, 59, tzinfo=UTC), POLICY) == "RTGS"


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError):
        choose_rail(300_000_000, datetime(2025, 7, 15, 10), POLICY)
