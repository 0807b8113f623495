"""What `mirror-stage up` reads from its environment before starting anything."""

from pathlib import Path

import pytest

from mirror_runtime.environment import BadValueError, UnknownVariableError
from mirror_stage.stack_layout import busy_ports, stack_layout


def test_defaults() -> None:
    """The default ports, the local NATS port and ./.mirror-stage."""
    layout = stack_layout({})
    assert layout.nats_url == "nats://127.0.0.1:4222"
    assert dict(layout.service_ports) == {
        "TWIN": 8100,
        "INGEST": 8101,
        "ALERTS": 8102,
        "COMMANDS": 8103,
    }
    assert layout.data_dir == Path.cwd() / ".mirror-stage"
    assert layout.external_db_url is None


def test_the_data_dir_flag_wins_over_the_variable(tmp_path: Path) -> None:
    """--data-dir beats MIRROR_STAGE_DATA_DIR, which beats the default."""
    env = {"MIRROR_STAGE_DATA_DIR": str(tmp_path / "from-env")}
    assert stack_layout(env).data_dir == tmp_path / "from-env"
    assert stack_layout(env, data_dir=tmp_path / "flag").data_dir == tmp_path / "flag"


def test_a_nats_url_without_a_port_is_refused() -> None:
    """The embedded NATS needs a port to listen on."""
    with pytest.raises(BadValueError, match="MIRROR_STAGE_NATS_URL"):
        stack_layout({"MIRROR_STAGE_NATS_URL": "nats://localhost"})


def test_typos_are_refused() -> None:
    """An unknown MIRROR_STAGE_* variable stops the launcher too."""
    with pytest.raises(UnknownVariableError):
        stack_layout({"MIRROR_STAGE_TWIN_PROT": "1"})


def test_busy_ports_names_the_variable_to_change() -> None:
    """A taken port is reported with the setting that chose it."""
    layout = stack_layout({"MIRROR_STAGE_ALERTS_PORT": "9999"})
    taken = busy_ports(layout, lambda port, _host: port not in (4222, 9999))
    assert taken == [
        "4222 (NATS, from MIRROR_STAGE_NATS_URL)",
        "9999 (alerts, from MIRROR_STAGE_ALERTS_PORT)",
    ]


def test_the_services_ports_are_checked_on_the_address_they_will_listen_on() -> None:
    layout = stack_layout({"MIRROR_STAGE_HTTP_HOST": "0.0.0.0"})
    checked: list[tuple[int, str]] = []
    busy_ports(layout, lambda port, host: checked.append((port, host)) is None)
    assert checked[0] == (4222, "127.0.0.1")
    assert {host for _port, host in checked[1:]} == {"0.0.0.0"}


@pytest.mark.parametrize(
    ("listen", "reached"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("0.0.0.0", "127.0.0.1"),
        ("::", "[::1]"),
        ("10.1.2.3", "10.1.2.3"),
    ],
)
def test_the_launcher_reaches_its_services_where_they_listen(listen: str, reached: str) -> None:
    layout = stack_layout({"MIRROR_STAGE_HTTP_HOST": listen})
    assert layout.service_url("TWIN") == f"http://{reached}:8100"


def test_an_http_host_that_is_no_address_is_refused_by_name() -> None:
    with pytest.raises(BadValueError, match="MIRROR_STAGE_HTTP_HOST"):
        stack_layout({"MIRROR_STAGE_HTTP_HOST": "everywhere"})


def test_children_get_service_settings_and_the_stack_addresses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A service's own variables pass through; the stack's NATS and ports win; the database's
    address is a service's own role's, given to it alone (an external administrator's never)."""
    from mirror_stage.parts import child_environment, service_spec

    monkeypatch.setenv("MIRROR_STAGE_INGEST_HOST_RATE", "50")
    monkeypatch.setenv("MIRROR_STAGE_NATS_URL", "nats://127.0.0.1:5999")
    monkeypatch.setenv("MIRROR_STAGE_DB_URL", "postgresql://admin:secret@db/mirror")
    layout = stack_layout({"MIRROR_STAGE_NATS_URL": "nats://127.0.0.1:5999"})
    env = child_environment(layout)
    assert env["MIRROR_STAGE_INGEST_HOST_RATE"] == "50"
    assert env["MIRROR_STAGE_NATS_URL"] == "nats://127.0.0.1:5999"
    assert "MIRROR_STAGE_DB_URL" not in env
    assert env["MIRROR_STAGE_TWIN_PORT"] == "8100"
    assert "MIRROR_STAGE_DATA_DIR" not in env
    ingest = service_spec(layout, "INGEST", env, db_url="postgresql://mirror_ingest@db/mirror")
    assert ingest.env is not None
    assert ingest.env["MIRROR_STAGE_DB_URL"] == "postgresql://mirror_ingest@db/mirror"
    twin = service_spec(layout, "TWIN", env)
    assert twin.env is not None
    assert "MIRROR_STAGE_DB_URL" not in twin.env


def test_the_nats_sync_interval_is_read_and_checked() -> None:
    """Every write by default; `always` or a duration; anything else is refused by name."""
    assert stack_layout({}).nats_sync_interval == "always"
    env = {"MIRROR_STAGE_NATS_SYNC_INTERVAL": "100ms"}
    assert stack_layout(env).nats_sync_interval == "100ms"
    assert stack_layout({"MIRROR_STAGE_NATS_SYNC_INTERVAL": "2s"}).nats_sync_interval == "2s"
    with pytest.raises(BadValueError, match="MIRROR_STAGE_NATS_SYNC_INTERVAL"):
        stack_layout({"MIRROR_STAGE_NATS_SYNC_INTERVAL": "sometimes"})
