"""The twin's settings from MIRROR_STAGE_TWIN_* variables, and bad values refused by name."""

import pytest

from mirror_runtime.environment import BadValueError
from mirror_twin.config import from_env


def test_defaults() -> None:
    """Without variables: diffs every 100 ms, 64 queued messages, stale at 3 and offline at 12
    intervals, a checkpoint every 30 s."""
    config = from_env({})
    assert config.diff_interval_seconds == 0.1
    assert config.client_queue_size == 64
    assert config.status_policy.stale_after_intervals == 3
    assert config.status_policy.offline_after_intervals == 12
    assert config.checkpoint_interval_seconds == 30
    assert config.max_replay_samples == 200_000


def test_every_variable_is_read() -> None:
    config = from_env(
        {
            "MIRROR_STAGE_TWIN_DIFF_INTERVAL_MS": "250",
            "MIRROR_STAGE_TWIN_CLIENT_QUEUE": "16",
            "MIRROR_STAGE_TWIN_STALE_INTERVALS": "2",
            "MIRROR_STAGE_TWIN_OFFLINE_INTERVALS": "6",
            "MIRROR_STAGE_TWIN_CHECKPOINT_SECONDS": "1.5",
            "MIRROR_STAGE_TWIN_MAX_REPLAY": "0",
        }
    )
    assert config.diff_interval_seconds == 0.25
    assert config.client_queue_size == 16
    assert config.status_policy.stale_after_intervals == 2
    assert config.status_policy.offline_after_intervals == 6
    assert config.checkpoint_interval_seconds == 1.5
    assert config.max_replay_samples == 0


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"MIRROR_STAGE_TWIN_DIFF_INTERVAL_MS": "5"}, "MIRROR_STAGE_TWIN_DIFF_INTERVAL_MS"),
        ({"MIRROR_STAGE_TWIN_CLIENT_QUEUE": "lots"}, "MIRROR_STAGE_TWIN_CLIENT_QUEUE"),
        (
            {"MIRROR_STAGE_TWIN_STALE_INTERVALS": "5", "MIRROR_STAGE_TWIN_OFFLINE_INTERVALS": "4"},
            "MIRROR_STAGE_TWIN_OFFLINE_INTERVALS",
        ),
    ],
)
def test_a_bad_value_names_its_variable(variables: dict[str, str], named: str) -> None:
    with pytest.raises(BadValueError, match=named):
        from_env(variables)
