"""Demo members, published as the upstream systems would publish them.

Deterministic (seeded): the same members every run, so the README's walkthrough
names real NIKs. A member has one to three KPJ cards from successive employers,
monthly contributions for the years employed (3.7% employer + 2% worker), some
an ended employment with a resignation letter (eligible for a JHT claim), a
population record with a KTP photo, and an account at a partner bank in the
simulator (so the pengkinian data tax-bank step can confirm the holder name).

The KTP photos are the few freely licensed test photos available offline
(see jmo_identity.face.sample_photos), reused across demo members: a demo member's selfie is another
photo of the same person.
"""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from stdnum import numdb
from stdnum.id import nik as nik_check

from jmo_shared.events import (
    Address,
    ContributionPosted,
    EmploymentEnded,
    EventData,
    MemberRegistered,
    PersonRecorded,
)

FIRST = [
    "Budi",
    "Siti",
    "Agus",
    "Dewi",
    "Rudi",
    "Sri",
    "Andi",
    "Putri",
    "Joko",
    "Rina",
    "Bambang",
    "Wati",
    "Hendra",
    "Ayu",
    "Fajar",
    "Nur",
    "Eko",
    "Lestari",
    "Dimas",
    "Indah",
    "Yusuf",
    "Ratna",
    "Arif",
    "Maya",
]
LAST = [
    "Santoso",
    "Wijaya",
    "Saputra",
    "Lestari",
    "Pratama",
    "Hidayat",
    "Kusuma",
    "Rahmawati",
    "Siregar",
    "Nasution",
    "Simanjuntak",
    "Putra",
    "Setiawan",
    "Hakim",
    "Gunawan",
    "Halim",
    "Sitompul",
    "Purba",
]
EMPLOYERS = [
    ("EMP-0001", "PT Maju Bersama"),
    ("EMP-0002", "PT Sinar Nusantara"),
    ("EMP-0003", "CV Karya Mandiri"),
    ("EMP-0004", "PT Garuda Logistik"),
    ("EMP-0005", "PT Samudra Pangan"),
    ("EMP-0006", "PT Bumi Tekstil"),
    ("EMP-0007", "PT Cahaya Retail"),
    ("EMP-0008", "PT Andalas Konstruksi"),
]
REGENCIES = ["3171", "3273", "3578", "3374", "5171", "7371", "3201"]
# Account-number length per bank (domain-rules.md).
BANK_ACCOUNT_LENGTH = {"014": 10, "009": 10, "451": 10, "008": 13, "022": 13, "028": 12, "002": 15, "200": 16}


@dataclass
class Card:
    kpj: str
    employer_id: str
    employer_name: str
    registered_on: date
    ended_on: date | None = None
    letter_date: date | None = None
    wage_idr: int = 0


@dataclass
class DemoMember:
    nik: str
    kk_number: str
    full_name: str
    birth_place: str
    birth_date: date
    sex: str
    address: Address
    cards: list[Card] = field(default_factory=list)
    photo: Path | None = None
    selfie: Path | None = None
    bank_code: str = "014"
    account_number: str = ""

    @property
    def claimable_card(self) -> Card | None:
        """A card whose employment ended by resignation more than a month ago."""
        return next((c for c in self.cards if c.ended_on and c.letter_date), None)


def member_to_json(member: DemoMember) -> dict:
    """Everything needed to walk a demo member through the app later (dates as ISO strings)."""
    return {
        "nik": member.nik,
        "kk_number": member.kk_number,
        "full_name": member.full_name,
        "birth_place": member.birth_place,
        "birth_date": member.birth_date.isoformat(),
        "sex": member.sex,
        "address": member.address.model_dump(),
        "cards": [
            {
                **c.__dict__,
                "registered_on": c.registered_on.isoformat(),
                "ended_on": c.ended_on.isoformat() if c.ended_on else None,
                "letter_date": c.letter_date.isoformat() if c.letter_date else None,
            }
            for c in member.cards
        ],
        "photo": str(member.photo) if member.photo else None,
        "selfie": str(member.selfie) if member.selfie else None,
        "bank_code": member.bank_code,
        "account_number": member.account_number,
        "claimable_kpj": member.claimable_card.kpj if member.claimable_card else None,
    }


def member_from_json(doc: dict) -> DemoMember:
    def day(value: str | None) -> date | None:
        return date.fromisoformat(value) if value else None

    cards = [
        Card(
            kpj=c["kpj"],
            employer_id=c["employer_id"],
            employer_name=c["employer_name"],
            registered_on=date.fromisoformat(c["registered_on"]),
            ended_on=day(c["ended_on"]),
            letter_date=day(c["letter_date"]),
            wage_idr=c["wage_idr"],
        )
        for c in doc["cards"]
    ]
    return DemoMember(
        nik=doc["nik"],
        kk_number=doc["kk_number"],
        full_name=doc["full_name"],
        birth_place=doc["birth_place"],
        birth_date=date.fromisoformat(doc["birth_date"]),
        sex=doc["sex"],
        address=Address(**doc["address"]),
        cards=cards,
        photo=Path(doc["photo"]) if doc["photo"] else None,
        selfie=Path(doc["selfie"]) if doc["selfie"] else None,
        bank_code=doc["bank_code"],
        account_number=doc["account_number"],
    )


def _months(start: date, end: date) -> list[str]:
    periods, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        periods.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return periods


def _nik(rng: random.Random, regency: str, birth: date, female: bool, seq: int) -> str:
    day = birth.day + (40 if female else 0)
    number = f"{regency}{rng.randint(1, 9):02d}{day:02d}{birth.month:02d}{birth.year % 100:02d}{seq:04d}"
    return nik_check.validate(number)


def _address(regency: str, rng: random.Random) -> tuple[Address, str]:
    (_, province), (_, city) = numdb.get("id/loc").info(regency)
    city_name = city["name_id"].title()
    return (
        Address(
            street=f"Jl. {rng.choice(['Merdeka', 'Sudirman', 'Diponegoro', 'Gajah Mada', 'Pahlawan'])} No. {rng.randint(1, 200)}",
            rt=f"{rng.randint(1, 15):03d}",
            rw=f"{rng.randint(1, 10):03d}",
            village="Kelurahan Demo",
            district="Kecamatan Demo",
            regency=city_name,
            province=province["name_id"],
            province_code=regency[:2],
            regency_code=regency,
            postal_code=f"{rng.randint(10000, 99999)}",
        ),
        city_name,
    )


def build_members(
    count: int,
    today: date,
    photos: list[tuple[Path, Path]] | None = None,
    seed: int = 20261124,
    nik_seq_start: int = 1,
) -> list[DemoMember]:
    """`photos` is a list of (KTP photo, selfie of the same person) pairs, used in turn."""
    rng = random.Random(seed)
    members = []
    for i in range(count):
        female = rng.random() < 0.5
        birth = date(rng.randint(1968, 2000), rng.randint(1, 12), rng.randint(1, 28))
        regency = rng.choice(REGENCIES)
        nik = _nik(rng, regency, birth, female, nik_seq_start + i)
        address, city = _address(regency, rng)
        member = DemoMember(
            nik=nik,
            kk_number=f"{regency}{rng.randint(10, 99)}{rng.randint(10**9, 10**10 - 1)}",
            full_name=f"{rng.choice(FIRST)} {rng.choice(LAST)}".upper(),
            birth_place=city.upper(),
            birth_date=birth,
            sex="F" if female else "M",
            address=address,
        )
        member.cards = _cards(rng, today, i)
        if photos:
            member.photo, member.selfie = photos[i % len(photos)]
        member.bank_code = rng.choice(list(BANK_ACCOUNT_LENGTH))
        length = BANK_ACCOUNT_LENGTH[member.bank_code]
        member.account_number = str(rng.randint(10 ** (length - 1), 10**length - 1))
        members.append(member)
    return members


def _cards(rng: random.Random, today: date, index: int) -> list[Card]:
    n_cards = rng.choices([1, 2, 3], weights=[5, 3, 2])[0]
    start = today - timedelta(days=365 * rng.randint(2, 5))
    employers = rng.sample(EMPLOYERS, n_cards)
    cards = []
    # Every third member resigned from the last job two to six months ago: claimable.
    resigned = index % 3 == 0
    for n, (emp_id, emp_name) in enumerate(employers):
        last = n == n_cards - 1
        length_days = rng.randint(300, 700)
        end = start + timedelta(days=length_days)
        card = Card(
            kpj=f"{rng.randint(10**10, 10**11 - 1)}",
            employer_id=emp_id,
            employer_name=emp_name,
            registered_on=start,
            wage_idr=rng.randrange(4_500_000, 15_000_000, 50_000),
        )
        if not last:
            card.ended_on = min(end, today - timedelta(days=120))
        elif resigned:
            card.ended_on = today - timedelta(days=rng.randint(60, 180))
            card.letter_date = card.ended_on - timedelta(days=30)
        cards.append(card)
        start = (card.ended_on or today) + timedelta(days=15)
        if start >= today - timedelta(days=90):
            break
    return cards


def contribution(card: Card, period: str, nik: str, posted_at: datetime) -> ContributionPosted:
    employer = card.wage_idr * 37 // 1000  # 3.7% of wage
    worker = card.wage_idr * 2 // 100  # 2% of wage
    return ContributionPosted(
        kpj=card.kpj,
        period=period,
        wage_idr=card.wage_idr,
        employer_idr=employer,
        worker_idr=worker,
        posted_at=posted_at,
        nik=nik,
    )


def feed_events(member: DemoMember, today: date) -> list[EventData]:
    """Everything the core system and the population registry publish about a member."""
    events: list[EventData] = []
    photo_b64 = base64.b64encode(member.photo.read_bytes()).decode() if member.photo else ""
    events.append(
        PersonRecorded(
            nik=member.nik,
            kk_number=member.kk_number,
            full_name=member.full_name,
            birth_place=member.birth_place,
            birth_date=member.birth_date,
            sex=member.sex,
            address=member.address,
            photo_jpeg_b64=photo_b64,
        )
    )
    for card in member.cards:
        events.append(
            MemberRegistered(
                nik=member.nik,
                kpj=card.kpj,
                full_name=member.full_name,
                birth_date=member.birth_date,
                employer_id=card.employer_id,
                employer_name=card.employer_name,
                registered_on=card.registered_on,
            )
        )
        last_month = card.ended_on or (today.replace(day=1) - timedelta(days=1))
        for period in _months(card.registered_on, last_month):
            y, m = map(int, period.split("-"))
            posted = datetime(y, m, 10, 3, 0, tzinfo=UTC) + timedelta(days=31)
            events.append(contribution(card, period, member.nik, posted))
        if card.ended_on:
            events.append(
                EmploymentEnded(
                    kpj=card.kpj,
                    ended_on=card.ended_on,
                    cause="resignation",
                    letter_date=card.letter_date or card.ended_on,
                    nik=member.nik,
                )
            )
    return events
