import uuid
from datetime import date

import pytest

from jmo_payout.domain.ids import derive_ids, new_payout_id


def test_ids_are_derived_deterministically_from_the_payout_id() -> None:
    payout_id = new_payout_id()
    first = derive_ids(payout_id, date(2025, 7, 15))
    assert first == derive_ids(payout_id, date(2025, 7, 15))
    assert first.partner_reference_no == payout_id
    assert first.end_to_end_id == "E2E" + uuid.UUID(payout_id).hex
    assert first.message_id == "MSG" + uuid.UUID(payout_id).hex


def test_formats_fit_the_bank_interfaces() -> None:
    ids = derive_ids(new_payout_id(), date(2025, 7, 15))
    assert len(ids.partner_reference_no) <= 64
    assert len(ids.end_to_end_id) <= 35 and len(ids.message_id) <= 35
    assert ids.external_id.isdigit() and len(ids.external_id) == 24
    assert ids.external_id.startswith("20250715")


def test_different_payouts_get_different_ids() -> None:
    many = [derive_ids(new_payout_id(), date(2025, 7, 15)) for _ in range(2000)]
    assert len({i.external_id for i in many}) == 2000
    assert len({i.end_to_end_id for i in many}) == 2000


def test_only_uuid_payout_ids() -> None:
    with pytest.raises(ValueError):
        derive_ids("not-a-uuid", date(2025, 7, 15))
