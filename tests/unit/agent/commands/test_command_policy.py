"""The `[commands]` policy: what the allowlist lets through, and exactly what runs."""

import pytest

from mirror_agent.commands.policy import SHELL, Policy, RefusedError, matches
from mirror_agent.commands.settings import DEFAULT_ALLOWLIST, CommandSettings

DEFAULT = Policy("allowlist", DEFAULT_ALLOWLIST)


@pytest.mark.parametrize(
    ("text", "argv"),
    [
        ("uptime", ("uptime",)),
        ("df -h", ("df", "-h")),
        ("free  -m", ("free", "-m")),
        ("systemctl status nginx", ("systemctl", "status", "nginx")),
        ("systemctl status 'my unit'", ("systemctl", "status", "my unit")),
        ("journalctl -n 50", ("journalctl", "-n", "50")),
        ("journalctl -n 20 -u ssh", ("journalctl", "-n", "20", "-u", "ssh")),
    ],
)
def test_the_default_allowlist_runs_read_only_commands_as_argv(
    text: str, argv: tuple[str, ...]
) -> None:
    """An allowed command runs as the argv that matched, never through a shell."""
    assert DEFAULT.argv_for(text) == argv


@pytest.mark.parametrize(
    "text",
    [
        "uptime; rm -rf /",
        "uptime;reboot",
        "uptime && reboot",
        "uptime || reboot",
        "uptime | mail x",
        "systemctl status `reboot`",
        "systemctl status $(reboot)",
        "systemctl status ${HOME}",
        "systemctl status nginx > /etc/passwd",
        "systemctl status nginx < /dev/zero",
        "systemctl status nginx &",
        "systemctl status (nginx)",
        "systemctl status nginx\nreboot",
        "systemctl status x\\;reboot",
        "systemctl status 'x;reboot'",
        'systemctl status "$(reboot)"',
    ],
)
def test_shell_syntax_never_gets_through_an_allowlist_match(text: str) -> None:
    """`;`, `&&`, `|`, backticks, `$(`, redirections: refused before any matching, even
    quoted, even where a wildcard would have matched the word."""
    with pytest.raises(RefusedError, match="shell character"):
        DEFAULT.argv_for(text)


@pytest.mark.parametrize(
    "text",
    [
        "rm -rf /",
        "reboot",
        "/usr/bin/uptime",  # the program as written: a path is not `uptime`
        "uptime now",  # one word more than the entry
        "df",  # one word fewer
        "df -H",  # case-sensitive
        "systemctl restart nginx",
        "systemctl status nginx sshd",  # `*` is one word, never several
        "systemctl status --force",  # a wildcard does not match an option
        "journalctl -n --vacuum-size=1",
    ],
)
def test_anything_else_is_rejected_with_the_reason(text: str) -> None:
    """A command that matches no entry is refused, and the reason names the allowlist."""
    with pytest.raises(RefusedError, match="matches no entry"):
        DEFAULT.argv_for(text)


def test_patterns_are_globs_over_single_words() -> None:
    """`*`, `?` and `[...]` match inside one word; an option matches only an option."""
    assert matches(["ping", "-c", "[1-3]", "*.example.com"], ["ping", "-c", "2", "a.example.com"])
    assert not matches(["ping", "-c", "[1-3]", "*"], ["ping", "-c", "9", "a"])
    assert matches(["ls", "-*"], ["ls", "-la"])
    assert not matches(["ls", "*"], ["ls", "-la"])


def test_unbalanced_quotes_and_empty_commands_are_rejected() -> None:
    """Text that does not split into words is refused, not guessed at."""
    with pytest.raises(RefusedError, match="cannot be split"):
        DEFAULT.argv_for("systemctl status 'nginx")
    with pytest.raises(RefusedError, match="empty"):
        Policy("any").argv_for("   ")


def test_mode_any_splits_without_a_shell_unless_allowed() -> None:
    """mode = "any": argv by shlex; only allow_shell hands the text to /bin/sh -c."""
    assert Policy("any").argv_for("echo a;b") == ("echo", "a;b")
    assert Policy("any", allow_shell=True).argv_for("echo a;b") == (SHELL, "-c", "echo a;b")


def test_allow_shell_changes_nothing_in_allowlist_mode() -> None:
    """An allowlisted command is never re-read by a shell, whatever allow_shell says."""
    policy = Policy("allowlist", ["echo *"], allow_shell=True)
    assert policy.argv_for("echo hi") == ("echo", "hi")
    with pytest.raises(RefusedError):
        policy.argv_for("echo $(id)")


def test_mode_off_refuses_everything() -> None:
    """With mode = "off" nothing runs."""
    with pytest.raises(RefusedError, match="off"):
        Policy("off").argv_for("uptime")


def test_the_default_config_is_the_default_allowlist() -> None:
    """Out of the box: allowlist mode with the read-only defaults, no shell, 4 at once."""
    config = CommandSettings()
    assert config.mode == "allowlist"
    assert config.allowlist == DEFAULT_ALLOWLIST
    assert config.allow_shell is False
    assert config.max_concurrent == 4
