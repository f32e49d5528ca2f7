"""The faust agents with faust's test context: signals in, tables updated, flags out (no broker)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jmo_risk.domain import rules, signals
from jmo_risk.domain.rules import Flag
from jmo_risk.entrypoints.stream import Signal, build_stream
from jmo_risk.settings import RiskSettings

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Harness:
    def __init__(self, **settings: object) -> None:
        self.flags: dict[str, Flag] = {}
        self.forwarded: list[Signal] = []
        self.stream = build_stream(RiskSettings(**settings), self.sink, forward=self.forward)

    async def sink(self, flag: Flag) -> bool:
        if flag.flag_id in self.flags:
            return False
        self.flags[flag.flag_id] = flag
        return True

    async def forward(self, signal: Signal) -> None:
        self.forwarded.append(signal)

    async def feed(self, agent, *items: Signal) -> None:
        """Put signals, then whatever the agent forwarded to the signals topic, until nothing is left."""
        queue = list(items)
        while queue:
            for item in queue:
                await agent.put(item, key=item.key)
            queue, self.forwarded = self.forwarded, []

    def by_rule(self, rule: str) -> list[Flag]:
        return [f for f in self.flags.values() if f.rule == rule]


def sig(kind: str, key: str, at: datetime, event_id: str, **fields: object) -> Signal:
    return Signal(kind=kind, key=key, ts=at.timestamp(), event_id=event_id, **fields)


def account_set(member: str, account: str, at: datetime, changed: bool = False) -> Signal:
    return sig(
        signals.ACCOUNT_SET,
        f"member:{member}",
        at,
        f"p-{member}-{at.timestamp()}",
        member_id=member,
        value=account,
        changed=changed,
    )


def claim(member: str, claim_id: str, at: datetime, kpj: str = "11111111111") -> Signal:
    return sig(
        signals.CLAIM,
        f"member:{member}",
        at,
        f"c-{claim_id}",
        member_id=member,
        claim_id=claim_id,
        nik="3174011501850001",
        value=kpj,
    )


@pytest.fixture
def harness() -> Harness:
    return Harness(account_members_threshold=3)


async def test_third_member_claiming_into_one_account_is_flagged_once_even_when_redelivered(harness: Harness):
    async with harness.stream.detect.test_context() as agent:
        for i, member in enumerate(("m1", "m2", "m3")):
            await harness.feed(agent, account_set(member, "acc-mule", T0 - timedelta(days=10)))
            await harness.feed(agent, claim(member, f"claim-{i}", T0 + timedelta(hours=i)))
        flags = harness.by_rule(rules.ACCOUNT_MANY_MEMBERS)
        assert [f.claim_id for f in flags] == ["claim-2"]
        assert flags[0].evidence["distinct_members"] == 3 and flags[0].evidence["member_ids"] == ["m1", "m2", "m3"]
        assert "acc-mule" in flags[0].subject and flags[0].member_id == "m3"
        # The same claim delivered again: the table is unchanged and the sink sees the same flag id.
        await harness.feed(agent, claim("m3", "claim-2", T0 + timedelta(hours=2)))
        assert len(harness.by_rule(rules.ACCOUNT_MANY_MEMBERS)) == 1
        assert sorted(harness.stream.tables["account_members"]["account:acc-mule"]) == ["m1", "m2", "m3"]


async def test_members_outside_the_30_days_do_not_count(harness: Harness):
    async with harness.stream.detect.test_context() as agent:
        await harness.feed(
            agent,
            account_set("old1", "acc", T0 - timedelta(days=90)),
            account_set("old2", "acc", T0 - timedelta(days=90)),
            account_set("new", "acc", T0),
        )
        await harness.feed(
            agent,
            claim("old1", "c1", T0 - timedelta(days=40)),
            claim("old2", "c2", T0 - timedelta(days=35)),
            claim("new", "c3", T0),
        )
        assert harness.by_rule(rules.ACCOUNT_MANY_MEMBERS) == []


async def test_claim_soon_after_a_bank_account_change_is_flagged(harness: Harness):
    async with harness.stream.detect.test_context() as agent:
        await harness.feed(agent, account_set("m1", "acc-a", T0 - timedelta(days=200)))
        await harness.feed(agent, account_set("m1", "acc-b", T0, changed=True))
        await harness.feed(agent, claim("m1", "c1", T0 + timedelta(hours=5)))
        await harness.feed(agent, account_set("m2", "acc-c", T0 - timedelta(days=10), changed=True))
        await harness.feed(agent, claim("m2", "c2", T0))  # first account: not a change
        flags = harness.by_rule(rules.ACCOUNT_CHANGED_BEFORE_CLAIM)
        assert [f.claim_id for f in flags] == ["c1"]
        assert flags[0].evidence["hours_between"] == 5.0


async def test_face_refusals_for_one_nik_in_an_hour_flag_once_per_window():
    h = Harness(face_refusals_per_nik_hour=3)
    key = "nik:3174011501850001"
    async with h.stream.detect.test_context() as agent:
        items = [
            sig(signals.FACE_REFUSAL, key, T0 + timedelta(minutes=m), f"e{m}", member_id="m1", nik="3174011501850001")
            for m in (1, 2, 3, 4, 5)
        ]
        await h.feed(agent, *items)
        await h.feed(agent, items[0])  # redelivered
        # The next hour is a new window: three more flag it again, once.
        await h.feed(
            agent,
            *[
                sig(
                    signals.FACE_REFUSAL,
                    key,
                    T0 + timedelta(minutes=60 + m),
                    f"n{m}",
                    member_id="m1",
                    nik="3174011501850001",
                )
                for m in (1, 2, 3)
            ],
        )
        flags = h.by_rule(rules.FACE_REFUSALS_NIK)
        assert len(flags) == 2
        assert flags[0].evidence["count"] == 3 and flags[0].member_id == "m1"
        assert flags[0].window_start == T0 and flags[1].window_start == T0 + timedelta(hours=1)


async def test_registrations_from_one_address_in_an_hour():
    h = Harness(registrations_per_address_hour=4)
    async with h.stream.detect.test_context() as agent:
        await h.feed(
            agent,
            *[
                sig(signals.REGISTRATION, "addr:203.0.113.9", T0 + timedelta(minutes=m), f"r{m}", member_id=f"m{m}")
                for m in range(6)
            ],
        )
        await h.feed(
            agent, *[sig(signals.REGISTRATION, "addr:198.51.100.1", T0, f"o{m}", member_id=f"o{m}") for m in range(3)]
        )
        flags = h.by_rule(rules.REGISTRATIONS_ADDRESS)
        assert [f.subject for f in flags] == ["addr:203.0.113.9"]


async def test_employer_wave_far_above_its_usual_rate():
    h = Harness(employer_claims_min_per_day=3, employer_claims_factor=4.0, employer_baseline_days=10)

    def card_claim(i: int, at: datetime) -> Signal:
        return sig(signals.CARD_CLAIM, "card:K1", at, f"cc{i}", member_id=f"m{i}", claim_id=f"c{i}", nik="n")

    async with h.stream.detect.test_context() as agent:
        await h.feed(agent, sig(signals.CARD_EMPLOYER, "card:K1", T0 - timedelta(days=400), "reg", value="EMP1"))
        # One claim a day for the last five days: the usual rate is 0.5 a day over the 10-day baseline.
        await h.feed(agent, *[card_claim(100 + d, T0 - timedelta(days=d)) for d in range(1, 6)])
        assert h.by_rule(rules.EMPLOYER_CLAIM_WAVE) == []
        await h.feed(agent, *[card_claim(i, T0 + timedelta(minutes=i)) for i in range(5)])
        flags = h.by_rule(rules.EMPLOYER_CLAIM_WAVE)
        # limit = max(3, 4 x 0.5) = 3: the third, fourth and fifth claim of the day are flagged.
        assert [f.claim_id for f in flags] == ["c2", "c3", "c4"]
        assert flags[0].evidence["usual_per_day"] == 0.5 and flags[0].subject == "employer:EMP1"


async def test_translate_rekeys_events_by_subject_and_hashes_bank_accounts():
    from jmo_shared.events import (
        BankAccount,
        ClaimSubmitted,
        ContributionPosted,
        FaceMatchRefused,
        ProfileUpdated,
    )

    h = Harness()
    events = [
        ProfileUpdated(
            member_id="m1",
            nik="3174011501850001",
            update_id="u1",
            changed_fields=["bank_account"],
            data_update_completed=True,
            full_name="A",
            confirmed_at=T0,
            bank_account=BankAccount(bank_code="014", account_number="1234567890", account_name="A"),
            bank_account_changed=True,
        ),
        ClaimSubmitted(
            claim_id="c1",
            member_id="m1",
            nik="3174011501850001",
            kpj="11111111111",
            reason="resignation",
            document_ids=[],
            verification_id="v",
            submitted_at=T0,
            sla_due_at=T0,
        ),
        FaceMatchRefused(
            member_id="m1",
            nik="3174011501850001",
            purpose="claim",
            outcome="not_matched",
            client_address="203.0.113.9",
            refused_at=T0,
        ),
        ContributionPosted(kpj="11111111111", period="2026-01", wage_idr=1, employer_idr=1, worker_idr=1, posted_at=T0),
    ]
    async with h.stream.translate.test_context() as agent:
        for data in events:
            await agent.put(data.to_event("/test").to_bytes(), key=b"k")
    kinds = [(s.kind, s.key.split(":")[0]) for s in h.forwarded]
    assert kinds == [
        ("account_set", "member"),
        ("claim", "member"),
        ("card_claim", "card"),
        ("face_refusal", "nik"),
        ("face_refusal", "addr"),
    ]
    account = h.forwarded[0].value
    assert account and "1234567890" not in account and len(account) == 32


async def test_each_claim_gets_one_verdict_carrying_the_flags_of_both_hops():
    verdicts: list[tuple[str, list[str]]] = []

    async def verdict(claim_id: str, member_id: str, flags: list[dict]) -> None:
        verdicts.append((claim_id, sorted(f["rule"] for f in flags)))

    h = Harness(account_members_threshold=2)
    h.stream = build_stream(RiskSettings(account_members_threshold=2), h.sink, verdict, forward=h.forward)
    async with h.stream.detect.test_context() as agent:
        await h.feed(
            agent,
            account_set("a", "acc-x", T0 - timedelta(days=300)),
            account_set("b", "acc-old", T0 - timedelta(days=300)),
        )
        await h.feed(agent, account_set("b", "acc-x", T0, changed=True))
        await h.feed(agent, claim("a", "ca", T0 + timedelta(hours=1)))
        await h.feed(agent, claim("b", "cb", T0 + timedelta(hours=2)))
        await h.feed(agent, claim("nobody", "cn", T0))  # no account known: a verdict all the same
    assert verdicts == [
        ("ca", []),
        ("cb", [rules.ACCOUNT_CHANGED_BEFORE_CLAIM, rules.ACCOUNT_MANY_MEMBERS]),
        ("cn", []),
    ]


def test_a_deployed_worker_refuses_the_public_account_hash_key():
    with pytest.raises(RuntimeError):
        RiskSettings(environment="production").check_deployable()
    RiskSettings(environment="production", account_hash_key="a-real-secret").check_deployable()
    RiskSettings(environment="local").check_deployable()


async def test_flags_and_verdicts_go_under_the_claims_correlation_id():
    """A claim's trail keeps the id its submission was given: through translate, the account hop and
    the verdict (claims continues the claim on the verdict, so PayoutSent carries it too)."""
    from jmo_shared.events import ClaimSubmitted
    from jmo_shared.logging import correlation_id

    seen: list[tuple[str, str | None]] = []
    around = correlation_id.get()  # whatever the test's context holds: each signal's id is set and put back

    async def verdict(claim_id: str, member_id: str, flags: list[dict]) -> None:
        seen.append((f"verdict {claim_id}", correlation_id.get()))

    h = Harness(account_members_threshold=2)

    async def sink(flag: Flag) -> bool:
        seen.append((f"flag {flag.rule}", correlation_id.get()))
        return await h.sink(flag)

    h.stream = build_stream(RiskSettings(account_members_threshold=2), sink, verdict, forward=h.forward)
    submitted = ClaimSubmitted(
        claim_id="cb",
        member_id="b",
        nik="3174011501850001",
        kpj="11111111111",
        reason="resignation",
        document_ids=[],
        verification_id="v",
        submitted_at=T0 + timedelta(hours=2),
        sla_due_at=T0 + timedelta(days=5),
    ).to_event("/test", correlation_id="corr-of-the-claim")
    async with h.stream.translate.test_context() as agent:
        await agent.put(submitted.to_bytes(), key=b"b")
    claim_signal = next(s for s in h.forwarded if s.kind == signals.CLAIM)
    assert claim_signal.correlation_id == "corr-of-the-claim"
    h.forwarded.clear()  # fed below, in order

    async with h.stream.detect.test_context() as agent:
        await h.feed(
            agent,
            account_set("a", "acc-x", T0 - timedelta(days=300)),
            account_set("b", "acc-old", T0 - timedelta(days=300)),
        )
        await h.feed(agent, account_set("b", "acc-x", T0, changed=True))
        await h.feed(agent, claim("a", "ca", T0 + timedelta(hours=1)))  # a signal without a correlation id
        assert seen == [("verdict ca", None)]
        seen.clear()
        await h.feed(agent, claim_signal)
    assert seen == [
        (f"flag {rules.ACCOUNT_CHANGED_BEFORE_CLAIM}", "corr-of-the-claim"),
        (f"flag {rules.ACCOUNT_MANY_MEMBERS}", "corr-of-the-claim"),
        ("verdict cb", "corr-of-the-claim"),
    ]
    assert correlation_id.get() == around  # and nothing leaks past the signal
