"""The benchmarks' pure helpers: percentiles, /proc parsing, which processes are the stack, diffs."""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import date

import pytest

from jmo_local import stackstats
from jmo_local.bench import ClaimWatcher, Submission, claim_figures
from jmo_local.ingest_bench import (
    caught_up_at,
    contribution_events,
    drain_rate,
    expected_totals,
    ingest_members,
    periods_back,
    spread,
)
from jmo_local.stackstats import CpuSample, MachineCpu, ProcSample, Snapshot

STAT = (
    "2940 (python) S 2742 2940 2707 0 -1 4194560 52710 0 12 0 1234 567 0 0 20 0 5 0 2950 "
    "485052416 23090 18446744073709551615 1 1 0 0 0 0 0 16781312 16386 0 0 0 17 1 0 0 0 0 0"
)


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert stackstats.percentile(values, 50) == 50
    assert stackstats.percentile(values, 99) == 99
    assert stackstats.percentile(values, 100) == 100
    assert stackstats.percentile([3.0, 1.0, 2.0], 50) == 2
    assert stackstats.percentile([7.0], 99) == 7


def test_percentile_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError):
        stackstats.percentile([], 50)


def test_proc_stat_fields() -> None:
    stat = stackstats.parse_proc_stat(STAT)
    assert (stat.pid, stat.comm, stat.ppid) == (2940, "python", 2742)
    assert stat.cpu_ticks == 1234 + 567
    assert stat.starttime == 2950


def test_proc_stat_with_a_command_name_full_of_spaces_and_parentheses() -> None:
    stat = stackstats.parse_proc_stat(STAT.replace("(python)", "(a) b (c))"))
    assert stat.comm == "a) b (c)"
    assert stat.cpu_ticks == 1801 and stat.ppid == 2742


def test_vmrss() -> None:
    status = "Name:\tpython\nVmPeak:\t  500000 kB\nVmRSS:\t   94580 kB\nThreads:\t5\n"
    assert stackstats.parse_vmrss_kb(status) == 94580
    assert stackstats.parse_vmrss_kb("Name:\tkthreadd\n") == 0


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["/w/.venv/bin/python", "-m", "jmo_claims.entrypoints.worker"], "claims-worker"),
        (["/w/.venv/bin/python", "-m", "jmo_identity.entrypoints.api"], "identity-api"),
        (["/w/.venv/bin/python", "-m", "jmo_banksim.entrypoints.api"], "banksim"),
        (["/w/.venv/bin/python", "-m", "jmo_shared.together", "claims"], "claims"),
        (["/w/.venv/bin/python", "/w/.venv/bin/secantusd-py", "--config", "x.toml", "--port", "27017"], "secantusdb"),
        (["python3", "-c", "import secantus; secantus.serve()"], "secantusdb"),
        (["/usr/bin/java", "-Xmx512m", "-cp", "/k/libs/*", "kafka.Kafka", "server.properties"], "kafka"),
        (["/w/.venv/bin/python", "-m", "supervisor.supervisord", "-c", "s.conf"], "supervisord"),
        ([".venv/bin/python", "-m", "jmo_local.run"], "jmo_local.run"),
        ([".venv/bin/python", "-m", "jmo_local.bench"], None),
        ([".venv/bin/python", "-m", "pytest", "-q"], None),
        (["/usr/bin/java", "-jar", "other.jar"], None),
        ([], None),
    ],
)
def test_classify(argv: list[str], name: str | None) -> None:
    assert stackstats.classify(argv) == name


def test_only_the_processes_under_our_supervisord_count() -> None:
    candidates = {
        10: "jmo_local.run",
        11: "supervisord",
        12: "secantusdb",
        13: "claims-api",
        50: "secantusdb",
        51: "claims-api",
    }  # 50, 51: an e2e test run's look-alikes
    parents = {10: 1, 11: 10, 12: 11, 20: 11, 13: 20, 40: 1, 50: 40, 51: 40}
    assert stackstats.stack_members(candidates, parents, root=11) == {
        10: "jmo_local.run",
        11: "supervisord",
        12: "secantusdb",
        13: "claims-api",
    }
    assert stackstats.stack_members(candidates, parents, root=None) == candidates


def _snap(t: float, procs: dict, ops: dict | None = None, ends: dict | None = None) -> Snapshot:
    samples = {
        (pid, start): ProcSample(name, pid, start, ticks, rss) for (pid, start), (name, ticks, rss) in procs.items()
    }
    return Snapshot(t, 1000 + t, samples, ops, ends)


def test_diff_of_cpu_ops_offsets_and_rss() -> None:
    ops0 = dict(insert=10, query=20, update=30, delete=0, getmore=5, command=100)
    ops1 = dict(insert=15, query=26, update=40, delete=1, getmore=9, command=110)
    before = _snap(
        0,
        {(1, 7): ("secantusdb", 100, 1024), (2, 7): ("claims-worker", 50, 2048)},
        ops0,
        {("claims.events", 0): 10, ("claims.events", 1): 3},
    )
    after = _snap(
        10,
        {(1, 7): ("secantusdb", 400, 2048), (2, 7): ("claims-worker", 70, 2048)},
        ops1,
        {("claims.events", 0): 14, ("claims.events", 1): 3, ("new.topic", 0): 2},
    )
    d = stackstats.diff(before, after)
    ticks_ms = 1000 / stackstats.CLK_TCK
    assert d.seconds == 10
    assert d.cpu_ms_by_process == {"secantusdb": 300 * ticks_ms, "claims-worker": 20 * ticks_ms}
    assert d.db_ops == dict(insert=5, query=6, update=10, delete=1, getmore=4, command=9)  # one command is ours
    assert d.db_ops_total == 35
    assert d.kafka_by_topic == {"claims.events": 4, "new.topic": 2}
    assert d.rss_mb == 4.0
    assert not d.appeared and not d.vanished


def test_diff_takes_out_the_probes_own_commands() -> None:
    ops0 = dict.fromkeys(stackstats.OPCOUNTERS, 0)
    before = _snap(0, {}, ops0)
    after = _snap(300, {}, {**ops0, "command": 20})
    assert stackstats.diff(before, after).db_ops["command"] == 19  # no counts known: the later serverStatus
    before.own_commands, after.own_commands = 7, 13  # 5 keep-alive pings + the later serverStatus
    assert stackstats.diff(before, after).db_ops["command"] == 14
    assert stackstats.diff(before, after, own_commands=30).db_ops["command"] == 0


def test_diff_counts_a_restarted_process_whole_and_names_it() -> None:
    before = _snap(0, {(5, 100): ("payout-worker", 500, 0), (6, 100): ("banksim", 10, 0)})
    after = _snap(5, {(5, 900): ("payout-worker", 30, 0), (6, 100): ("banksim", 12, 0)})  # pid reused, new start
    d = stackstats.diff(before, after)
    assert d.cpu_ms_by_process["payout-worker"] == 30 * 1000 / stackstats.CLK_TCK
    assert d.appeared == ["payout-worker[5]"] and d.vanished == ["payout-worker[5]"]
    assert d.db_ops is None and d.kafka_by_topic is None


def test_report_lines_per_unit() -> None:
    before = _snap(0, {(1, 1): ("secantusdb", 0, 0)}, dict.fromkeys(stackstats.OPCOUNTERS, 0), {("t", 0): 0})
    after = _snap(
        2,
        {(1, 1): ("secantusdb", stackstats.CLK_TCK, 10240)},
        dict(insert=100, query=0, update=0, delete=0, getmore=0, command=1),
        {("t", 0): 40},
    )
    d = stackstats.diff(before, after)
    lines = stackstats.report_lines(d, 10, "claim")
    assert lines[0].startswith("CPU: 100.0 ms per claim")
    assert any("database operations: 10.00 per claim" in line for line in lines)
    assert any("Kafka messages: 4.000 per claim" in line for line in lines)
    assert stackstats.report_lines(d, 10, "claim", cpu_scale=1000)[0].startswith("CPU: 100,000.0 ms per 1,000 claims")
    assert stackstats.report_lines(d, 0, "claim")[0].startswith("no claims")
    assert d.to_json(10, "claim")["db_ops_per_unit"] == 10.0


PROC_STAT = """cpu  1000 20 300 5000 40 6 7 80 11 0
cpu0 500 10 150 2500 20 3 4 40 11 0
cpu1 500 10 150 2500 20 3 3 40 0 0
intr 123
"""


def test_machine_cpu_from_the_aggregate_line() -> None:
    # busy: user + nice + system + irq + softirq (guest is inside user already); idle: idle + iowait
    assert stackstats.parse_machine_cpu(PROC_STAT) == MachineCpu(busy=1333, steal=80, idle=5040)
    with pytest.raises(ValueError):
        stackstats.parse_machine_cpu("intr 1\n")


def test_diff_says_what_the_machine_spent_outside_the_stack() -> None:
    tick = stackstats.CLK_TCK
    before = _snap(0, {(1, 1): ("secantusdb", 0, 0)})
    after = _snap(2, {(1, 1): ("secantusdb", tick, 0)})  # one CPU-second in two seconds: 0.5 cores
    before.machine, after.machine = MachineCpu(0, 0, 0), MachineCpu(3 * tick, tick // 2, tick)
    d = stackstats.diff(before, after)
    assert d.machine_cores() == {"busy": 1.5, "outside_stack": 1.0, "steal": 0.25}
    assert d.to_json(1, "claim")["machine_cores"] == {"busy": 1.5, "outside_stack": 1.0, "steal": 0.25}
    assert any(line.startswith("the machine: 1.50 of ") for line in stackstats.report_lines(d, 1, "claim"))
    assert stackstats.diff(_snap(0, {}), _snap(2, {})).machine_cores() is None  # no /proc/stat read


def test_busiest_window_is_the_peak_of_the_machine_not_the_average() -> None:
    tick = stackstats.CLK_TCK
    # One sample a second: the machine busy 0.5 cores, then 2 cores from 3 s to 8 s, then 0.5 again.
    rates = [0.5, 0.5, 0.5, 2, 2, 2, 2, 2, 0.5, 0.5, 0.5]
    samples, machine, db = [], 0.0, 0.0
    for second, rate in enumerate([0.0, *rates]):
        machine += rate * tick
        db += min(rate, 1) * tick  # the database at most one core
        samples.append(CpuSample(float(second), MachineCpu(int(machine), 0, 0), {"secantusdb": int(db)}))
    peak = stackstats.busiest_window(samples, seconds=5)
    assert peak is not None
    assert peak["starts_after_s"] == 3 and peak["seconds"] == 5
    assert peak["machine_cores_busy"] == pytest.approx(2.0, abs=0.01)
    assert peak["cores_busy_by_process"] == {"secantusdb": pytest.approx(1.0, abs=0.01)}
    assert peak["stack_cores_busy"] == pytest.approx(1.0, abs=0.01)
    assert stackstats.busiest_window(samples[:3], seconds=5) is None  # shorter than one window


def test_prometheus_text() -> None:
    text = (
        "# HELP consumer_lag x\n# TYPE consumer_lag gauge\n"
        'consumer_lag{group="jmo.balance.ledger",partition="3",topic="core.membership.events"} 191.0\n'
        "outbox_backlog 0.0\n"
        'odd{a="with \\"quotes\\" and, commas"} 2\n'
    )
    samples = stackstats.parse_metrics(text)
    assert samples[0] == (
        "consumer_lag",
        {"group": "jmo.balance.ledger", "partition": "3", "topic": "core.membership.events"},
        191.0,
    )
    assert samples[1] == ("outbox_backlog", {}, 0.0)
    assert samples[2][2] == 2.0
    busy = stackstats.gauges_busy({"balance-worker": samples[:2]})
    assert busy == ["balance-worker:consumer_lag{jmo.balance.ledger/core.membership.events}=191"]


def test_group_lag() -> None:
    ends = {("a", 0): 10, ("a", 1): 5, ("b", 0): 7}
    committed = {"g1": {("a", 0): 10, ("a", 1): 2}, "g2": {("b", 0): 7}, "g3": {}}
    assert stackstats.group_lag(ends, committed) == {"g1": 3, "g2": 0, "g3": 0}


def _watcher_with(events: list[tuple[str, str, float | None, float]]) -> ClaimWatcher:
    watcher = ClaimWatcher("unused:9092")
    for claim_id, status, at, received in events:
        data = {"claim_id": claim_id, "member_id": "m", "status": status}
        if at is not None:
            data["at"] = f"1970-01-01T00:00:{at:06.3f}+00:00"
        watcher.on_message(json.dumps({"type": "jht.claims.ClaimStatusChanged.v1", "data": data}).encode(), received)
    return watcher


def test_claim_figures_from_the_status_events() -> None:
    watcher = _watcher_with(
        [
            ("c1", "SUBMITTED", 10.5, 10.6),
            ("c1", "PAID", 12.0, 12.1),
            ("c2", "PAID", None, 14.0),  # no `at`: the receive time counts
            ("c3", "REJECTED", 11.0, 11.2),
            ("c1", "PAID", 30.0, 30.0),  # a redelivered PAID does not move the first one
        ]
    )
    subs = [
        Submission(0, 0.0, sent_wall=10.0, sent_mono=1.0, status=202, claim_id="c1"),
        Submission(1, 0.5, sent_wall=10.5, sent_mono=1.5, status=202, claim_id="c2"),
        Submission(2, 1.0, sent_wall=11.0, sent_mono=2.0, status=202, claim_id="c3"),
        Submission(3, 1.5, sent_wall=11.5, sent_mono=2.5, status=422, error='{"code":"x"}'),
        Submission(4, 2.0, sent_wall=12.0, sent_mono=3.0, status=202, claim_id="c4"),
    ]
    f = claim_figures(subs, watcher)
    assert (f["submitted"], f["accepted"], f["paid"]) == (5, 4, 2)
    assert f["refused"] == {"422": 1}
    assert f["outcomes"] == {"PAID": 2, "REJECTED": 1, "no terminal status": 1}
    assert f["submit_to_paid_ms_max"] == 3500  # c2: 14.0 - 10.5
    assert f["first_submit_to_last_paid_s"] == 4.0  # 10.0 .. 14.0
    assert f["sustained_claims_per_s"] == 0.5
    assert watcher.terminal == {"c1": "PAID", "c2": "PAID", "c3": "REJECTED"}


def test_ingest_periods_spread_and_totals() -> None:
    assert periods_back(date(2026, 2, 15), 3) == ["2025-11", "2025-12", "2026-01"]
    assert spread(10, 4) == [3, 3, 2, 2] and sum(spread(100_000, 5000)) == 100_000
    members = ingest_members(3, date(2026, 2, 15), seed=7)
    events = contribution_events(members, [2, 1, 1], date(2026, 2, 15))
    assert len(events) == 4
    assert len({(e.kpj, e.period) for e in events}) == 4  # no duplicates
    assert [e.period for e in events if e.kpj == members[1].cards[0].kpj] == ["2026-01"]
    totals = expected_totals(events)
    card = members[0].cards[0]
    assert totals[card.kpj] == 2 * (card.wage_idr * 37 // 1000 + card.wage_idr * 2 // 100)


def test_caught_up_and_drain_rate() -> None:
    assert caught_up_at([(0, 5), (2, 3), (4, 0), (6, 1), (8, 0), (10, 0)]) == 8
    assert caught_up_at([(0, 5), (2, 3)]) is None  # still behind
    assert caught_up_at([(0, 0), (2, 0)]) == 0
    assert drain_rate([(0, 100), (2, 150), (4, 200), (6, 200)], start=0, until=4) == 25
    assert drain_rate([(0, 100)], start=0, until=None) is None


async def test_an_expired_token_is_renewed_once() -> None:
    from jmo_local.ingest_bench import authed
    from jmo_local.journey import JourneyError

    class Member:
        logins = 0
        answers = [JourneyError("GET /v1/balance -> 401: token_expired"), {"cards": []}]

        async def login(self) -> None:
            self.logins += 1

        async def balance(self):
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer

    member = Member()
    assert await authed(member, member.balance) == {"cards": []}
    assert member.logins == 1
    member.answers = [JourneyError("GET /v1/balance -> 500: boom")]
    with pytest.raises(JourneyError):
        await authed(member, member.balance)


def test_command_breakdown_ranks_what_each_process_sent_per_unit():
    before = {
        ("claims-api", "insert", "claims"): 10.0,
        ("claims-worker", "getMore", "outbox"): 100.0,
        ("payout-worker", "find", "payouts"): 4.0,
    }
    after = {
        ("claims-api", "insert", "claims"): 30.0,
        ("claims-worker", "getMore", "outbox"): 100.0,  # nothing sent: left out
        ("payout-worker", "find", "payouts"): 64.0,
        ("payout-worker", "commitTransaction", ""): 20.0,  # new since `before`
    }
    ranked = stackstats.command_breakdown(before, after, units=10, top=2)
    assert ranked == [(("payout-worker", "find", "payouts"), 6.0), (("claims-api", "insert", "claims"), 2.0)]
    assert stackstats.command_breakdown(before, after, units=0) == []
    lines = stackstats.command_lines(stackstats.command_breakdown(before, after, units=10), "claim")
    assert lines[0] == "database commands the services sent, per claim (the largest):"
    assert "commitTransaction" in lines[3] and " - " in lines[3] and lines[3].endswith("2.00")


def test_conflicts_and_errors_are_listed_below_the_largest_whatever_their_rank():
    after = {
        ("claims-api", "insert", "claims"): 30.0,
        ("claims-api", "update", "claims"): 20.0,
        ("claims-api", "tx retried", ""): 3.0,
        ("claims-api", "failed update", "WriteConflict"): 3.0,
    }
    ranked = stackstats.command_breakdown({}, after, units=10, top=1)
    assert [key for key, _ in ranked] == [
        ("claims-api", "insert", "claims"),
        ("claims-api", "failed update", "WriteConflict"),
        ("claims-api", "tx retried", ""),
    ]


def test_command_counts_reads_commands_failures_and_retries_from_each_process():
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    body = (
        b'mongo_commands_total{command="update",collection="claims"} 7.0\n'
        b'mongo_command_failures_total{command="update",collection="claims",code="WriteConflict"} 2.0\n'
        b"mongo_transaction_retries_total 2.0\n"
        b"process_cpu_seconds_total 1.5\n"
    )

    class Metrics(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Metrics)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/metrics"
        counts = asyncio.run(stackstats.command_counts({"claims-api": url}))
    finally:
        server.shutdown()
    assert counts == {
        ("claims-api", "update", "claims"): 7.0,
        ("claims-api", "failed update", "claims WriteConflict"): 2.0,
        ("claims-api", "tx retried", ""): 2.0,
    }


def test_cpu_sampler_reads_this_process_and_the_machine() -> None:
    async def burn() -> list[CpuSample]:
        sampler = stackstats.CpuSampler({os.getpid(): "this-test"}, interval=0.05)
        sampler.start()
        until = time.monotonic() + 0.3
        while time.monotonic() < until:
            sum(range(10_000))
            await asyncio.sleep(0)
        await sampler.stop()
        return sampler.samples

    samples = asyncio.run(burn())
    assert len(samples) >= 4
    assert samples[-1].ticks_by_process["this-test"] > samples[0].ticks_by_process["this-test"]
    assert samples[-1].machine.busy > samples[0].machine.busy


def _histogram(command: str, counts: dict[str, float]) -> list[tuple[str, dict[str, str], float]]:
    return [("mongo_command_seconds_bucket", {"command": command, "le": le}, n) for le, n in counts.items()]


def test_database_answer_times_are_summed_over_the_processes_and_read_between_two_scrapes() -> None:
    text = 'mongo_command_seconds_bucket{command="find",le="0.005"} 3.0\nmongo_command_seconds_bucket{command="find",le="+Inf"} 4.0\n'
    assert stackstats.parse_metrics(text)[1] == ("mongo_command_seconds_bucket", {"command": "find", "le": "+Inf"}, 4.0)
    before = stackstats.command_latency_of(
        {
            "claims": _histogram("find", {"0.001": 10, "0.01": 10, "0.1": 10, "+Inf": 10}),
            "payout": _histogram("find", {"0.001": 0, "0.01": 0, "0.1": 0, "+Inf": 0}),
        }
    )
    after = stackstats.command_latency_of(
        {
            # 100 more finds between the scrapes: 60 within 1 ms, 38 more within 10 ms, 2 within 100 ms
            "claims": _histogram("find", {"0.001": 50, "0.01": 70, "0.1": 71, "+Inf": 71})
            + _histogram("commitTransaction", {"0.001": 0, "0.01": 0, "0.1": 1, "+Inf": 2}),
            "payout": _histogram("find", {"0.001": 20, "0.01": 38, "0.1": 39, "+Inf": 39}),
        }
    )
    rows = stackstats.command_latency(before, after)
    assert rows[0] == {"command": "find", "answers": 100, "p50_s_at_most": 0.001, "p99_s_at_most": 0.1}
    assert rows[1] == {
        "command": "commitTransaction",
        "answers": 2,
        "p50_s_at_most": 0.1,
        "p99_s_at_most": float("inf"),
    }
    lines = stackstats.latency_lines(rows)
    assert "p50 at most    1.0 ms" in lines[1] and "p99 at most over 5 s" in lines[2]
    assert stackstats.command_latency(after, after) == []  # nothing answered in between
