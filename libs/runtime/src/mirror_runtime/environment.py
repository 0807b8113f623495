"""The MIRROR_STAGE_* environment: every part's declared settings, and unknown names refused.

Each part of the stack declares its settings beside its config (a SettingGroup) and registers
them under the entry-point group `mirror_stage.settings` of its package; the known variables are
every registered declaration's. A service must know the others' too: the launcher hands every
child the whole environment, and a variable no part declares is most likely a typo.
"""

import functools
from collections.abc import Mapping
from importlib.metadata import entry_points

from mirror_runtime.setting import PREFIX, BadValueError, ConfigError, SettingGroup

__all__ = [
    "ENTRY_POINT_GROUP",
    "PREFIX",
    "BadValueError",
    "ConfigError",
    "UnknownVariableError",
    "known_variables",
    "setting_groups",
    "stage_environment",
]

ENTRY_POINT_GROUP = "mirror_stage.settings"


class UnknownVariableError(ConfigError):
    """A MIRROR_STAGE_* variable that no part of the stack reads: most likely a typo."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        known = ", ".join(sorted(known_variables()))
        if not known:
            # Entry points are package metadata: sources run without installing have none.
            known = f"none, as no installed package registers {ENTRY_POINT_GROUP} (make install)"
        super().__init__(
            f"unknown environment variable(s) {', '.join(names)}; the known ones are: {known}"
        )


@functools.cache
def setting_groups() -> tuple[SettingGroup, ...]:
    """Every installed part's settings, in the docs' order."""
    groups = [entry.load() for entry in entry_points(group=ENTRY_POINT_GROUP)]
    for group in groups:
        if not isinstance(group, SettingGroup):
            raise TypeError(f"{ENTRY_POINT_GROUP} entry point gave {group!r}, not a SettingGroup")
    return tuple(sorted(groups, key=lambda group: (group.order, group.title)))


@functools.cache
def known_variables() -> frozenset[str]:
    """The name of every declared MIRROR_STAGE_* variable."""
    return frozenset(setting.variable for group in setting_groups() for setting in group.settings)


def stage_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """Return the MIRROR_STAGE_* variables of `environ`, refusing any unknown name."""
    ours = {name: value for name, value in environ.items() if name.startswith(PREFIX)}
    unknown = sorted(name for name in ours if name not in known_variables())
    if unknown:
        raise UnknownVariableError(unknown)
    return ours
