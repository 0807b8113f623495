"""Setting: one MIRROR_STAGE_* variable, declared once beside the config it fills.

A declaration carries the variable's name, its default, how a value is parsed (and what a
valid one looks like) and what it means; the reader, the set of known variables and the tables
of docs/configuration.md are all made from it.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

PREFIX = "MIRROR_STAGE_"


class ConfigError(ValueError):
    """A MIRROR_STAGE_* variable is unknown or has a bad value."""


class BadValueError(ConfigError):
    """A known variable whose value cannot be used."""

    def __init__(self, name: str, value: str, expected: str) -> None:
        self.name = name
        self.value = value
        super().__init__(f"{name}={value!r} is not valid: expected {expected}")


@dataclass(frozen=True)
class Parser(Generic[T_co]):
    """Turns a variable's text into its value, or raises BadValueError naming the variable."""

    # (variable, text) -> value
    convert: Callable[[str, str], T_co]
    # What a valid value looks like, as the docs' tables show it.
    accepts: str


@dataclass(frozen=True, kw_only=True)
class Setting(Generic[T]):
    """A MIRROR_STAGE_* variable: its name, default, parser and meaning."""

    variable: str
    default: T
    parser: Parser[T]
    meaning: str
    # How the docs show the default when the value alone would not say it (e.g. "embedded").
    default_text: str | None = None

    def read(self, env: Mapping[str, str]) -> T:
        """The variable's value in `env`, or the default when it is not set."""
        raw = env.get(self.variable)
        return self.default if raw is None else self.parser.convert(self.variable, raw)

    @property
    def shown_default(self) -> str:
        """The default as the docs' tables show it."""
        if self.default_text is not None:
            return self.default_text
        return shown_value(self.default)


def shown_value(value: object) -> str:
    """A default in the docs: switches as on/off, whole numbers without a decimal point."""
    if value is None or value == ():
        return "none"
    if isinstance(value, bool):
        return "`on`" if value else "`off`"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    return f"`{value}`"


@dataclass(frozen=True, kw_only=True)
class SettingGroup:
    """The settings one part of the stack declares; registered under the entry-point group
    `mirror_stage.settings`, so every part knows every other part's variables."""

    title: str
    # Where the docs list the group, lowest first: the shared settings, then each service's,
    # the launcher's, the test suite's.
    order: int
    settings: tuple[Setting[Any], ...]
