"""Files holding something secret (a password, every identity's key): never readable by
others, not even for the moment between creating and writing them."""

from pathlib import Path


def write_private(path: Path, content: str) -> None:
    """Write `content` to `path`, mode 0600 before anything is in it (an existing file is
    narrowed first, and made writable again if a previous run left it read-only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(content)
