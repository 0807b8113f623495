"""The MIRROR_STAGE_* environment: defaults, overrides, and typos refused at start-up."""

import pytest

from mirror_runtime import environment, parsers
from mirror_runtime.config import service_config_from_env
from mirror_runtime.environment import BadValueError, UnknownVariableError, known_variables
from mirror_runtime.setting import Setting, shown_value


def test_defaults_follow_the_contracts() -> None:
    """With no variables, a service listens on its default port and uses the local NATS."""
    config = service_config_from_env("twin", "TWIN", {})
    assert config.http_port == 8100
    assert config.nats_url == "nats://127.0.0.1:4222"
    assert config.db_url is None
    assert config.http_host == "127.0.0.1"  # loopback unless told otherwise


def test_variables_override_the_defaults() -> None:
    """Each documented variable is read."""
    config = service_config_from_env(
        "ingest",
        "INGEST",
        {
            "MIRROR_STAGE_INGEST_PORT": "9101",
            "MIRROR_STAGE_NATS_URL": "nats://10.0.0.5:4333",
            "MIRROR_STAGE_DB_URL": "postgresql://u@h/db",
            "MIRROR_STAGE_LOG_FORMAT": "console",
            "MIRROR_STAGE_HTTP_HOST": "0.0.0.0",
            "HOME": "/root",
        },
    )
    assert (config.http_port, config.nats_url) == (9101, "nats://10.0.0.5:4333")
    assert config.http_host == "0.0.0.0"
    assert (config.db_url, config.log_format) == ("postgresql://u@h/db", "console")


def test_an_unknown_variable_is_an_error_naming_it() -> None:
    """A typo such as MIRROR_STAGE_NATS_UR fails instead of being ignored."""
    with pytest.raises(UnknownVariableError, match="MIRROR_STAGE_NATS_UR;") as caught:
        service_config_from_env("twin", "TWIN", {"MIRROR_STAGE_NATS_UR": "nats://x:1"})
    assert caught.value.names == ["MIRROR_STAGE_NATS_UR"]


@pytest.mark.parametrize("port", ["0", "65536", "http", "-1", ""])
def test_a_bad_port_names_the_variable_and_value(port: str) -> None:
    """A port that is not 1-65535 is refused with the variable's name and value."""
    with pytest.raises(BadValueError, match=f"MIRROR_STAGE_TWIN_PORT='{port}'"):
        service_config_from_env("twin", "TWIN", {"MIRROR_STAGE_TWIN_PORT": port})


def test_a_bad_log_format_is_refused() -> None:
    """Only json and console are log formats."""
    with pytest.raises(BadValueError, match="'json' or 'console'"):
        service_config_from_env("twin", "TWIN", {"MIRROR_STAGE_LOG_FORMAT": "xml"})


def test_the_http_boundaries_default_to_closed_and_are_read() -> None:
    """No proxy is trusted, no API description served, 16 sockets a principal checked again
    every 5 s, unless set."""
    defaults = service_config_from_env("twin", "TWIN", {})
    assert defaults.trusted_proxies == ()
    assert defaults.openapi is False
    assert defaults.auth.max_sockets_per_principal == 16
    assert defaults.auth.socket_recheck_seconds == 5.0
    config = service_config_from_env(
        "twin",
        "TWIN",
        {
            "MIRROR_STAGE_TRUSTED_PROXIES": "10.0.0.5, 10.1.0.0/16,::1",
            "MIRROR_STAGE_HTTP_OPENAPI": "on",
            "MIRROR_STAGE_MAX_SOCKETS_PER_PRINCIPAL": "4",
            "MIRROR_STAGE_SOCKET_RECHECK_SECONDS": "1.5",
        },
    )
    assert config.trusted_proxies == ("10.0.0.5/32", "10.1.0.0/16", "::1/128")
    assert config.openapi is True
    assert config.auth.max_sockets_per_principal == 4
    assert config.auth.socket_recheck_seconds == 1.5
    with pytest.raises(BadValueError, match="MIRROR_STAGE_SOCKET_RECHECK_SECONDS='0'"):
        service_config_from_env("twin", "TWIN", {"MIRROR_STAGE_SOCKET_RECHECK_SECONDS": "0"})
    with pytest.raises(BadValueError, match="MIRROR_STAGE_TRUSTED_PROXIES"):
        service_config_from_env("twin", "TWIN", {"MIRROR_STAGE_TRUSTED_PROXIES": "proxy.local"})


def test_a_service_accepts_every_other_parts_variables() -> None:
    """The launcher hands every child the whole environment: the twin must not refuse the
    ingest's limits, nor the launcher's own settings."""
    environ = {
        "MIRROR_STAGE_INGEST_MAX_BATCH": "10",
        "MIRROR_STAGE_HISTORY_RETENTION_DAYS": "3",
        "MIRROR_STAGE_NATS_SYNC_INTERVAL": "1s",
        "MIRROR_STAGE_ALERTS_MAX_REPLAY": "0",
    }
    assert set(environ) <= known_variables()
    assert service_config_from_env("twin", "TWIN", environ).http_port == 8100


def test_a_setting_reads_its_default_or_parses_its_variable() -> None:
    setting = Setting(
        variable="MIRROR_STAGE_EXAMPLE",
        default=3,
        parser=parsers.count(minimum=1),
        meaning="an example",
    )
    assert setting.read({}) == 3
    assert setting.read({"MIRROR_STAGE_EXAMPLE": "7"}) == 7
    with pytest.raises(BadValueError, match=r"MIRROR_STAGE_EXAMPLE='0' .* a whole number >= 1"):
        setting.read({"MIRROR_STAGE_EXAMPLE": "0"})


@pytest.mark.parametrize(
    ("default", "shown"),
    [(None, "none"), ((), "none"), (True, "`on`"), (300.0, "300"), (0.5, "0.5"), ("x", "`x`")],
)
def test_defaults_are_shown_as_the_docs_write_them(default: object, shown: str) -> None:
    assert shown_value(default) == shown


def test_without_registered_settings_the_error_says_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Sources run without `make install` have no entry points: say so, not "known: nothing"."""
    monkeypatch.setattr(environment, "known_variables", frozenset)
    with pytest.raises(UnknownVariableError, match=r"mirror_stage.settings \(make install\)"):
        environment.stage_environment({"MIRROR_STAGE_NATS_URL": "nats://x:1"})
