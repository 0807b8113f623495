"""The command life cycle: forward-only transitions, cancel and retry rules, dispatch order."""

from datetime import UTC, datetime, timedelta

import pytest

from mirror_commands import state
from mirror_commands.config import from_env
from mirror_commands.errors import ConflictError, InvalidRequestError
from mirror_runtime.environment import ConfigError
from mirror_schema.commands import FINAL_STATES, CommandState

S = CommandState
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def test_the_happy_path_moves_forward() -> None:
    """pending -> dispatched -> running -> succeeded, each allowed."""
    assert state.can_move(S.PENDING, S.DISPATCHED)
    assert state.can_move(S.DISPATCHED, S.RUNNING)
    assert state.can_move(S.RUNNING, S.SUCCEEDED)


def test_a_result_may_skip_running() -> None:
    """An agent that rejects or expires a command reports its result with no running first."""
    assert state.can_move(S.DISPATCHED, S.REJECTED)
    assert state.can_move(S.PENDING, S.RUNNING)  # the status raced the dispatch commit


@pytest.mark.parametrize("final", sorted(FINAL_STATES))
def test_nothing_moves_a_final_command(final: CommandState) -> None:
    """A late `running`, or a second result, after the final result changes nothing."""
    assert not any(state.can_move(final, target) for target in S)


def test_no_transition_goes_backwards() -> None:
    """Running never returns to dispatched, nor dispatched to pending."""
    assert not state.can_move(S.RUNNING, S.DISPATCHED)
    assert not state.can_move(S.DISPATCHED, S.PENDING)
    assert not state.can_move(S.RUNNING, S.RUNNING)


def test_sources_are_the_non_final_states_below_the_target() -> None:
    """The conditional UPDATE's WHERE lists exactly the states a target is reached from."""
    assert state.sources(S.RUNNING) == ["pending", "dispatched"]
    assert state.sources(S.SUCCEEDED) == ["pending", "dispatched", "running"]
    assert state.sources(S.PENDING) == []


def test_cancel_of_pending_is_immediate_and_of_running_goes_to_the_agent() -> None:
    """Pending ends now; dispatched and running ask the agent; a final one is a conflict."""
    assert state.cancel_path(S.PENDING, "c1") == "now"
    assert state.cancel_path(S.DISPATCHED, "c1") == "agent"
    assert state.cancel_path(S.RUNNING, "c1") == "agent"
    with pytest.raises(ConflictError, match="'c1' is already succeeded"):
        state.cancel_path(S.SUCCEEDED, "c1")


def test_retry_needs_a_finished_command() -> None:
    """A command still under way cannot be retried: it would run twice."""
    state.check_retryable(S.FAILED, "c1")
    with pytest.raises(ConflictError, match="still running"):
        state.check_retryable(S.RUNNING, "c1")


def test_a_timeout_over_the_limit_is_refused_naming_the_field_and_the_limit() -> None:
    """The error says which field, the value, the limit and the variable that sets it."""
    assert state.check_timeout(30, 3600) == 30
    with pytest.raises(InvalidRequestError, match=r"^timeout_seconds: 7200 .* 3600 s") as caught:
        state.check_timeout(7200, 3600)
    assert "MIRROR_STAGE_COMMANDS_MAX_TIMEOUT_SECONDS" in caught.value.detail


def test_expiry_defaults_to_an_hour_and_refuses_the_past() -> None:
    """Left out, a command waits the default; a past expires_at is an error naming it."""
    assert state.expiry(None, NOW, 3600) == NOW + timedelta(hours=1)
    later = NOW + timedelta(minutes=5)
    assert state.expiry(later, NOW, 3600) == later
    with pytest.raises(InvalidRequestError, match=r"^expires_at: "):
        state.expiry(NOW - timedelta(seconds=1), NOW, 3600)


def test_a_signed_command_is_valid_for_a_day_at_most() -> None:
    """expires_at more than 24 h ahead is refused naming the field and the cap; exactly 24 h is
    the longest a command may wait for its agent (agents refuse longer, their journal
    remembers ids that long)."""
    day = NOW + timedelta(hours=24)
    assert state.expiry(day, NOW, 3600) == day
    with pytest.raises(InvalidRequestError, match=r"^expires_at: .* more than 86400 s"):
        state.expiry(day + timedelta(seconds=1), NOW, 3600)


@pytest.mark.parametrize("name", ["EXPIRY_SECONDS", "MAX_TIMEOUT_SECONDS"])
def test_the_service_cannot_be_set_past_the_validity_cap(name: str) -> None:
    """The default expiry and the timeout limit are capped at 24 h too."""
    assert from_env({f"MIRROR_STAGE_COMMANDS_{name}": "86400"})
    with pytest.raises(ConfigError, match=f"MIRROR_STAGE_COMMANDS_{name}"):
        from_env({f"MIRROR_STAGE_COMMANDS_{name}": "86401"})
