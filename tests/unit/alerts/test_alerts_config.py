"""The alerts service's settings from MIRROR_STAGE_ALERTS_* variables; bad values named."""

from datetime import timedelta
from pathlib import Path

import pytest

from mirror_alerts.config import from_env
from mirror_runtime.environment import ConfigError, UnknownVariableError

RECEIVERS = "MIRROR_STAGE_ALERTS_RECEIVERS_FILE"


def test_defaults() -> None:
    """Without variables: 15 s group wait, 4 h repeats, a sweep a second, a snapshot every 5 s,
    at most 500 000 samples replayed, no receivers, port 8102."""
    config = from_env({})
    assert config.group_wait == timedelta(seconds=15)
    assert config.repeat_interval == timedelta(hours=4)
    assert config.sweep_seconds == 1.0
    assert config.snapshot_seconds == 5.0
    assert config.max_replay == 500_000
    assert config.receivers.receivers == []
    assert (config.service.name, config.service.http_port) == ("alerts", 8102)


def test_every_variable_is_read() -> None:
    config = from_env(
        {
            "MIRROR_STAGE_ALERTS_GROUP_WAIT_SECONDS": "0",
            "MIRROR_STAGE_ALERTS_REPEAT_INTERVAL_SECONDS": "90",
            "MIRROR_STAGE_ALERTS_SWEEP_SECONDS": "0.2",
            "MIRROR_STAGE_ALERTS_SNAPSHOT_SECONDS": "2.5",
            "MIRROR_STAGE_ALERTS_MAX_REPLAY": "1000",
            "MIRROR_STAGE_ALERTS_PORT": "9102",
        }
    )
    assert config.group_wait == timedelta(0)
    assert config.repeat_interval == timedelta(seconds=90)
    assert config.sweep_seconds == 0.2
    assert config.snapshot_seconds == 2.5
    assert config.max_replay == 1000
    assert config.service.http_port == 9102


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MIRROR_STAGE_ALERTS_GROUP_WAIT_SECONDS", "soon"),
        ("MIRROR_STAGE_ALERTS_GROUP_WAIT_SECONDS", "-1"),
        ("MIRROR_STAGE_ALERTS_REPEAT_INTERVAL_SECONDS", "0"),
        ("MIRROR_STAGE_ALERTS_SWEEP_SECONDS", "nan"),
        ("MIRROR_STAGE_ALERTS_SNAPSHOT_SECONDS", "0"),
        ("MIRROR_STAGE_ALERTS_MAX_REPLAY", "many"),
        ("MIRROR_STAGE_ALERTS_MAX_REPLAY", "-5"),
    ],
)
def test_a_bad_number_names_its_variable(name: str, value: str) -> None:
    """A value that is not a number, or below the variable's minimum, is refused by name."""
    with pytest.raises(ConfigError) as caught:
        from_env({name: value})
    assert name in str(caught.value)
    assert repr(value) in str(caught.value)


def test_an_unknown_alerts_variable_is_refused() -> None:
    """A typo fails at start-up, naming the variable, instead of being ignored."""
    with pytest.raises(UnknownVariableError) as caught:
        from_env({"MIRROR_STAGE_ALERTS_GROUP_WAIT": "5"})
    assert caught.value.names == ["MIRROR_STAGE_ALERTS_GROUP_WAIT"]
    assert "MIRROR_STAGE_ALERTS_GROUP_WAIT" in str(caught.value)


def test_a_json_receivers_file_is_loaded(tmp_path: Path) -> None:
    path = tmp_path / "receivers.json"
    path.write_text(
        '{"receivers": ['
        '{"name": "ops", "url": "https://hooks.example.com/x", "format": "slack"},'
        '{"name": "phone", "url": "https://ntfy.sh", "format": "ntfy", "topic": "fleet"}'
        "]}"
    )
    config = from_env({RECEIVERS: str(path)})
    assert [(r.name, r.format, r.topic) for r in config.receivers.receivers] == [
        ("ops", "slack", None),
        ("phone", "ntfy", "fleet"),
    ]


def test_a_toml_receivers_file_is_loaded(tmp_path: Path) -> None:
    """A file ending in .toml is read as TOML, with the same fields."""
    path = tmp_path / "receivers.toml"
    path.write_text(
        "[[receivers]]\n"
        'name = "automation"\n'
        'url = "http://127.0.0.1:9000/hooks/alerts"\n'
        "send_resolved = false\n"
        "[receivers.match]\n"
        'severities = ["critical"]\n'
    )
    config = from_env({RECEIVERS: str(path)})
    (receiver,) = config.receivers.receivers
    assert (receiver.name, receiver.format, receiver.send_resolved) == (
        "automation",
        "generic",
        False,
    )
    assert receiver.match.severities == frozenset({"critical"})


def test_a_missing_receivers_file_names_the_variable(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.json"
    with pytest.raises(ConfigError) as caught:
        from_env({RECEIVERS: str(path)})
    assert RECEIVERS in str(caught.value)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        (
            "receivers.json",
            '{"receivers": [{"name": "phone", "url": "https://ntfy.sh", "format": "ntfy"}]}',
            "topic",
        ),
        ("receivers.json", '{"receivers": [', "receivers"),
        ("receivers.toml", '[[receivers]]\nname = "x"\nurl = "ftp://nope"\n', "url"),
        ("receivers.toml", "receivers = [", "receivers"),
    ],
)
def test_an_invalid_receivers_file_names_the_variable(
    tmp_path: Path, name: str, text: str, problem: str
) -> None:
    """A receiver that breaks the contract, or a file that does not parse, is refused at
    start-up with the variable, the file and the problem."""
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        from_env({RECEIVERS: str(path)})
    message = str(caught.value)
    assert RECEIVERS in message
    assert str(path) in message
    assert problem in message
