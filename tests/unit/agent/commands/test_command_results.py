"""A result always fits in one NATS message, or it could never be reported."""

from datetime import UTC, datetime

from mirror_agent.commands.publisher import fit
from mirror_schema import codec
from mirror_schema.commands import CommandResult, CommandState


def test_a_result_too_big_for_one_message_is_cut_and_flagged() -> None:
    """The longer stream is cut first and marked truncated, until the result fits."""
    result = CommandResult(
        command_id="c1",
        host_id="web-01",
        state=CommandState.SUCCEEDED,
        finished_at=datetime.now(UTC),
        stdout="x" * 900_000,
        stderr="e" * 10_000,
    )
    fitted = fit(result, 100_000)
    assert len(codec.encode(fitted)) <= 100_000
    assert fitted.stdout_truncated is True
    assert fitted.stdout == "x" * len(fitted.stdout)
    assert fitted.stderr == result.stderr
    assert fitted.stderr_truncated is False


def test_a_result_that_fits_is_unchanged() -> None:
    """Nothing is cut from a result that already fits."""
    result = CommandResult(
        command_id="c1",
        host_id="web-01",
        state=CommandState.FAILED,
        finished_at=datetime.now(UTC),
        stdout="hi\n",
    )
    assert fit(result, 1_000_000) is result
