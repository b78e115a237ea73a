"""Settings from LGSP_ environment variables; unsafe or invalid configuration refused loudly."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from connectors.dvcqg import SPEC, DvcqgConfig
from gateway.core.errors import ConfigurationError
from gateway.core.registry import build_config
from gateway.core.settings import (
    DEV_DATA_KEY,
    DEV_SIGNING_KEY,
    DeliverySettings,
    Settings,
    unknown_variables,
)

REAL_KEY = base64.b64encode(os.urandom(32)).decode()
OTHER_KEY = base64.b64encode(os.urandom(32)).decode()


def test_defaults_run_with_no_configuration() -> None:
    settings = Settings()
    assert settings.environment == "development"
    assert settings.is_sqlite
    assert settings.redis_url is None
    assert settings.data_key_bytes() == base64.b64decode(DEV_DATA_KEY)
    assert len(settings.signing_key_bytes()) == 32


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LGSP_ENVIRONMENT", "test")
    monkeypatch.setenv("LGSP_DATABASE_URL", "postgresql+asyncpg://lgsp@db/lgsp")
    monkeypatch.setenv("LGSP_REDIS_URL", "redis://cache:6379/1")
    monkeypatch.setenv("LGSP_DATA_KEY", REAL_KEY)
    monkeypatch.setenv("LGSP_RATE_LIMIT", "10/second")
    monkeypatch.setenv("LGSP_LOG_JSON", "false")
    settings = Settings()
    assert settings.environment == "test"
    assert settings.database_url == "postgresql+asyncpg://lgsp@db/lgsp"
    assert not settings.is_sqlite
    assert settings.redis_url == "redis://cache:6379/1"
    assert settings.data_key_bytes() == base64.b64decode(REAL_KEY)
    assert settings.rate_limit == "10/second"
    assert settings.log_json is False
    assert REAL_KEY in settings.secret_values()


def test_nested_variables_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LGSP_CONNECTORS__DVCQG__BASE_URL", "https://lgsp.example.gov.vn/dvcqg")
    monkeypatch.setenv("LGSP_CONNECTORS__DVCQG__TIMEOUT_SECONDS", "4.5")
    monkeypatch.setenv("LGSP_DELIVERY__WORKERS", "7")
    monkeypatch.setenv("LGSP_DELIVERY__BREAKER_RESET_SECONDS", "2.5")
    settings = Settings()
    assert settings.delivery.workers == 7
    assert settings.delivery.breaker_reset_seconds == 2.5
    defaults = DeliverySettings()
    assert settings.delivery.batch_size == defaults.batch_size  # the others keep their defaults
    assert settings.delivery.max_attempts == defaults.max_attempts
    section = settings.connectors["dvcqg"]
    assert section["base_url"] == "https://lgsp.example.gov.vn/dvcqg"
    config = build_config(SPEC, section, environment="test")
    assert isinstance(config, DvcqgConfig)
    assert config.base_url == "https://lgsp.example.gov.vn/dvcqg"
    assert config.timeout_seconds == 4.5


def test_invalid_delivery_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LGSP_DELIVERY__WORKERS", "-1")
    with pytest.raises(ValidationError, match="workers"):
        Settings()


def test_production_refuses_the_placeholder_data_key() -> None:
    settings = Settings(environment="production", signing_key=SecretStr(REAL_KEY))
    assert settings.production_problems() == [
        "LGSP_DATA_KEY is the development placeholder; set a real key in production"
    ]
    from gateway.core.runtime import Gateway

    with pytest.raises(ConfigurationError, match="LGSP_DATA_KEY is the development placeholder"):
        Gateway(settings)


def test_production_refuses_the_placeholder_signing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LGSP_ENVIRONMENT", "production")
    monkeypatch.setenv("LGSP_DATA_KEY", REAL_KEY)
    monkeypatch.setenv("LGSP_SIGNING_KEY", DEV_SIGNING_KEY)
    assert Settings().production_problems() == [
        "LGSP_SIGNING_KEY is the development placeholder; set a real key in production"
    ]


def test_every_problem_of_a_production_configuration_is_said_at_once(tmp_path: Path) -> None:
    """Issue 19: production without keys, a bad value and a section for no connector: one line
    each, in one run, no traceback, never a value."""
    from click.testing import CliRunner

    from gateway.cli import main

    env = {
        "LGSP_ENVIRONMENT": "production",
        "LGSP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/prod.db",
        "LGSP_SIGNING_KEY": "s3cret-not-base64-value",
        "LGSP_CONNECTORS__DVCQG__TIMEOUT_SECONDS": "-3",
        "LGSP_CONNECTORS__NOWHERE__TIMEOUT_SECONDS": "1",
    }
    result = CliRunner().invoke(main, ["dlq", "list"], env=env)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == "error: the configuration cannot be used:"
    problems = [line.strip() for line in lines[1:]]
    assert problems[:3] == [
        "LGSP_DATA_KEY is the development placeholder; set a real key in production",
        "LGSP_SIGNING_KEY must be base64 of 32 random bytes",
        "LGSP_CONNECTORS__NOWHERE: no connector 'nowhere' (registered: dancu, dkdn, dvcqg, "
        "emc, esign, payment, postal, qlvb, vneid)",
    ]
    assert any(p.startswith("LGSP_CONNECTORS__DVCQG__TIMEOUT_SECONDS:") for p in problems)
    assert (
        "LGSP_CONNECTORS__PAYMENT__SECRET is a development placeholder; set the real secret "
        "in production"
    ) in problems
    assert "Traceback" not in result.output
    assert "s3cret" not in result.output
    assert not (tmp_path / "prod.db").exists()


def test_production_accepts_real_keys() -> None:
    settings = Settings(
        environment="production", data_key=SecretStr(REAL_KEY), signing_key=SecretStr(OTHER_KEY)
    )
    assert settings.environment == "production"
    # the placeholders are fine anywhere else
    assert Settings(environment="test").data_key.get_secret_value() == DEV_DATA_KEY


def test_a_key_that_is_not_32_bytes_names_its_variable() -> None:
    short = Settings(data_key=SecretStr(base64.b64encode(b"too short").decode()))
    with pytest.raises(ConfigurationError, match="LGSP_DATA_KEY"):
        short.data_key_bytes()
    garbage = Settings(signing_key=SecretStr("not base64 !!"))
    with pytest.raises(ConfigurationError, match="LGSP_SIGNING_KEY"):
        garbage.signing_key_bytes()


def test_production_refuses_the_dvcqg_placeholder_password() -> None:
    with pytest.raises(ConfigurationError, match="LGSP_CONNECTORS__DVCQG__PASSWORD"):
        build_config(SPEC, {}, environment="production")
    # the portal's push secret is refused the same way
    with pytest.raises(ConfigurationError, match="LGSP_CONNECTORS__DVCQG__PUSH_SECRET"):
        build_config(SPEC, {"password": "a-real-one-2024"}, environment="production")
    # real secrets are accepted; the placeholders are fine in development and test
    real = {"password": "a-real-one-2024", "push_secret": "a-real-push-secret-of-length-32"}
    config = build_config(SPEC, real, environment="production")
    assert isinstance(config, DvcqgConfig)
    assert build_config(SPEC, {}, environment="development") is not None
    assert build_config(SPEC, {}, environment="test") is not None


def test_invalid_connector_config_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LGSP_CONNECTORS__DVCQG__TIMEOUT_SECONDS", "-3")
    settings = Settings()
    with pytest.raises(ConfigurationError) as caught:
        build_config(SPEC, settings.connectors["dvcqg"], environment="test")
    assert str(caught.value).startswith("LGSP_CONNECTORS__DVCQG__TIMEOUT_SECONDS:")
    with pytest.raises(ConfigurationError, match="LGSP_CONNECTORS__DVCQG__BASE_URL"):
        build_config(SPEC, {"base_url": "ftp://portal"}, environment="test")
    with pytest.raises(ConfigurationError, match="LGSP_CONNECTORS__DVCQG__COLOUR"):
        build_config(SPEC, {"colour": "blue"}, environment="test")  # unknown fields too


def test_gateway_start_up_fails_loudly_on_a_bad_connector_section() -> None:
    from gateway.core.runtime import Gateway

    settings = Settings(
        environment="test",
        database_url="sqlite+aiosqlite:///:memory:",
        connectors={"DVCQG": {"timeout_seconds": 0}},
    )
    assert "dvcqg" in settings.connectors  # slugs are lower-cased
    with pytest.raises(ConfigurationError, match="LGSP_CONNECTORS__DVCQG__TIMEOUT_SECONDS"):
        Gateway(settings)


def test_a_typo_in_a_variable_stops_the_start_with_one_line_naming_it(tmp_path: Path) -> None:
    """Issue 19: a misspelt variable would otherwise run on the default (SQLite) silently; every
    problem is said at once, one line each, without the values (they may be secrets)."""
    from click.testing import CliRunner

    from gateway.cli import main

    env = {
        "LGSP_DATABSE_URL": f"sqlite+aiosqlite:///{tmp_path}/typo.db",
        "LGSP_DELIVERY__WORKRS": "3",
        "LGSP_ENVIRONMENT": "prod",
        "LGSP_SIGNING_KEY": "s3cret-not-base64-value",
        "LGSP_TEST_ANYTHING": "the test suite's own",
        "LGSP_OFFICER_PLATFORM_PASSWORD": "read by one command",
    }
    result = CliRunner().invoke(main, ["connectors", "list"], env=env)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == "error: the configuration cannot be used:"
    assert lines[1:] == [
        "  LGSP_DATABSE_URL: no such setting (did you mean LGSP_DATABASE_URL?)",
        "  LGSP_DELIVERY__WORKRS: no such setting (did you mean LGSP_DELIVERY__WORKERS?)",
        "  LGSP_ENVIRONMENT: Input should be 'development', 'test' or 'production'",
    ]
    assert "Traceback" not in result.output
    assert "s3cret" not in result.output
    assert not (tmp_path / "typo.db").exists()


def test_unknown_variables_are_named_with_their_path() -> None:
    assert unknown_variables(
        {
            "LGSP_AUDIT__WITNESS_DIRR": "x",
            "LGSP_LOG_LEVEL": "INFO",
            "LGSP_LOG_LEVEL__X": "x",
            "LGSP_CONNECTORS__DVCQG__TIMEOUT_SECONDS": "2",  # the connector's to check
            "PATH": "/usr/bin",
        }
    ) == [
        "LGSP_AUDIT__WITNESS_DIRR: no such setting (did you mean LGSP_AUDIT__WITNESS_DIR?)",
        "LGSP_LOG_LEVEL__X: LGSP_LOG_LEVEL has no parts",
    ]


def test_an_unknown_connector_section_is_refused() -> None:
    from gateway.core.runtime import Gateway

    with pytest.raises(ConfigurationError, match="LGSP_CONNECTORS__NOWHERE: no connector"):
        Gateway(Settings(connectors={"nowhere": {"timeout_seconds": 1}}))


def test_an_unreachable_database_is_named_in_one_line() -> None:
    from click.testing import CliRunner

    from gateway.cli import main

    env = {"LGSP_DATABASE_URL": "postgresql+asyncpg://lgsp:hunter2@127.0.0.1:9/lgsp"}
    result = CliRunner().invoke(main, ["dlq", "list"], env=env)
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        "error: the database of LGSP_DATABASE_URL (postgresql+asyncpg://lgsp:***@127.0.0.1:9/lgsp)"
        " cannot be reached: "
    )
    assert "hunter2" not in result.output
    assert "Traceback" not in result.output
