"""Password hashes, session secrets, CSRF tokens: the pure parts of logins."""

import base64
import hashlib

import pytest

from mirror_runtime.auth import credentials
from mirror_runtime.auth.passwords import (
    MIN_PASSWORD_LENGTH,
    WeakPasswordError,
    check_new_password,
    hash_password,
    needs_rehash,
    verify_password,
)


def test_a_hash_verifies_its_password_and_nothing_else() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("scrypt$131072$8$1$")
    assert verify_password("correct horse battery", stored)
    assert not verify_password("correct horse batterY", stored)
    assert not verify_password("", stored)


def test_each_hash_has_its_own_salt() -> None:
    assert hash_password("same password") != hash_password("same password")


@pytest.mark.parametrize(
    "stored", ["", "plain", "md5$x$y", "scrypt$1$2$3$!!$!!", "scrypt$a$b$c$d$e"]
)
def test_a_malformed_stored_hash_matches_nothing(stored: str) -> None:
    assert not verify_password("anything", stored)


def test_short_passwords_are_refused_naming_the_length() -> None:
    with pytest.raises(WeakPasswordError, match=f"at least {MIN_PASSWORD_LENGTH}"):
        check_new_password("short")
    check_new_password("x" * MIN_PASSWORD_LENGTH)


def test_csrf_token_belongs_to_its_session_only() -> None:
    one, two = credentials.new_session_secret(), credentials.new_session_secret()
    assert one != two
    assert credentials.csrf_matches(one, credentials.csrf_token(one))
    assert not credentials.csrf_matches(one, credentials.csrf_token(two))
    assert not credentials.csrf_matches(one, "")
    assert credentials.csrf_token(one) != credentials.digest(one)  # the stored digest is not it


def test_api_tokens_are_prefixed_and_stored_as_digests() -> None:
    token = credentials.new_api_token()
    assert token.startswith("mst_")
    assert len(token) > 40
    assert credentials.digest(token) != token
    assert len(credentials.digest(token)) == 64


def _old_hash(password: str) -> str:
    """A hash as stored before the cost was raised: scrypt N=2^15."""
    salt = b"0123456789abcdef"
    key = hashlib.scrypt(password.encode(), salt=salt, n=2**15, r=8, p=1, maxmem=2**26, dklen=32)
    return f"scrypt$32768$8$1${base64.b64encode(salt).decode()}${base64.b64encode(key).decode()}"


def test_new_hashes_cost_at_least_2_17_and_old_ones_still_verify() -> None:
    stored = hash_password("correct horse battery")
    scheme, n, r, p, _, _ = stored.split("$")
    assert (scheme, int(n) >= 2**17, r, p) == ("scrypt", True, "8", "1")
    assert not needs_rehash(stored)
    old = _old_hash("correct horse battery")
    assert verify_password("correct horse battery", old)
    assert not verify_password("correct horse batterY", old)
    assert needs_rehash(old)
