"""Files holding something secret (a password, every identity's key): never readable by
others, not even for the moment between creating and writing them."""

import os
from pathlib import Path


def write_private(path: Path, content: str) -> None:
    """Write `content` to `path` whole (a reader sees the old file or the new one, never half
    of one), mode 0600 from before anything is in it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(content)
    staging.replace(path)
