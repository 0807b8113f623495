"""The tables of docs/configuration.md, made from the declarations: every part's settings, and
the agent's config Struct.

`python -m mirror_stage.configuration_docs [FILE]` (run by `make docs`) rewrites what lies
between each pair of markers and leaves the hand-written prose around them alone.
"""

import sys
from collections.abc import Sequence
from pathlib import Path

from mirror_agent.config import AgentConfig
from mirror_runtime.environment import setting_groups
from mirror_runtime.setting import SettingGroup
from mirror_stage.struct_table import cell, struct_table

DEFAULT_DOCUMENT = Path("docs/configuration.md")
SETTINGS_BLOCK = "configuration"
AGENT_BLOCK = "agent configuration"


def markers(block: str) -> tuple[str, str]:
    """The comments that open and close a generated block."""
    return (
        f"<!-- generated: {block} (edit the declarations, then run make docs) -->",
        f"<!-- end generated: {block} -->",
    )


def with_generated(document: str, block: str, content: str) -> str:
    """`document` with what lies between `block`'s markers replaced by `content`."""
    begin, end = markers(block)
    if document.count(begin) != 1 or document.count(end) != 1:
        raise ValueError(f"the document needs the markers once each: {begin} ... {end}")
    start = document.index(begin)
    stop = document.index(end)
    if stop < start:
        raise ValueError(f"{end} comes before {begin}")
    return f"{document[:start]}{begin}\n\n{content}\n\n{document[stop:]}"


def group_table(group: SettingGroup) -> str:
    """One part's settings: a heading and a table."""
    rows = [
        f"| `{setting.variable}` | {cell(setting.shown_default)} | {cell(setting.parser.accepts)} "
        f"| {cell(setting.meaning)} |"
        for setting in group.settings
    ]
    header = ["| variable | default | accepts | meaning |", "|---|---|---|---|"]
    return "\n".join([f"### {group.title}", "", *header, *rows])


def settings_tables(groups: Sequence[SettingGroup]) -> str:
    """Every part's table."""
    return "\n\n".join(group_table(group) for group in groups)


def regenerated(document: str, groups: Sequence[SettingGroup]) -> str:
    """docs/configuration.md with fresh tables."""
    document = with_generated(document, SETTINGS_BLOCK, settings_tables(groups))
    return with_generated(document, AGENT_BLOCK, struct_table(AgentConfig))


def main(argv: Sequence[str] = ()) -> int:
    """Rewrite the tables of FILE (docs/configuration.md by default) when they are stale."""
    path = Path(argv[0]) if argv else DEFAULT_DOCUMENT
    document = path.read_text()
    updated = regenerated(document, setting_groups())
    if updated != document:
        path.write_text(updated)
        print(f"{path}: configuration tables updated")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
