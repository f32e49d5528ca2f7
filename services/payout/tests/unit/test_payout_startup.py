"""A deployed payout does not start on secrets that anyone could know, or on none."""

import pytest

from jmo_payout.entrypoints.api import create_api
from jmo_payout.entrypoints.worker import create_worker
from jmo_payout.settings import PayoutSettings, SettingsRefused


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "staging")
    monkeypatch.delenv("PAYOUT_BANK_NOTIFY_SECRETS", raising=False)


@pytest.mark.parametrize("factory", [create_api, create_worker])
def test_a_deployed_payout_refuses_to_start_without_bank_secrets(deployed, factory) -> None:
    with pytest.raises(SettingsRefused, match="PAYOUT_BANK_NOTIFY_SECRETS is not set"):
        factory(PayoutSettings())


def test_a_deployed_payout_refuses_the_public_dev_secrets(deployed, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYOUT_BANK_NOTIFY_SECRETS", '{"014": "k3Jx-real", "451": ["new-451", "dev-secret-451"]}')
    with pytest.raises(SettingsRefused, match="public dev secret of bank\\(s\\) 451"):
        create_api(PayoutSettings())


def test_without_an_environment_payout_counts_as_deployed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ENVIRONMENT", raising=False)
    monkeypatch.delenv("PAYOUT_BANK_NOTIFY_SECRETS", raising=False)
    with pytest.raises(SettingsRefused):
        create_api(PayoutSettings())


def test_configured_secrets_start_and_local_needs_none(deployed, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYOUT_BANK_NOTIFY_SECRETS", '{"014": "k3Jx-real", "451": ["new-451", "old-451"]}')
    settings = PayoutSettings()
    create_api(settings)
    assert settings.bank_secrets() == {"014": ("k3Jx-real",), "451": ("new-451", "old-451")}
    create_api(PayoutSettings(environment="local", bank_notify_secrets={}))
