"""Password hashing with scrypt (a slow, memory-hard KDF from the standard library)."""

import base64
import hashlib
import hmac
import secrets
from typing import Final

# 2**15 x 8 x 128 bytes = 32 MiB and about 0.1 s a hash on one core: slow for a guesser,
# bearable for a login. Stored with the hash, so raising them later keeps old hashes valid.
COST: Final = 2**15
BLOCK_SIZE: Final = 8
PARALLELISM: Final = 1
KEY_BYTES: Final = 32
SALT_BYTES: Final = 16
MIN_PASSWORD_LENGTH: Final = 12
SCHEME: Final = "scrypt"


class WeakPasswordError(ValueError):
    """A new password too short to set."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=2 * 128 * n * r + 2**20, dklen=KEY_BYTES
    )


def check_new_password(password: str) -> None:
    """Refuse a password shorter than MIN_PASSWORD_LENGTH characters."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPasswordError(
            f"password: at least {MIN_PASSWORD_LENGTH} characters (got {len(password)})"
        )


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$key`` (base64), with a fresh salt."""
    salt = secrets.token_bytes(SALT_BYTES)
    key = _scrypt(password, salt, COST, BLOCK_SIZE, PARALLELISM)
    return f"{SCHEME}${COST}${BLOCK_SIZE}${PARALLELISM}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches `stored` (a malformed stored hash matches nothing)."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != SCHEME:
            return False
        actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
        return hmac.compare_digest(actual, base64.b64decode(key))
    except ValueError:
        return False


# Checked against when the user does not exist, so that an unknown name takes as long as a
# wrong password and the timing does not tell which names exist.
UNKNOWN_USER_HASH: Final = hash_password(secrets.token_urlsafe(16))
