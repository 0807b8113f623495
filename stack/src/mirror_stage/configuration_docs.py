"""The tables of docs/configuration.md, made from every part's settings declarations.

`python -m mirror_stage.configuration_docs [FILE]` (run by `make docs`) rewrites what lies
between the markers and leaves the hand-written prose around them alone.
"""

import sys
from collections.abc import Sequence
from pathlib import Path

from mirror_runtime.environment import setting_groups
from mirror_runtime.setting import SettingGroup

DEFAULT_DOCUMENT = Path("docs/configuration.md")
BEGIN = "<!-- generated: configuration (edit the settings' declarations, then run make docs) -->"
END = "<!-- end generated: configuration -->"


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|")


def group_table(group: SettingGroup) -> str:
    """One part's settings: a heading and a table."""
    rows = [
        f"| `{setting.variable}` | {cell(setting.shown_default)} | {cell(setting.parser.accepts)} "
        f"| {cell(setting.meaning)} |"
        for setting in group.settings
    ]
    header = ["| variable | default | accepts | meaning |", "|---|---|---|---|"]
    return "\n".join([f"### {group.title}", "", *header, *rows])


def tables(groups: Sequence[SettingGroup]) -> str:
    """Every part's table, between the markers."""
    return "\n\n".join([BEGIN, *(group_table(group) for group in groups), END])


def with_tables(document: str, groups: Sequence[SettingGroup]) -> str:
    """`document` with what lies between the markers (included) replaced by fresh tables."""
    if document.count(BEGIN) != 1 or document.count(END) != 1:
        raise ValueError(f"the document needs the markers once each: {BEGIN} ... {END}")
    start = document.index(BEGIN)
    end = document.index(END) + len(END)
    if end < start:
        raise ValueError(f"{END} comes before {BEGIN}")
    return document[:start] + tables(groups) + document[end:]


def main(argv: Sequence[str] = ()) -> int:
    """Rewrite the tables of FILE (docs/configuration.md by default) when they are stale."""
    path = Path(argv[0]) if argv else DEFAULT_DOCUMENT
    document = path.read_text()
    updated = with_tables(document, setting_groups())
    if updated != document:
        path.write_text(updated)
        print(f"{path}: configuration tables updated")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
