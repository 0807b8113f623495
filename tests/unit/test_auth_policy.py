"""Which role each route needs, and the auth settings read from the environment."""

from pathlib import Path

import pytest

from mirror_runtime.auth.policy import AccessPolicy
from mirror_runtime.config import service_config_from_env
from mirror_runtime.environment import BadValueError, ConfigError
from mirror_schema.auth_api import role_allows


@pytest.mark.parametrize(
    ("method", "path", "needed"),
    [
        ("GET", "/api/health", None),
        ("GET", "/metrics", None),
        ("POST", "/api/auth/login", None),
        ("GET", "/", None),  # the HUD's page and assets: the login form lives there
        ("GET", "/app.js", None),
        ("GET", "/api/commands", "viewer"),
        ("GET", "/ws/twin", "viewer"),
        ("POST", "/api/auth/logout", "viewer"),
        ("POST", "/api/auth/password", "viewer"),
        ("POST", "/api/commands", "operator"),
        ("PUT", "/api/twin/hosts/a/placement", "operator"),
        ("DELETE", "/api/alerts/rules/r1", "operator"),
        ("POST", "/api/metrics/batch", "operator"),  # public only where a service says so
    ],
)
def test_reads_need_a_viewer_and_changes_an_operator(
    method: str, path: str, needed: str | None
) -> None:
    assert AccessPolicy().required_role(method, path) == needed


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/admin/users"),
        ("GET", "/api/admin/tokens"),
        ("POST", "/api/admin/users"),
        ("PUT", "/api/admin/users/vera/role"),
        ("DELETE", "/api/admin/tokens/ci"),
        ("GET", "/api/admin"),
    ],
)
def test_users_and_tokens_need_an_admin_even_to_read(method: str, path: str) -> None:
    assert AccessPolicy().required_role(method, path) == "admin"
    assert not role_allows("operator", "admin")


def test_a_service_may_open_routes_of_its_own() -> None:
    policy = AccessPolicy({("POST", "/api/metrics/batch")})
    assert policy.required_role("POST", "/api/metrics/batch") is None
    assert policy.required_role("GET", "/api/metrics/batch") == "viewer"


def test_each_role_includes_the_ones_before_it() -> None:
    assert role_allows("admin", "operator")
    assert role_allows("operator", "viewer")
    assert role_allows("viewer", "viewer")
    assert not role_allows("viewer", "operator")
    assert not role_allows("operator", "admin")


def test_logins_are_on_unless_turned_off() -> None:
    assert service_config_from_env("x", "TWIN", {}).auth.enabled
    off = service_config_from_env("x", "TWIN", {"MIRROR_STAGE_HTTP_AUTH": "off"})
    assert not off.auth.enabled
    with pytest.raises(BadValueError, match="MIRROR_STAGE_HTTP_AUTH"):
        service_config_from_env("x", "TWIN", {"MIRROR_STAGE_HTTP_AUTH": "maybe"})


def test_lockout_and_session_settings_are_read() -> None:
    config = service_config_from_env(
        "x",
        "TWIN",
        {
            "MIRROR_STAGE_LOGIN_LOCKOUT_FAILURES": "3",
            "MIRROR_STAGE_LOGIN_LOCKOUT_MINUTES": "2",
            "MIRROR_STAGE_SESSION_HOURS": "1",
            "MIRROR_STAGE_SESSION_IDLE_MINUTES": "10",
        },
    )
    assert (config.auth.lockout_failures, config.auth.lockout_minutes) == (3, 2.0)
    assert (config.auth.session_hours, config.auth.idle_minutes) == (1.0, 10.0)
    with pytest.raises(ConfigError, match="LOCKOUT_FAILURES"):
        service_config_from_env("x", "TWIN", {"MIRROR_STAGE_LOGIN_LOCKOUT_FAILURES": "0"})


def test_tls_needs_both_files(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    with pytest.raises(BadValueError, match="MIRROR_STAGE_TLS_KEY_FILE"):
        service_config_from_env("x", "TWIN", {"MIRROR_STAGE_TLS_CERT_FILE": str(cert)})
    both = service_config_from_env(
        "x",
        "TWIN",
        {"MIRROR_STAGE_TLS_CERT_FILE": str(cert), "MIRROR_STAGE_TLS_KEY_FILE": str(cert)},
    )
    assert both.tls_cert_file == str(cert)
    assert both.auth.secure_cookies
