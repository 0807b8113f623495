"""deploy/compose.yaml and deploy/Dockerfile, checked without a Docker engine: the Compose
specification's schema, then every service name, command, port, variable and mounted file
against the code that reads them."""

import importlib
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from ruamel.yaml import YAML

from mirror_runtime.config import PORTS
from mirror_runtime.environment import known_variables
from mirror_stage.cli import parser
from mirror_stage.compose_init import DATABASE_SERVICES, NATS_DATA, Owner, compose_init
from mirror_stage.database import read_password, role_names
from mirror_stage.stack_layout import stack_layout

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
SERVICES = ("twin", "ingest", "alerts", "commands")
PUBLISH = "${MIRROR_STAGE_PUBLISH_ADDRESS:-0.0.0.0}"


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe").load(COMPOSE.read_text())
    return loaded


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> volume name (or host path) of a service's volumes."""
    found = {}
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        found[target] = source
    return found


def test_the_file_follows_the_compose_specification() -> None:
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


class Exported:
    """What the init service writes, made here in a temp dir, and where each container sees
    it: `on_host(path, service)` is the file behind `path` inside `service`."""

    def __init__(self, base: Path) -> None:
        self.spec = compose()["services"]
        self.args = parser().parse_args(self.spec["init"]["command"][1:])
        self.init_mounts = {volume: path for path, volume in mounts(self.spec["init"]).items()}
        self.export = base / "export"
        layout = stack_layout({}, data_dir=base / "state", log_format="json")
        compose_init(layout, self.export, Owner(os.getuid(), os.getgid()))

    def on_host(self, container: str, service: dict[str, Any]) -> Path:
        for target, volume in mounts(service).items():
            if container.startswith(target + "/"):
                relative = Path(self.init_mounts[volume]).relative_to(self.args.export)
                return self.export / relative / container.removeprefix(target + "/")
        raise AssertionError(f"{container} is on no volume of {service}")


@pytest.fixture
def exported(tmp_path: Path) -> Exported:
    return Exported(tmp_path)


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_runs_its_module_on_its_port_with_a_config_the_code_accepts(
    name: str, exported: Exported
) -> None:
    service = exported.spec[name]
    assert service["command"] == ["python", "-m", f"mirror_{name}"]
    assert importlib.util.find_spec(f"mirror_{name}.__main__") is not None
    environment = dict(service["environment"])
    assert set(environment) <= known_variables(), set(environment) - known_variables()
    for variable, value in environment.items():
        if variable.endswith("_FILE"):  # read at start-up: the file the init service wrote
            environment[variable] = str(exported.on_host(value, service))
            assert Path(environment[variable]).is_file(), variable
    config = importlib.import_module(f"mirror_{name}.config").from_env(environment)
    port = config.service.http_port
    assert port == PORTS[name.upper()].default
    assert service["healthcheck"]["test"] == [
        "CMD-SHELL",
        f"python -m mirror_stage.healthcheck http://127.0.0.1:{port}/api/health",
    ]
    # Published where MIRROR_STAGE_<NAME>_HOST_PORT says (the e2e test picks free ones).
    variable = f"MIRROR_STAGE_{name.upper()}_HOST_PORT"
    assert service["ports"] == [f"{PUBLISH}:${{{variable}:-{port}}}:{port}"]
    assert service["restart"] == "unless-stopped"
    assert service["read_only"] is True
    assert service["depends_on"]["init"] == {"condition": "service_completed_successfully"}
    assert service["depends_on"]["nats"] == {"condition": "service_healthy"}
    if name in DATABASE_SERVICES:
        assert service["depends_on"]["postgres"] == {"condition": "service_healthy"}
        # Its role is made, the schema migrated and its grants given before it starts.
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert config.service.db_url == environment["MIRROR_STAGE_DB_URL"]
    else:
        assert "MIRROR_STAGE_DB_URL" not in environment


def test_the_migrate_step_runs_once_postgres_answers_and_before_any_service() -> None:
    """It makes the roles, migrates as the owner and grants each service its own; as the
    image's user, hardened like the services, with the superuser's password read-only."""
    spec = compose()["services"]
    migrate = spec["migrate"]
    args = parser().parse_args(migrate["command"][1:])
    assert (args.command, args.action) == ("db", "migrate")
    assert migrate["depends_on"] == {
        "init": {"condition": "service_completed_successfully"},
        "postgres": {"condition": "service_healthy"},
    }
    assert migrate["restart"] == "no"
    assert "user" not in migrate  # the image's: 10001
    assert migrate["read_only"] is True
    assert migrate["cap_drop"] == ["ALL"]
    assert set(migrate["environment"]) <= known_variables()
    assert all(volume.endswith(":ro") for volume in migrate["volumes"])
    assert mounts(migrate)[str(args.passwords)] == "database-auth"
    for name in SERVICES:  # no service mounts the roles' passwords
        assert "database-auth" not in mounts(spec[name]).values()


def test_the_image_defaults_and_exposed_ports_match_the_services() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    exposed = re.search(r"^EXPOSE (.+)$", dockerfile, re.MULTILINE)
    assert exposed is not None
    default_ports = sorted(setting.default for setting in PORTS.values())
    assert sorted(int(p) for p in exposed.group(1).split()) == default_ports


def test_each_container_finds_the_files_the_init_service_writes_for_it(
    exported: Exported,
) -> None:
    """The init's export volumes are mounted where each consumer's settings look: its NATS
    seed, its database password file, the users block nats includes, postgres's password."""
    spec, args = exported.spec, exported.args
    migrate = parser().parse_args(spec["migrate"]["command"][1:])
    migrate_passwords = str(migrate.passwords)
    assert args.command == "compose-init"
    assert args.owner == "10001:10001"
    assert "USER 10001:10001" in (DEPLOY / "Dockerfile").read_text()
    assert exported.init_mounts["state"] == str(args.data_dir)
    for name in SERVICES:
        environment = spec[name]["environment"]
        seed = exported.on_host(environment["MIRROR_STAGE_NATS_CREDENTIALS_FILE"], spec[name])
        assert seed.read_text().startswith("SU")  # an NKey user seed
        if name in DATABASE_SERVICES:
            # Its own role, whose password is the one the migrate step gives that role.
            url = urlsplit(environment["MIRROR_STAGE_DB_URL"])
            passfile = exported.on_host(parse_qs(url.query)["passfile"][0], spec[name])
            host, port, _, user, password = passfile.read_text().strip().split(":")
            assert (host, int(port), user) == (url.hostname, url.port, url.username)
            assert url.username == role_names()[name]
            given = exported.on_host(f"{migrate_passwords}/{user}.pgpass", spec["migrate"])
            assert read_password(given) == password
    # The migrate step connects as postgres's superuser, with the password postgres set.
    admin = urlsplit(spec["migrate"]["environment"]["MIRROR_STAGE_DB_URL"])
    assert admin.username == spec["postgres"]["environment"]["POSTGRES_USER"]
    assert admin.path == "/" + spec["postgres"]["environment"]["POSTGRES_DB"]
    passfile = exported.on_host(parse_qs(admin.query)["passfile"][0], spec["migrate"])
    host, port, _, user, password = passfile.read_text().strip().split(":")
    assert (host, int(port), user) == (admin.hostname, admin.port, admin.username)
    postgres_password = spec["postgres"]["environment"]["POSTGRES_PASSWORD_FILE"]
    on_host = exported.on_host(postgres_password, spec["postgres"])
    assert on_host.read_text().strip() == password
    nats_config = DEPLOY / "nats" / "nats.conf"
    include = re.search(r'^include "(.+)"$', nats_config.read_text(), re.MULTILINE)
    assert include is not None
    assert mounts(spec["nats"])["/etc/nats/nats.conf"] == "./nats/nats.conf"
    users = exported.on_host(f"/etc/nats/{include.group(1)}", spec["nats"])
    assert users.read_text().startswith("accounts {")
    # nats's store is where the init service hands old streams to STAGE.
    store = re.search(r'store_dir: "(.+)"', nats_config.read_text())
    assert store is not None
    marker = exported.on_host(f"{store.group(1)}/jetstream", spec["nats"])
    assert marker == exported.export / NATS_DATA / "jetstream"


def test_the_image_is_built_offline_from_the_wheelhouse_on_a_base_given_as_an_argument() -> None:
    """The build context is deploy/wheelhouse.sh's output alone (the two folders it makes):
    no sources, no secrets; nothing is fetched while building; the base image is an argument
    (the official slim one by default), the user not root."""
    build = compose()["x-image"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
    assert build["context"] == "wheelhouse"
    assert "deploy/wheelhouse/" in (ROOT / ".gitignore").read_text().splitlines()
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^ARG BASE_IMAGE=python:3\.11-slim-bookworm$", dockerfile, re.MULTILINE)
    froms = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert froms == ["${BASE_IMAGE}", "${BASE_IMAGE}"]  # build, then runtime
    copied = re.findall(r"^COPY (?!--from=build )(\S+)", dockerfile, re.MULTILINE)
    script = (DEPLOY / "wheelhouse.sh").read_text()
    for source in copied:
        assert f'"$out/{source}' in script, source  # a folder the script makes
    installs = re.findall(r"pip install[^\n]*", dockerfile)
    assert installs
    assert all("--no-index" in line for line in installs)
    assert "--require-hashes" in script  # the downloads checked against the lock
    assert "USER 10001:10001" in dockerfile


def test_images_ports_and_health_checks_suit_podman_compose_too() -> None:
    """Every image can be replaced (the e2e test builds its own: no registry there), the
    published address and ports chosen; health checks in the CMD-SHELL form (podman-compose
    1.0.3 mangles the CMD form's arguments)."""
    spec = compose()["services"]
    assert compose()["x-image"]["image"] == "${IMAGE:-mirror-stage:latest}"
    assert spec["nats"]["image"] == "${NATS_IMAGE:-nats:2.10-alpine}"
    assert spec["postgres"]["image"] == "${POSTGRES_IMAGE:-postgres:16-alpine}"
    assert spec["nats"]["ports"] == [f"{PUBLISH}:${{MIRROR_STAGE_NATS_HOST_PORT:-4222}}:4222"]
    for name, service in spec.items():
        if "healthcheck" in service:
            assert service["healthcheck"]["test"][0] == "CMD-SHELL", name
    # Over TCP: the socket answers while the image's first start makes the database, before
    # postgres listens for the other containers.
    assert "--host 127.0.0.1" in spec["postgres"]["healthcheck"]["test"][1]


def test_the_migrate_step_waits_for_postgres_and_makes_the_first_admin() -> None:
    """podman-compose starts it beside postgres (it ignores `condition:`): it waits itself;
    the first admin's one-time password is in its log, once."""
    args = parser().parse_args(compose()["services"]["migrate"]["command"][1:])
    assert args.wait >= 60
    assert args.first_admin is True


def test_every_variable_of_the_file_is_documented() -> None:
    """docs/operations.md's compose section names each ${VARIABLE} the file reads."""
    variables = set(re.findall(r"\$\{([A-Z_]+)", COMPOSE.read_text()))
    assert "NATS_IMAGE" in variables
    docs = (ROOT / "docs" / "operations.md").read_text()
    section = docs[docs.index("## Docker Compose") :].split("\n## ", 1)[0]
    named = set(re.findall(r"`([A-Z_]+)`", section))
    for group in re.findall(r"`MIRROR_STAGE_\{([A-Z,]+)\}_HOST_PORT`", section):
        named |= {f"MIRROR_STAGE_{name}_HOST_PORT" for name in group.split(",")}
    assert variables - named == set()
