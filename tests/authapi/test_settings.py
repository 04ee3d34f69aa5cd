"""Settings come from the project config file, the environment names of existing deployments, and the CLI."""

from __future__ import annotations

import pytest

from authapi import Settings
from dstack_gov.webhook import load_settings
from foundation.config_schema import ConfigError

KMS = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
OTHER = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "dstack-gov.toml"
    path.write_text(
        '[chain]\nrpc_url = "https://node.example/v3/key"\n'
        f'[contracts]\nkms = "{KMS}"\n'
        '[authapi]\nhost = "0.0.0.0"\nport = 9100\nrpc_timeout = 0.5\nblock_cache = true\n'
    )
    return path


def test_defaults_come_from_the_config_file(config_file):
    assert load_settings(config_file, environ={}) == Settings(
        rpc_url="https://node.example/v3/key",
        kms_address=KMS,
        rpc_timeout=0.5,
        block_cache=True,
        host="0.0.0.0",
        port=9100,
    )


def test_environment_names_of_existing_deployments_override_the_file(config_file):
    environ = {"ETH_RPC_URL": "http://10.0.0.5:8545", "KMS_CONTRACT_ADDR": OTHER.lower(), "PORT": "3000"}
    settings = load_settings(config_file, environ=environ)
    assert (settings.rpc_url, settings.kms_address, settings.port) == ("http://10.0.0.5:8545", OTHER, 3000)


def test_environment_alone_is_enough(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None, environ={"ETH_RPC_URL": "http://127.0.0.1:8545", "KMS_CONTRACT_ADDR": KMS})
    assert settings == Settings(rpc_url="http://127.0.0.1:8545", kms_address=KMS)
    assert settings.rpc_timeout == 2.0
    assert settings.block_cache is False


def test_command_line_overrides_beat_environment_and_file(config_file):
    settings = load_settings(
        config_file,
        environ={"ETH_RPC_URL": "http://10.0.0.5:8545", "PORT": "3000"},
        rpc_url="http://127.0.0.1:1",
        kms=OTHER,
        host="127.0.0.1",
        port=0,
        rpc_timeout=3.0,
        block_cache=False,
    )
    assert settings == Settings(rpc_url="http://127.0.0.1:1", kms_address=OTHER, rpc_timeout=3.0, port=0)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kms": None}, "no KMS contract address"),
        ({"kms": "0x1234"}, "not a KMS contract address"),
        ({"kms": "0x5fbdb2315678afecb367f032d93F642f64180aa3"}, "not a KMS contract address"),
        ({"rpc_url": "ws://127.0.0.1:8546"}, "http:// or https://"),
        ({"rpc_url": "127.0.0.1:8545"}, "http:// or https://"),
        ({"rpc_timeout": 0.0}, "positive"),
        ({"port": 70000}, "port out of range"),
    ],
)
def test_unusable_settings_are_refused_with_a_reason(tmp_path, monkeypatch, fields, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=message):
        load_settings(None, environ={"ETH_RPC_URL": "http://127.0.0.1:8545"}, **{"kms": KMS, **fields})


def test_refusal_never_echoes_the_rpc_url(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_settings(None, environ={}, rpc_url="wss://node.example/v3/s3cret", kms=KMS)
    assert "s3cret" not in str(info.value)


def test_head_poll_interval_comes_from_the_file_and_must_be_positive(tmp_path):
    path = tmp_path / "dstack-gov.toml"
    path.write_text(f'[contracts]\nkms = "{KMS}"\n[authapi]\nblock_cache = true\nhead_poll_interval = 0.2\n')
    assert load_settings(path, environ={"ETH_RPC_URL": "http://node:8545"}).head_poll_interval == 0.2
    with pytest.raises(ConfigError, match="head poll interval"):
        Settings(rpc_url="http://node:8545", kms_address=KMS, head_poll_interval=0)  # type: ignore[arg-type]


def test_with_several_endpoints_the_webhook_asks_the_first_and_falls_back_on_the_others(tmp_path):
    path = tmp_path / "dstack-gov.toml"
    path.write_text(
        f'[chain]\nrpc_urls = ["https://a.example/v3/key", "https://b.example/v3/key"]\nchain_id = 8453\n'
        f'[contracts]\nkms = "{KMS}"\n'
    )
    settings = load_settings(path, environ={})
    assert (settings.rpc_url, settings.fallback_rpc_urls) == ("https://a.example/v3/key", ("https://b.example/v3/key",))
    assert settings.chain_id == 8453  # every node must serve it (authapi/failover.py)
    # --rpc-url names the one node to ask.
    alone = load_settings(path, environ={}, rpc_url="https://c.example/")
    assert (alone.rpc_url, alone.fallback_rpc_urls) == ("https://c.example/", ())
    with pytest.raises(ConfigError, match="http:// or https://"):
        Settings(rpc_url="http://node:8545", kms_address=KMS, fallback_rpc_urls=("ws://b.example",))  # type: ignore[arg-type]
