"""CommandSettings: the `[commands]` table of the agent's TOML file, and its start-up checks."""

import base64
import binascii
import os
import pwd
import shlex
from pathlib import Path
from typing import Annotated, Literal

import msgspec

PUBLIC_KEY_BYTES = 32  # ed25519

# Read-only commands an operator needs most, as argv patterns (matching rule: policy.py).
DEFAULT_ALLOWLIST: tuple[str, ...] = (
    "uptime",
    "df -h",
    "free -m",
    "uname -a",
    "systemctl status *",
    "systemctl is-active *",
    "journalctl -n *",
    "journalctl -n * -u *",
    "journalctl -u * -n *",
)


class CommandSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How this host takes commands; every key of `[commands]`, with its default."""

    # "off": no consumer, no command ever runs; "allowlist": only commands matching
    # `allowlist`; "any": every command (a shell only with allow_shell).
    mode: Literal["off", "allowlist", "any"] = "allowlist"
    allowlist: tuple[str, ...] = DEFAULT_ALLOWLIST
    # With mode = "any": run the text through /bin/sh -c. Never used in allowlist mode.
    allow_shell: bool = False
    # The user commands run as; honoured only when the agent runs as root.
    run_as: str | None = None
    max_concurrent: Annotated[int, msgspec.Meta(ge=1, le=64)] = 4
    # Where the journal (commands-<host id>.journal) lives; default: beside buffer_dir.
    state_dir: str | None = None
    # A command without expires_at counts as expired this long after its created_at.
    max_age_seconds: Annotated[float, msgspec.Meta(gt=0)] = 86_400.0
    # On timeout or cancel: SIGTERM to the process group, SIGKILL this much later.
    kill_grace_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)] = 2.0
    # Ids of commands that could still run are never forgotten: at this many the agent takes
    # no new command until the oldest expire (journal.py).
    journal_max_entries: Annotated[int, msgspec.Meta(ge=100)] = 10_000
    max_deliver: Annotated[int, msgspec.Meta(ge=1, le=100)] = 5
    # The commands service's public key (base64 ed25519; GET /api/commands/signing-key).
    # Every command must carry its signature; without a key no command is taken.
    signing_public_key: str | None = None


def command_settings_error(config: CommandSettings) -> str | None:
    """What is wrong with `[commands]` on this machine, naming the key; None when all is well."""
    if config.mode == "off":
        return None
    for pattern in config.allowlist:
        try:
            tokens = shlex.split(pattern)
        except ValueError as exc:
            return f"[commands] allowlist entry {pattern!r} cannot be split into words: {exc}"
        if not tokens:
            return f"[commands] allowlist entry {pattern!r} is empty"
    if config.signing_public_key is not None:
        problem = public_key_error(config.signing_public_key)
        if problem is not None:
            return f"[commands] signing_public_key: {problem}"
    if config.run_as is not None:
        return run_as_error(config.run_as)
    return None


def public_key_error(key: str) -> str | None:
    """Why `key` is not a base64 ed25519 public key; None when it is one."""
    try:
        raw = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        return f"{key!r} is not base64"
    if len(raw) != PUBLIC_KEY_BYTES:
        return f"{key!r} is {len(raw)} bytes once decoded, not {PUBLIC_KEY_BYTES}"
    return None


def run_as_error(user: str) -> str | None:
    """Why commands cannot run as `user` here (unknown user, agent not root); None if they can."""
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return f"[commands] run_as = {user!r}: no such user on this host"
    uid = os.geteuid()
    if uid != 0 and entry.pw_uid != uid:
        return (
            f"[commands] run_as = {user!r} needs the agent to run as root, but it runs as uid "
            f"{uid}; remove run_as (commands then run as the agent's own user) or run as root"
        )
    return None


def journal_path(config: CommandSettings, buffer_dir: str | None, host_id: str) -> Path | None:
    """The journal file: in state_dir, else in the directory holding buffer_dir; None when
    neither is set. Named after the host, as its consumer is: a renamed host starts afresh."""
    name = f"commands-{host_id}.journal"
    if config.state_dir:
        return Path(config.state_dir) / name
    if buffer_dir:
        return Path(buffer_dir).resolve().parent / name
    return None
