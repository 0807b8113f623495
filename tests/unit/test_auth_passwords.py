"""Password hashes, session secrets, CSRF tokens: the pure parts of logins."""

import pytest

from mirror_runtime.auth import credentials
from mirror_runtime.auth.passwords import (
    MIN_PASSWORD_LENGTH,
    WeakPasswordError,
    check_new_password,
    hash_password,
    verify_password,
)


def test_a_hash_verifies_its_password_and_nothing_else() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("scrypt$32768$8$1$")
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
