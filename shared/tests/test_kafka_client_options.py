"""How a service's Kafka clients connect: settings -> aiokafka keyword arguments (no broker here)."""

from __future__ import annotations

import ssl

import pytest
from aiokafka import AIOKafkaConsumer

from jmo_shared.consumer import IdempotentConsumer
from jmo_shared.kafka import KafkaProbe, client_options, make_producer
from jmo_shared.settings import ServiceSettings


def _settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> ServiceSettings:
    for name in (
        "KAFKA_SECURITY_PROTOCOL",
        "KAFKA_SASL_MECHANISM",
        "KAFKA_SASL_USERNAME",
        "KAFKA_SASL_PASSWORD",
        "KAFKA_SSL_CAFILE",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return ServiceSettings()


def test_plaintext_by_default_adds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    assert client_options(_settings(monkeypatch)) == {}


def test_sasl_plaintext_carries_the_service_user(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(
        monkeypatch,
        KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
        KAFKA_SASL_USERNAME="claims-kafka",
        KAFKA_SASL_PASSWORD="s3cret",
    )
    assert client_options(settings) == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "claims-kafka",
        "sasl_plain_password": "s3cret",
    }
    assert "s3cret" not in repr(settings)


def test_sasl_ssl_verifies_the_brokers(monkeypatch: pytest.MonkeyPatch) -> None:
    options = client_options(
        _settings(
            monkeypatch,
            KAFKA_SECURITY_PROTOCOL="sasl_ssl",
            KAFKA_SASL_USERNAME="payout-kafka",
            KAFKA_SASL_PASSWORD="s3cret",
        )
    )
    assert options["security_protocol"] == "SASL_SSL"
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_a_cafile_that_is_not_there_stops_the_start(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    settings = _settings(
        monkeypatch,
        KAFKA_SECURITY_PROTOCOL="SASL_SSL",
        KAFKA_SASL_USERNAME="u",
        KAFKA_SASL_PASSWORD="p",
        KAFKA_SSL_CAFILE=str(tmp_path / "missing.crt"),
    )
    with pytest.raises(OSError):
        client_options(settings)


@pytest.mark.parametrize(
    "env",
    [
        {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"},
        {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_USERNAME": "u"},
        {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_PASSWORD": "p"},
        {
            "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "KAFKA_SASL_USERNAME": "u",
            "KAFKA_SASL_PASSWORD": "p",
            "KAFKA_SASL_MECHANISM": "GSSAPI",
        },
        {"KAFKA_SECURITY_PROTOCOL": "TLS"},
    ],
)
def test_settings_that_cannot_connect_are_refused_at_start(monkeypatch: pytest.MonkeyPatch, env: dict) -> None:
    with pytest.raises(ValueError):
        client_options(_settings(monkeypatch, **env))


async def test_every_long_lived_client_takes_the_options(monkeypatch: pytest.MonkeyPatch) -> None:
    options = client_options(
        _settings(
            monkeypatch,
            KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
            KAFKA_SASL_USERNAME="helpdesk-kafka",
            KAFKA_SASL_PASSWORD="p",
        )
    )

    def connects_as_the_user(client) -> bool:
        return (client._security_protocol, client._sasl_mechanism, client._sasl_plain_username) == (
            "SASL_PLAINTEXT",
            "SCRAM-SHA-512",
            "helpdesk-kafka",
        )

    producer = make_producer("broker:9092", "test", options)
    assert connects_as_the_user(producer.client)
    consumer = IdempotentConsumer(None, "broker:9092", "group", topics=["topic"], options=options)._make_consumer()
    assert isinstance(consumer, AIOKafkaConsumer) and connects_as_the_user(consumer._client)
    probe = KafkaProbe("127.0.0.1:1", "test", options=options)
    monkeypatch.setattr("jmo_shared.kafka.asyncio.wait_for", _never_connects)
    await probe.start()
    assert probe._producer is not None and connects_as_the_user(probe._producer.client)


async def _never_connects(awaitable, timeout):
    awaitable.close()
    raise TimeoutError
