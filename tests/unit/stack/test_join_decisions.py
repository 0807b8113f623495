"""The decision on a join request, for every state its token, its host and the queue can be
in; the join token's text; the command line's limits."""

import argparse
from datetime import UTC, datetime, timedelta

import pytest

from mirror_schema.joins import (
    JoinRequest,
    format_join_token,
    join_request_error,
    parse_join_token,
)
from mirror_stage.join_commands import parse_duration
from mirror_stage.join_decisions import decide
from mirror_stage.join_tokens import JoinToken, PendingJoin

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
KEY = "U" + "A" * 55
OTHER_KEY = "U" + "B" * 55
SHA = "0" * 64
REQUEST = JoinRequest(host_id="web-1", public_key=KEY, ingest_token_sha256=SHA)


def token(**changes: object) -> JoinToken:
    fields: dict[str, object] = {
        "id": "abcdefabcdef",
        "public_key": "U" + "C" * 55,
        "created_at": NOW - timedelta(hours=1),
        "expires_at": NOW + timedelta(hours=1),
        "max_uses": 2,
    }
    return JoinToken(**(fields | changes))  # type: ignore[arg-type]


def pending(host: str = "web-1", key: str = KEY, state: str = "pending") -> PendingJoin:
    return PendingJoin(
        host_id=host,
        public_key=key,
        ingest_token_sha256=SHA,
        token_id="abcdefabcdef",
        asked_at=NOW,
        state=state,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("the_token", "enrolled", "queue", "outcome", "detail"),
    [
        (token(), None, [], "enroll", "web-1 enrolled"),
        (None, None, [], "refused", "unknown join token"),
        (token(), KEY, [], "accepted-again", "web-1 is enrolled with this key"),
        (token(), OTHER_KEY, [], "refused", "web-1 is enrolled already: a join cannot take"),
        (token(used=2), KEY, [], "accepted-again", "web-1 is enrolled with this key"),
        (token(revoked_at=NOW), None, [], "refused", "join token abcdefabcdef was revoked"),
        (token(expires_at=NOW), None, [], "refused", "join token abcdefabcdef expired at"),
        (token(used=2), None, [], "refused", "join token abcdefabcdef is used up (2 joins)"),
        (token(used=1), None, [pending("web-2")], "refused", "is used up (2 joins, some"),
        (token(approval=True), None, [], "pend", "the join of web-1 waits for an admin"),
        (token(approval=True), None, [pending()], "still-pending", "the join of web-1 waits"),
        (token(), None, [pending(key=OTHER_KEY)], "refused", "from another key is pending"),
        (token(), None, [pending(state="rejected")], "refused", "rejected by an administrator"),
        # Another key's rejection blocks nothing: squatting a host id by getting rejected fails.
        (token(), None, [pending(key=OTHER_KEY, state="rejected")], "enroll", "web-1 enrolled"),
    ],
)
def test_every_state_gets_its_decision(
    the_token: JoinToken | None,
    enrolled: str | None,
    queue: list[PendingJoin],
    outcome: str,
    detail: str,
) -> None:
    decision = decide(REQUEST, the_token, enrolled, queue, NOW)
    assert decision.outcome == outcome
    assert detail in decision.detail


def test_a_join_token_reads_back_and_garbage_is_named() -> None:
    seed = "SU" + "A" * 56
    assert parse_join_token(format_join_token("abcdefabcdef", seed)) == ("abcdefabcdef", seed)
    for garbage in ("", "MSJ1.short.SUAAA", f"MSJ2.abcdefabcdef.{seed}", "Bearer x"):
        with pytest.raises(ValueError, match="not a join token"):
            parse_join_token(garbage)


def test_a_request_whose_keys_are_not_keys_is_named() -> None:
    assert join_request_error(REQUEST) is None
    bad_key = JoinRequest(host_id="web-1", public_key="SU" + "A" * 54, ingest_token_sha256=SHA)
    assert (join_request_error(bad_key) or "").startswith("public_key:")
    bad_sha = JoinRequest(host_id="web-1", public_key=KEY, ingest_token_sha256="F" * 64)
    assert (join_request_error(bad_sha) or "").startswith("ingest_token_sha256:")


def test_lifetimes_are_bounded_and_named() -> None:
    assert parse_duration("24h") == timedelta(hours=24)
    assert parse_duration("90s") == timedelta(seconds=90)
    for bad in ("0s", "400d", "1w", "-1h", "h"):
        with pytest.raises(argparse.ArgumentTypeError, match=bad.strip()):
            parse_duration(bad)
