"""Signed commands: what the signature covers, and that a JSON round trip keeps it valid."""

from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest

from mirror_schema import codec
from mirror_schema.command_signing import (
    SignatureError,
    SigningKey,
    new_signing_key,
    sign_command,
    sign_withdrawal,
    verify_command,
    verify_withdrawal,
)
from mirror_schema.commands import Command, CommandWithdrawal

KEY = new_signing_key()
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def command(**fields: object) -> Command:
    base = Command(
        id="c-1",
        host_id="web-01",
        command="uptime",
        created_at=NOW,
        expires_at=NOW + timedelta(hours=1),
        timeout_seconds=120,
    )
    return msgspec.structs.replace(base, **fields)


def test_a_signed_command_verifies_after_a_json_round_trip() -> None:
    signed = sign_command(command(), KEY)
    verify_command(signed, KEY.public_key)
    decoded = codec.decode_command(codec.encode(signed))
    assert decoded.timeout_seconds == 120.0  # float once decoded: still the same signature
    verify_command(decoded, KEY.public_key)


def test_the_same_instant_in_another_zone_still_verifies() -> None:
    signed = sign_command(command(), KEY)
    shifted = signed.expires_at.astimezone(timezone(timedelta(hours=9)))  # type: ignore[union-attr]
    verify_command(msgspec.structs.replace(signed, expires_at=shifted), KEY.public_key)


@pytest.mark.parametrize(
    "change",
    [
        {"id": "c-2"},
        {"host_id": "web-02"},
        {"command": "rm -rf /"},
        {"expires_at": NOW + timedelta(days=30)},
        {"timeout_seconds": 3600},
        {"output_limit_bytes": 1},
    ],
)
def test_changing_any_covered_field_breaks_the_signature(change: dict[str, object]) -> None:
    signed = sign_command(command(), KEY)
    with pytest.raises(SignatureError, match="does not verify"):
        verify_command(msgspec.structs.replace(signed, **change), KEY.public_key)


def test_unsigned_other_key_and_garbage_are_refused_naming_why() -> None:
    with pytest.raises(SignatureError, match="is not signed"):
        verify_command(command(), KEY.public_key)
    with pytest.raises(SignatureError, match="does not verify"):
        verify_command(sign_command(command(), new_signing_key()), KEY.public_key)
    with pytest.raises(SignatureError, match="signature is not base64"):
        verify_command(command(signature="not base64!"), KEY.public_key)
    with pytest.raises(SignatureError, match="signature is 3 bytes"):
        verify_command(command(signature="AAAA"), KEY.public_key)
    with pytest.raises(SignatureError, match="public key is 3 bytes"):
        verify_command(sign_command(command(), KEY), "AAAA")


def test_a_command_without_expiry_cannot_be_signed() -> None:
    with pytest.raises(SignatureError, match="no expires_at"):
        sign_command(command(expires_at=None), KEY)


def test_keys_are_32_byte_seeds_with_a_stable_public_half() -> None:
    again = SigningKey(seed=KEY.seed)
    assert again.public_key == KEY.public_key
    assert new_signing_key().public_key != KEY.public_key


def test_a_withdrawal_is_signed_for_its_command_and_host_alone() -> None:
    """A withdrawal verifies after a JSON round trip; another command id or host, another key,
    no signature, or a command's signature passed off as a withdrawal's does not."""
    withdrawal = CommandWithdrawal(command_id="c-1", host_id="web-01", withdrawn_at=NOW)
    signed = sign_withdrawal(withdrawal, KEY)
    again = codec.decode_command_withdrawal(codec.encode(signed))
    verify_withdrawal(again, KEY.public_key)
    for forged in (
        msgspec.structs.replace(signed, command_id="c-2"),
        msgspec.structs.replace(signed, host_id="web-02"),
        sign_withdrawal(withdrawal, new_signing_key()),
        msgspec.structs.replace(withdrawal, signature=sign_command(command(), KEY).signature),
    ):
        with pytest.raises(SignatureError, match="does not verify"):
            verify_withdrawal(forged, KEY.public_key)
    with pytest.raises(SignatureError, match="is not signed"):
        verify_withdrawal(withdrawal, KEY.public_key)
