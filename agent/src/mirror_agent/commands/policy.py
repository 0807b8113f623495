"""Command policy: whether this host runs a command, and the exact argv it runs as.

Matching rule of `mode = "allowlist"`:

1. The command text may not contain a shell control character: ``; & | ` $ < > ( ) { } \\``
   or any control character (newline, tab, NUL...). Such a command is refused outright,
   before any matching, so ``;``, ``&&``, ``|``, backticks and ``$(`` can never get through.
2. The text is split into words with POSIX shell quoting rules (`shlex.split`); text that
   does not split (an unbalanced quote) is refused.
3. Each allowlist entry is split the same way. An entry matches when it has exactly as many
   words as the command and every entry word matches the command word at the same place
   with `fnmatch.fnmatchcase` (`*` any run of characters inside that one word, `?` one
   character, `[...]` a class; case-sensitive). A `*` never spans several words.
4. An entry word that does not begin with `-` never matches a command word that does: a
   wildcard cannot let an option through (`journalctl -n *` accepts
   `journalctl -n 50`, not `journalctl -n --vacuum-size=1`).
5. The program is the first word as written (`uptime`, not `/usr/bin/uptime`), found on
   the executor's fixed PATH.

The argv that matched is what runs, with no shell, whatever `allow_shell` says: an allowlisted
command is never re-read by a shell. `allow_shell` applies to `mode = "any"` only.
"""

import fnmatch
import re
import shlex
from collections.abc import Sequence
from typing import Literal

SHELL = "/bin/sh"
# Characters a shell gives meaning to beyond word splitting and quoting, and every control
# character: refused in allowlist mode even though no shell ever sees the command.
_FORBIDDEN_RE = re.compile(r"[;&|`$<>(){}\\\x00-\x1f\x7f]")


class RefusedError(Exception):
    """The policy does not allow the command; `reason` says why, for the operator."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class Policy:
    """What the `[commands]` config allows, ready to decide."""

    def __init__(
        self,
        mode: Literal["off", "allowlist", "any"],
        allowlist: Sequence[str] = (),
        *,
        allow_shell: bool = False,
    ) -> None:
        self.mode = mode
        self.allow_shell = allow_shell
        # Split once; the config's validation made sure every entry splits.
        self.patterns = tuple(tuple(shlex.split(entry)) for entry in allowlist)

    def argv_for(self, text: str) -> tuple[str, ...]:
        """The argv to execute for `text`; raises RefusedError when the policy refuses it."""
        if self.mode == "off":
            raise RefusedError('commands are off on this host ([commands] mode = "off")')
        if self.mode == "any" and self.allow_shell:
            if not text.strip():
                raise RefusedError("the command is empty")
            return (SHELL, "-c", text)
        if self.mode == "allowlist":
            forbidden = _FORBIDDEN_RE.search(text)
            if forbidden:
                raise RefusedError(
                    f"the command contains the shell character {forbidden.group()!r}; the "
                    "allowlist accepts plain commands only (no ; & | ` $ < > ( ) { } \\ or "
                    "control characters)"
                )
        try:
            argv = tuple(shlex.split(text))
        except ValueError as exc:
            raise RefusedError(f"the command cannot be split into words: {exc}") from None
        if not argv:
            raise RefusedError("the command is empty")
        if self.mode == "allowlist" and not any(
            matches(pattern, argv) for pattern in self.patterns
        ):
            raise RefusedError(
                f"{shlex.join(argv)!r} matches no entry of this host's [commands] allowlist"
            )
        return argv


def matches(pattern: Sequence[str], argv: Sequence[str]) -> bool:
    """Whether `argv` matches one allowlist entry's words (rules 3 and 4 of this module)."""
    if len(pattern) != len(argv):
        return False
    for word_pattern, word in zip(pattern, argv, strict=True):
        if word.startswith("-") and not word_pattern.startswith("-"):
            return False
        if not fnmatch.fnmatchcase(word, word_pattern):
            return False
    return True
