"""The generated configuration and command lines (no servers started)."""

from __future__ import annotations

import base64
import socket
from pathlib import Path

import pytest

from jmo_local import ports as ports_module
from jmo_local.kafka import DEFAULT_HEAP, KafkaNode, new_cluster_id, server_properties
from jmo_local.mongo import SecantusNode
from jmo_local.ports import free_port, free_ports
from jmo_local.proc import error_lines, tail
from jmo_local.topics import _raise_on_errors


def _parse(properties: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in properties.splitlines() if line and not line.startswith("#"))
    return {key: value for key, value in pairs}


def test_server_properties_describe_a_single_node_kraft_cluster(tmp_path: Path) -> None:
    props = _parse(server_properties("127.0.0.1", 19092, 19093, tmp_path / "logs"))
    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["log.dirs"] == str(tmp_path / "logs")
    assert props["auto.create.topics.enable"] == "false"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["num.partitions"] == "1"
    for key in (
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "min.insync.replicas",
    ):
        assert props[key] == "1", key


def test_cluster_ids_look_like_kafkas() -> None:
    ids = {new_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    for cluster_id in ids:
        assert len(cluster_id) == 22 and not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_cluster_id_is_kept_in_the_data_dir(tmp_path: Path) -> None:
    first = KafkaNode(tmp_path, 1, 2, libs_dir=tmp_path / "libs").cluster_id()
    assert KafkaNode(tmp_path, 3, 4, libs_dir=tmp_path / "libs").cluster_id() == first
    assert (tmp_path / "cluster.id").read_text().strip() == first


def test_formatted_storage_wins_over_the_cluster_id_file(tmp_path: Path) -> None:
    node = KafkaNode(tmp_path, 1, 2, libs_dir=tmp_path / "libs")
    node.log_dirs.mkdir(parents=True)
    (node.log_dirs / "meta.properties").write_text("version=1\ncluster.id=AAAAAAAAAAAAAAAAAAAAAA\nnode.id=1\n")
    (tmp_path / "cluster.id").write_text("BBBBBBBBBBBBBBBBBBBBBB\n")
    assert node.cluster_id() == "AAAAAAAAAAAAAAAAAAAAAA"


def test_kafka_command_runs_the_broker_with_a_small_heap_and_file_logging(tmp_path: Path) -> None:
    node = KafkaNode(tmp_path, 1, 2, libs_dir=tmp_path / "libs")
    command = node.broker_command()  # command() would also format the storage
    assert command[-2:] == ["kafka.Kafka", str(tmp_path / "server.properties")]
    assert all(flag in command for flag in DEFAULT_HEAP)
    assert any(arg.startswith("-Dlog4j2.configurationFile=") and arg.endswith("log4j2.xml") for arg in command)
    assert f"-Dkafka.logs.dir={tmp_path / 'logs'}" in command


def test_secantus_command_syncs_every_commit_and_runs_without_the_ttl_sweep(tmp_path: Path) -> None:
    node = SecantusNode(tmp_path, 27999)
    command = node.command()
    assert "--sync-on-commit" in command
    assert command[command.index("-m") + 1] == "jmo_local.secantusd"
    assert float(command[command.index("--ttl-sweep-seconds") + 1]) == 0
    assert command[command.index("--storage-path") + 1] == str(tmp_path / "db")
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert command[command.index("--port") + 1] == "27999"
    assert float(command[command.index("--transaction-lifetime-seconds") + 1]) == 60, "mongod's default"
    short = SecantusNode(tmp_path, 27999, transaction_lifetime_seconds=8).command()
    assert float(short[short.index("--transaction-lifetime-seconds") + 1]) == 8


def test_secantusd_takes_the_transaction_lifetime_from_its_command_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from jmo_local import secantusd

    built: dict[str, object] = {}

    class Server:
        def __init__(self, **kwargs: object) -> None:
            built.update(kwargs)

        def start(self) -> None:
            pass

        def wait(self) -> None:
            pass

    monkeypatch.setattr(secantusd, "SecantusDBServer", Server)
    monkeypatch.setattr(secantusd.signal, "signal", lambda *args: None)
    secantusd.main(["--storage-path", str(tmp_path), "--transaction-lifetime-seconds", "8"])
    assert built["transaction_lifetime_seconds"] == 8.0
    assert built["ttl_sweep_seconds"] == 0.0


def test_secantus_uri_connects_directly_without_retryable_writes(tmp_path: Path) -> None:
    assert SecantusNode(tmp_path, 27999).uri() == "mongodb://127.0.0.1:27999/?directConnection=true&retryWrites=false"


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = free_ports(5)
    assert len(set(ports)) == 5
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port()))


def test_free_ports_stay_out_of_the_ephemeral_range_and_skip_ports_in_use(monkeypatch: pytest.MonkeyPatch) -> None:
    low, high = (int(v) for v in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    assert not [p for p in free_ports(40) if low <= p <= high]
    first, second = free_ports(2)
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)  # the whole (patched) range, not a worker's slice
    monkeypatch.setattr(ports_module, "_PICK_RANGE", (min(first, second), max(first, second)))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", first))
        taken.listen()
        picked = free_ports(1)
        assert picked != [first]
        with pytest.raises(RuntimeError, match="fewer than"):
            free_ports(abs(second - first) + 2)


def test_test_workers_side_by_side_pick_from_slices_that_do_not_overlap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "3")
    slices = []
    for worker in ("gw0", "gw1", "gw2"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        low, high = ports_module._pick_range()
        assert all(low <= p <= high for p in free_ports(20)), worker
        slices.append(range(low, high + 1))
    assert not set(slices[0]) & set(slices[1]) and not set(slices[1]) & set(slices[2])
    assert slices[0].start == ports_module._PICK_RANGE[0] and slices[2].stop - 1 <= ports_module._PICK_RANGE[1]


def test_create_topics_accepts_already_exists_but_not_other_errors() -> None:
    class Response:
        def __init__(self, errors: list[tuple[str, int, str | None]]) -> None:
            self.topic_errors = errors

    _raise_on_errors(Response([("a", 0, None), ("b", 36, "Topic 'b' already exists.")]))
    with pytest.raises(RuntimeError, match="c: error 37"):
        _raise_on_errors(Response([("c", 37, "Number of partitions is below 1.")]))


def test_error_lines_pick_the_cause_out_of_a_shutdown_tail(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text(
        "[t] INFO starting (x)\n"
        "[t] ERROR Unable to start acceptor for PLAINTEXT (y)\n"
        "org.apache.kafka.common.KafkaException: Socket server failed to bind: Address already in use.\n"
        "\tat somewhere\n" + "[t] INFO shutting down (z)\n" * 100
    )
    assert "Address already in use" in error_lines(log)
    assert "Address already in use" not in tail(log, 20)
