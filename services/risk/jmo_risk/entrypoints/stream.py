"""The risk stream on faust-streaming: records, topics, tables, windows and agents, side by side.

Two agents. `translate` reads the other services' events (CloudEvents JSON) and publishes what the
rules need as signals on the signals topic, keyed by the subject each rule counts (docs/adr/0004):
every table below is then co-partitioned with that topic, and faust's changelog topics let a
restarted worker recover them. `detect` reads the signals, updates the tables and asks the rules
(domain/rules.py) for a flag; a flag goes to `sink` (stored with its RiskFlagged event in one
transaction, by a deterministic id: a replay never flags twice).

Topics are never declared by faust (`topic_allow_declare=False`): they are created up front with
their partition counts (jmo_shared.topics.risk_stream_topics). Nothing runs at import.
"""

from __future__ import annotations

import ssl
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import faust

from jmo_shared.events import CloudEvent
from jmo_shared.logging import correlation_id, get_logger
from jmo_shared.topics import (
    CLAIMS_EVENTS,
    CORE_MEMBERSHIP,
    IDENTITY_EVENTS,
    PARTNER_BANKS,
    PROFILE_EVENTS,
    RISK_APP_ID,
    RISK_SIGNALS,
    bank_topic,
)

from ..adapters.metrics import (
    EVALUATIONS,
    EVENTS_SKIPPED,
    FLAGS,
    FLAGS_REPEATED,
    SIGNALS,
)
from ..domain import rules, signals
from ..domain.rules import DAY, HOUR, Flag, RiskPolicy
from ..settings import RiskSettings

log = get_logger(__name__)

# The event types the rules read; every other message is skipped before it is parsed.
WANTED = frozenset(
    {
        "jht.claims.ClaimSubmitted.v1",
        "jht.profile.ProfileUpdated.v1",
        "jht.payout.PayoutSent.v1",
        "jht.core.MemberRegistered.v1",
        "jht.identity.FaceMatchRefused.v1",
        "jht.identity.AccountRegistered.v1",
    }
)
PARTITIONS = 6

FlagSink = Callable[[Flag], Awaitable[bool]]
# A claim's verdict: claim id, member id, the flags raised for it ({flag_id, rule, evidence}).
VerdictSink = Callable[[str, str, list[dict]], Awaitable[None]]


class Signal(faust.Record, serializer="json"):
    kind: str
    key: str
    ts: float  # the source event's own time (epoch seconds): windows follow it, so a replay lands alike
    event_id: str
    member_id: str | None = None
    nik: str | None = None
    claim_id: str | None = None
    value: str | None = None
    changed: bool = False
    # A claim's flags raised on an earlier hop, carried to the hop that gives its verdict.
    flags: list[dict] | None = None
    # The source event's correlation id: the flags and verdicts it leads to carry it on, so a claim's
    # trail (logs, events, PayoutSent) keeps the id its submission was given.
    correlation_id: str | None = None


def _signal(s: signals.SignalData, cid: str | None = None) -> Signal:
    at = s.at if s.at.tzinfo else s.at.replace(tzinfo=UTC)
    return Signal(
        kind=s.kind,
        key=s.key,
        ts=at.timestamp(),
        event_id=s.event_id,
        member_id=s.member_id,
        nik=s.nik,
        claim_id=s.claim_id,
        value=s.value,
        changed=s.changed,
        correlation_id=cid,
    )


def _in_window(windowed: Any, key: str, ts: float) -> list[str]:
    """The value of `key` in the window holding `ts` (faust's `.current()`/`.delta()` go by the message's
    timestamp, not by the field the table is relative to: the signal's own time is what counts here)."""
    return list(windowed.table._windowed_timestamp(key, ts) or [])


def _at(signal: Signal) -> datetime:
    return datetime.fromtimestamp(signal.ts, UTC)


@dataclass
class RiskStream:
    app: faust.App
    translate: Any
    translate_banks: Any
    detect: Any
    signals: Any
    tables: dict[str, Any]


def _credentials(settings: RiskSettings) -> Any:
    if settings.kafka_security_protocol.upper() == "PLAINTEXT":
        return None
    context = ssl.create_default_context(cafile=settings.kafka_ssl_cafile)
    password = settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else ""
    return faust.SASLCredentials(
        username=settings.kafka_sasl_username or "",
        password=password,
        mechanism=settings.kafka_sasl_mechanism,
        ssl_context=context,
    )


def build_stream(
    settings: RiskSettings,
    sink: FlagSink,
    verdict: VerdictSink | None = None,
    forward: Callable[[Signal], Awaitable[None]] | None = None,
) -> RiskStream:
    """The faust app with its topics, tables and agents. `forward` replaces the signals topic (unit tests).

    `verdict` is told each claim's verdict once the bank-account rules (the ones that decide before
    payment) have looked at it; the employer rule's flags may come later and still stop a claim not yet
    approved for payment.
    """
    policy: RiskPolicy = settings.policy()
    account_key = settings.account_hash_key.get_secret_value().encode()
    app = faust.App(
        settings.app_id,
        broker=[f"kafka://{server.strip()}" for server in settings.kafka_bootstrap_servers.split(",")],
        broker_credentials=_credentials(settings),
        datadir=settings.stream_data_dir or f"{tempfile.gettempdir()}/{settings.app_id}-data",
        store="memory://",  # tables live in memory and are rebuilt from their changelogs on start
        web_enabled=False,  # the worker's /healthz, /readyz and /metrics are the shared uvicorn app's
        autodiscover=False,
        topic_allow_declare=False,
        topic_disable_leader=True,
        topic_partitions=PARTITIONS,
        topic_replication_factor=1,
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        table_cleanup_interval=60.0,
    )

    # --- topics --------------------------------------------------------------------------------------
    sources = app.topic(
        IDENTITY_EVENTS, PROFILE_EVENTS, CLAIMS_EVENTS, CORE_MEMBERSHIP, key_serializer="raw", value_serializer="raw"
    )
    # The banks' topics have 3 partitions: their own agent, so faust co-partitions nothing across them.
    bank_sources = app.topic(
        *(bank_topic(code) for code in PARTNER_BANKS), key_serializer="raw", value_serializer="raw"
    )
    signals_name = RISK_SIGNALS if settings.app_id == RISK_APP_ID else f"{settings.app_id}.signals"
    signal_topic = app.topic(signals_name, key_type=str, value_type=Signal, partitions=PARTITIONS)

    # --- tables (each with its changelog topic <app id>-<name>-changelog) ----------------------------
    member_accounts = app.Table("member_accounts", partitions=PARTITIONS)  # member -> {account, changed_at}
    account_members = app.Table("account_members", partitions=PARTITIONS)  # account -> {member: last at}
    card_employers = app.Table("card_employers", partitions=PARTITIONS)  # kpj -> employer id
    # --- windowed tables (by the signal's own time) -------------------------------------------------
    employer_claims = (
        app.Table("employer_claims", default=list, partitions=PARTITIONS)
        .tumbling(DAY, expires=timedelta(days=policy.employer_baseline_days + 2))
        .relative_to_field(Signal.ts)
    )
    face_refusals = (
        app.Table("face_refusals", default=list, partitions=PARTITIONS)
        .tumbling(HOUR, expires=timedelta(hours=3))
        .relative_to_field(Signal.ts)
    )
    registrations = (
        app.Table("registrations", default=list, partitions=PARTITIONS)
        .tumbling(HOUR, expires=timedelta(hours=3))
        .relative_to_field(Signal.ts)
    )

    async def send_signal(signal: Signal) -> None:
        await signal_topic.send(key=signal.key, value=signal)

    emit_signal = forward or send_signal

    async def translate_one(raw: bytes | None, topic: str) -> None:
        if raw is None:
            return
        try:
            event = CloudEvent.from_bytes(raw)
        except ValueError:
            EVENTS_SKIPPED.labels(topic).inc()
            return
        if event.type not in WANTED:
            return
        try:
            found = signals.signals_of(event, account_key)
        except ValueError as exc:  # an event that does not match its schema: nothing to count
            log.warning("risk_event_unreadable", event_id=event.id, type=event.type, error=str(exc))
            return
        for s in found:
            await emit_signal(_signal(s, event.correlationid))

    # --- agents --------------------------------------------------------------------------------------
    @app.agent(sources, name="translate")
    async def translate(stream: Any) -> None:
        async for event in stream.events():
            await translate_one(event.value, event.message.topic)

    @app.agent(bank_sources, name="translate_banks")
    async def translate_banks(stream: Any) -> None:
        async for event in stream.events():
            await translate_one(event.value, event.message.topic)

    async def flagged(flag: Flag | None) -> list[dict]:
        if flag is None:
            return []
        if await sink(flag):
            FLAGS.labels(flag.rule).inc()
            log.info("risk_flagged", rule=flag.rule, flag_id=flag.flag_id, claim_id=flag.claim_id)
        else:
            FLAGS_REPEATED.labels(flag.rule).inc()
        return [{"flag_id": flag.flag_id, "rule": flag.rule, "evidence": flag.evidence}]

    async def screened(s: Signal, flags: list[dict]) -> None:
        if verdict is not None and s.claim_id and s.member_id:
            await verdict(s.claim_id, s.member_id, flags)

    async def on_signal(s: Signal) -> None:
        # Flags, verdicts and log lines of this signal go under its source event's correlation id.
        token = correlation_id.set(s.correlation_id)
        try:
            await apply_signal(s)
        finally:
            correlation_id.reset(token)

    async def apply_signal(s: Signal) -> None:
        SIGNALS.labels(s.kind).inc()
        at = _at(s)
        if s.kind == signals.ACCOUNT_SET:
            member_accounts[s.key] = rules.member_account(member_accounts.get(s.key), s.value or "", s.changed, at)
        elif s.kind == signals.CLAIM:
            state = member_accounts.get(s.key)
            EVALUATIONS.labels(rules.ACCOUNT_CHANGED_BEFORE_CLAIM).inc()
            raised = await flagged(
                rules.account_changed_before_claim(policy, state, s.member_id or "", at, s.claim_id or "", s.nik)
            )
            if state and state.get("account"):
                await emit_signal(
                    Signal(
                        kind=signals.ACCOUNT_CLAIM,
                        key=f"account:{state['account']}",
                        ts=s.ts,
                        event_id=s.event_id,
                        member_id=s.member_id,
                        nik=s.nik,
                        claim_id=s.claim_id,
                        value=state["account"],
                        flags=raised,
                        correlation_id=s.correlation_id,
                    )
                )
            else:
                await screened(s, raised)  # no account known: the account rule has nothing to count
        elif s.kind in (signals.ACCOUNT_CLAIM, signals.ACCOUNT_CREDIT):
            EVALUATIONS.labels(rules.ACCOUNT_MANY_MEMBERS).inc()
            seen, flag = rules.account_members(
                policy, account_members.get(s.key), s.value or "", s.member_id or "", at, s.claim_id, s.nik
            )
            account_members[s.key] = seen
            raised = await flagged(flag)
            if s.kind == signals.ACCOUNT_CLAIM:
                await screened(s, [*(s.flags or []), *raised])
        elif s.kind == signals.CARD_EMPLOYER:
            card_employers[s.key] = s.value
        elif s.kind == signals.CARD_CLAIM:
            employer = card_employers.get(s.key)
            if employer:
                await emit_signal(
                    Signal(
                        kind=signals.EMPLOYER_CLAIM,
                        key=f"employer:{employer}",
                        ts=s.ts,
                        event_id=s.event_id,
                        member_id=s.member_id,
                        nik=s.nik,
                        claim_id=s.claim_id,
                        value=employer,
                        correlation_id=s.correlation_id,
                    )
                )
        elif s.kind == signals.EMPLOYER_CLAIM:
            EVALUATIONS.labels(rules.EMPLOYER_CLAIM_WAVE).inc()
            day = DAY.total_seconds()
            previous = [
                len(_in_window(employer_claims, s.key, s.ts - d * day))
                for d in range(1, policy.employer_baseline_days + 1)
            ]
            ids, flag = rules.employer_wave(
                policy,
                s.value or "",
                _in_window(employer_claims, s.key, s.ts),
                previous,
                s.claim_id or "",
                s.member_id or "",
                s.nik,
                at,
            )
            employer_claims[s.key] = ids
            await flagged(flag)
        elif s.kind == signals.FACE_REFUSAL:
            by_nik = s.key.startswith("nik:")
            rule = rules.FACE_REFUSALS_NIK if by_nik else rules.FACE_REFUSALS_ADDRESS
            threshold = policy.face_refusals_per_nik_hour if by_nik else policy.face_refusals_per_address_hour
            EVALUATIONS.labels(rule).inc()
            ids, flag = rules.burst(
                rule,
                s.key,
                _in_window(face_refusals, s.key, s.ts),
                s.event_id,
                threshold,
                at,
                member_id=s.member_id if by_nik else None,
                nik=s.nik if by_nik else None,
            )
            face_refusals[s.key] = ids
            await flagged(flag)
        elif s.kind == signals.REGISTRATION:
            EVALUATIONS.labels(rules.REGISTRATIONS_ADDRESS).inc()
            ids, flag = rules.burst(
                rules.REGISTRATIONS_ADDRESS,
                s.key,
                _in_window(registrations, s.key, s.ts),
                s.member_id or s.event_id,
                policy.registrations_per_address_hour,
                at,
            )
            registrations[s.key] = ids
            await flagged(flag)

    @app.agent(signal_topic, name="detect")
    async def detect(stream: Any) -> None:
        async for signal in stream:
            await on_signal(signal)

    return RiskStream(
        app=app,
        translate=translate,
        translate_banks=translate_banks,
        detect=detect,
        signals=signal_topic,
        tables={
            "member_accounts": member_accounts,
            "account_members": account_members,
            "card_employers": card_employers,
            "employer_claims": employer_claims,
            "face_refusals": face_refusals,
            "registrations": registrations,
        },
    )
