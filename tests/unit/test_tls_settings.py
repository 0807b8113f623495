"""TLS settings: the server's block, the stack's layout and the clients' trust."""

import ssl
from pathlib import Path

import pytest
import trustme

from mirror_runtime.environment import BadValueError
from mirror_schema.nats_credentials import credential_options
from mirror_stage.stack_layout import stack_layout


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1")
    paths = {name: tmp_path / f"{name}.pem" for name in ("cert", "key", "ca")}
    issued.cert_chain_pems[0].write_to_path(str(paths["cert"]))
    issued.private_key_pem.write_to_path(str(paths["key"]))
    ca.cert_pem.write_to_path(str(paths["ca"]))
    return {name: str(path) for name, path in paths.items()}


def test_without_certificates_the_stack_is_plain() -> None:
    layout = stack_layout({})
    assert not layout.https
    assert layout.service_url("TWIN").startswith("http://")
    assert layout.nats_server_settings("users") == "users"


def test_with_certificates_nats_requires_tls_and_services_serve_https(
    files: dict[str, str],
) -> None:
    layout = stack_layout(
        {
            "MIRROR_STAGE_TLS_CERT_FILE": files["cert"],
            "MIRROR_STAGE_TLS_KEY_FILE": files["key"],
            "MIRROR_STAGE_TLS_CA_FILE": files["ca"],
        }
    )
    assert layout.https
    assert layout.service_url("COMMANDS").startswith("https://")
    settings = layout.nats_server_settings("users\n")
    assert settings.startswith("users\ntls {")
    assert f'cert_file: "{files["cert"]}"' in settings
    assert f'key_file: "{files["key"]}"' in settings


def test_a_missing_certificate_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(BadValueError, match="MIRROR_STAGE_TLS_CERT_FILE"):
        stack_layout({"MIRROR_STAGE_TLS_CERT_FILE": str(tmp_path / "nope.pem")})


def test_clients_trust_the_given_authority(files: dict[str, str]) -> None:
    assert "tls" not in credential_options(None)
    options = credential_options(None, files["ca"])
    assert isinstance(options["tls"], ssl.SSLContext)
    assert options["tls"].verify_mode == ssl.CERT_REQUIRED
    assert options["tls"].get_ca_certs()  # the authority was loaded


def test_a_certificate_without_its_key_is_refused(files: dict[str, str]) -> None:
    with pytest.raises(BadValueError, match="MIRROR_STAGE_TLS_KEY_FILE"):
        stack_layout({"MIRROR_STAGE_TLS_CERT_FILE": files["cert"]})
