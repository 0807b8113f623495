"""Sandbox: the user, environment and directory a command runs with; nothing is inherited."""

import os
import pwd
from dataclasses import dataclass, field

# Fixed, so that what `uptime` means does not depend on how the agent was started.
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LANG = "C.UTF-8"


@dataclass(frozen=True)
class Sandbox:
    """How to spawn a command: its environment, directory and (as root) its user."""

    env: dict[str, str]
    cwd: str
    uid: int | None = None  # None: the agent's own user
    gid: int | None = None
    groups: list[int] = field(default_factory=list)


def sandbox_for(run_as: str | None) -> Sandbox:
    """The sandbox for `run_as` (validated at start-up), or for the agent's own user."""
    entry = pwd.getpwnam(run_as) if run_as else _own_entry()
    home = entry.pw_dir if entry and os.path.isdir(entry.pw_dir) else "/"
    env = {"PATH": SAFE_PATH, "LANG": LANG, "HOME": home}
    if entry is None or entry.pw_uid == os.geteuid():
        return Sandbox(env=env, cwd=home)
    return Sandbox(
        env=env,
        cwd=home,
        uid=entry.pw_uid,
        gid=entry.pw_gid,
        groups=os.getgrouplist(entry.pw_name, entry.pw_gid),
    )


def _own_entry() -> pwd.struct_passwd | None:
    try:
        return pwd.getpwuid(os.geteuid())
    except KeyError:  # a DynamicUser= or container uid with no passwd entry
        return None
