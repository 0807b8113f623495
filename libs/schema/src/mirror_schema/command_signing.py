"""Signed commands: what the commands service signs (ed25519) and how an agent checks it.

The signature covers a command's id, host, text, expiry, timeout and output cap, so an
identity that can publish on ``commands.dispatch.<host>`` still cannot make an agent run
anything: it cannot sign, a changed field breaks the signature, and the agent refuses a
command past its expiry or whose id it has seen before (its journal). Keys and signatures
travel as standard base64 of their bytes.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC
from typing import Final

import msgspec
import nacl.exceptions
import nacl.signing

from mirror_schema.commands import Command, CommandWithdrawal

__all__ = [
    "ALGORITHM",
    "CLOCK_SKEW_SECONDS",
    "MAX_VALIDITY_SECONDS",
    "SignatureError",
    "SigningKey",
    "new_signing_key",
    "public_key_of",
    "sign_command",
    "sign_withdrawal",
    "signed_bytes",
    "verify_command",
    "verify_withdrawal",
    "withdrawal_signed_bytes",
]

ALGORITHM: Final = "ed25519"
# The longest a signed command stays valid: the service refuses an expires_at further ahead,
# an agent refuses one further ahead than this plus CLOCK_SKEW_SECONDS (clocks differ), and
# its journal remembers a command's id until expires_at plus the skew, so a replay within the
# validity is always recognised.
MAX_VALIDITY_SECONDS: Final = 86_400
CLOCK_SKEW_SECONDS: Final = 300
_DOMAIN: Final = b"mirror-stage command v1\n"  # never valid as any other signed message
_WITHDRAWAL_DOMAIN: Final = b"mirror-stage withdrawal v1\n"  # nor a withdrawal as a command


class SignatureError(ValueError):
    """A command whose signature is missing, malformed or does not verify; says which."""


class SigningKey(msgspec.Struct, frozen=True):
    """An ed25519 private key as its 32-byte seed, base64."""

    seed: str

    @property
    def public_key(self) -> str:
        """The matching public key, base64: what agents are given."""
        return _b64(bytes(_signer(self.seed).verify_key))


def new_signing_key() -> SigningKey:
    """A fresh random key."""
    return SigningKey(seed=_b64(bytes(nacl.signing.SigningKey.generate())))


def public_key_of(key: SigningKey) -> str:
    """The public key of ``key``, base64."""
    return key.public_key


def signed_bytes(command: Command) -> bytes:
    """The exact bytes signed for ``command``: every field that decides what runs where,
    until when. A command without ``expires_at`` cannot be signed (it would be valid forever).
    """
    if command.expires_at is None:
        raise SignatureError(f"command {command.id} has no expires_at; a signed command must")
    # Each field in one spelling whatever its type after a JSON round trip (120 vs 120.0,
    # Z vs +00:00), so that the agent's decoded copy signs to the same bytes.
    fields = (
        command.id,
        command.host_id,
        command.expires_at.astimezone(UTC).isoformat(),
        repr(float(command.timeout_seconds)),
        str(int(command.output_limit_bytes)),
        command.command,
    )
    return _DOMAIN + "\n".join(fields).encode("utf-8")


def sign_command(command: Command, key: SigningKey) -> Command:
    """``command`` with its ``signature`` set."""
    signature = _signer(key.seed).sign(signed_bytes(command)).signature
    return msgspec.structs.replace(command, signature=_b64(signature))


def verify_command(command: Command, public_key: str) -> None:
    """Return if ``command`` was signed by the holder of ``public_key``; else raise
    :class:`SignatureError` saying what is wrong."""
    _verify(f"command {command.id}", command.signature, signed_bytes(command), public_key)


def withdrawal_signed_bytes(withdrawal: CommandWithdrawal) -> bytes:
    """The exact bytes signed for ``withdrawal``: which command, on which host."""
    return _WITHDRAWAL_DOMAIN + f"{withdrawal.command_id}\n{withdrawal.host_id}".encode()


def sign_withdrawal(withdrawal: CommandWithdrawal, key: SigningKey) -> CommandWithdrawal:
    """``withdrawal`` with its ``signature`` set (the commands service's key, as commands)."""
    signature = _signer(key.seed).sign(withdrawal_signed_bytes(withdrawal)).signature
    return msgspec.structs.replace(withdrawal, signature=_b64(signature))


def verify_withdrawal(withdrawal: CommandWithdrawal, public_key: str) -> None:
    """Return if ``withdrawal`` was signed by the holder of ``public_key``; else raise
    :class:`SignatureError` saying what is wrong."""
    what = f"withdrawal of command {withdrawal.command_id}"
    _verify(what, withdrawal.signature, withdrawal_signed_bytes(withdrawal), public_key)


def _verify(what: str, signature: str | None, message: bytes, public_key: str) -> None:
    if not signature:
        raise SignatureError(f"{what} is not signed")
    try:
        verifier = nacl.signing.VerifyKey(_unb64(public_key, "public key"))
        verifier.verify(message, _unb64(signature, "signature"))
    except nacl.exceptions.BadSignatureError:
        raise SignatureError(
            f"{what}: the signature does not verify with the commands service's "
            "public key (forged, altered, or signed by another key)"
        ) from None
    except (nacl.exceptions.CryptoError, ValueError) as exc:
        raise SignatureError(f"{what}: {exc}") from None


def _signer(seed: str) -> nacl.signing.SigningKey:
    return nacl.signing.SigningKey(_unb64(seed, "signing key"))


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError(f"the {what} is not base64") from None
    expected = 64 if what == "signature" else 32
    if len(raw) != expected:
        raise SignatureError(f"the {what} is {len(raw)} bytes, not {expected}")
    return raw
