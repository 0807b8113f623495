"""Password hashing with scrypt (a slow, memory-hard KDF from the standard library)."""

import base64
import functools
import hashlib
import hmac
import secrets
from typing import Final

# 2**17 x 8 x 128 bytes = 128 MiB and about 0.3 s a hash on one core: slow for a guesser,
# bearable for a login. Stored with each hash (``scrypt$n$r$p$salt$key``), so a hash made with
# other parameters still verifies, and is made again with these at its user's next login.
COST: Final = 2**17
BLOCK_SIZE: Final = 8
PARALLELISM: Final = 1
KEY_BYTES: Final = 32
SALT_BYTES: Final = 16
MIN_PASSWORD_LENGTH: Final = 12
SCHEME: Final = "scrypt"
# Stored parameters past these are refused rather than run (a hash is data from the database).
MAX_COST: Final = 2**20
MAX_BLOCK_SIZE: Final = 32
MAX_PARALLELISM: Final = 16


class WeakPasswordError(ValueError):
    """A new password too short to set."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    if not (1 < n <= MAX_COST and 0 < r <= MAX_BLOCK_SIZE and 0 < p <= MAX_PARALLELISM):
        raise ValueError(f"scrypt parameters out of range: n={n}, r={r}, p={p}")
    # scrypt needs 128 * n * r bytes (plus 128 * r * p): maxmem leaves room for both.
    maxmem = 128 * n * r + 128 * r * p + 2**20
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=KEY_BYTES
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


def needs_rehash(stored: str) -> bool:
    """Whether `stored` was made with other parameters than today's."""
    return not stored.startswith(f"{SCHEME}${COST}${BLOCK_SIZE}${PARALLELISM}$")


@functools.cache
def unknown_user_hash() -> str:
    """Checked against when the user does not exist, so that an unknown name takes as long as
    a wrong password and the timing does not tell which names exist (made at first use)."""
    return hash_password(secrets.token_urlsafe(16))
