"""docs/configuration.md's tables: made from the declarations, and never stale."""

from pathlib import Path
from typing import Annotated, Literal

import msgspec
import pytest

from mirror_runtime import parsers
from mirror_runtime.environment import setting_groups
from mirror_runtime.setting import Setting, SettingGroup
from mirror_stage.configuration_docs import (
    SETTINGS_BLOCK,
    main,
    markers,
    regenerated,
    settings_tables,
    with_generated,
)
from mirror_stage.struct_table import struct_table

ROOT = Path(__file__).resolve().parents[3]
DOCUMENT = ROOT / "docs" / "configuration.md"
BEGIN, END = markers(SETTINGS_BLOCK)

EXAMPLE = SettingGroup(
    title="An example",
    order=0,
    settings=(
        Setting(
            variable="MIRROR_STAGE_EXAMPLE_SECONDS",
            default=2.5,
            parser=parsers.number(minimum=0.1),
            meaning="how often | how long",
        ),
    ),
)


def test_the_checked_in_tables_are_current() -> None:
    """Changing a declaration without `make docs` fails here."""
    document = DOCUMENT.read_text()
    assert regenerated(document, setting_groups()) == document, (
        "docs/configuration.md's tables differ from the declarations: run make docs"
    )


def test_only_what_lies_between_the_markers_is_replaced() -> None:
    document = f"prose before\n\n{BEGIN}\nold table\n{END}\n\nprose after\n"
    updated = with_generated(document, SETTINGS_BLOCK, settings_tables([EXAMPLE]))
    assert updated.startswith(f"prose before\n\n{BEGIN}\n\n### An example\n\n")
    assert updated.endswith(f"\n\n{END}\n\nprose after\n")
    assert "old table" not in updated
    row = (
        "| `MIRROR_STAGE_EXAMPLE_SECONDS` | 2.5 | a finite number >= 0.1 | how often \\| how long |"
    )
    assert row in updated
    assert with_generated(updated, SETTINGS_BLOCK, settings_tables([EXAMPLE])) == updated


@pytest.mark.parametrize("document", ["no markers", f"{END}\n{BEGIN}", f"{BEGIN}{BEGIN}{END}"])
def test_a_document_without_its_markers_is_refused(document: str) -> None:
    with pytest.raises(ValueError, match="generated: configuration"):
        with_generated(document, SETTINGS_BLOCK, "table")


def test_main_rewrites_a_stale_document(tmp_path: Path) -> None:
    stale = tmp_path / "configuration.md"
    agent_begin, agent_end = markers("agent configuration")
    stale.write_text(f"intro\n{BEGIN}\n{END}\nmiddle\n{agent_begin}\n{agent_end}\n")
    assert main([str(stale)]) == 0
    written = stale.read_text()
    assert regenerated(written, setting_groups()) == written
    assert "`MIRROR_STAGE_NATS_URL`" in written
    assert "`interval_seconds`" in written
    assert written.startswith("intro\n")
    assert "\nmiddle\n" in written


def test_every_part_registers_its_settings() -> None:
    """Each package's entry point is installed (a stale install would forget a part's)."""
    titles = [group.title for group in setting_groups()]
    assert titles == [
        "Every service",
        "The twin",
        "The ingest",
        "The alerts service",
        "The commands service",
        "The launcher (`mirror-stage up`)",
        "The test suite",
    ]


def test_every_variable_is_declared_once() -> None:
    variables = [s.variable for group in setting_groups() for s in group.settings]
    assert len(variables) == len(set(variables))
    assert all(variable.startswith("MIRROR_STAGE_") for variable in variables)


class Example(msgspec.Struct, kw_only=True):
    mode: Annotated[Literal["a", "b"], msgspec.Meta(description="the mode")] = "a"
    count: Annotated[int, msgspec.Meta(ge=1, le=9, description="how many")] = 3
    ratio: Annotated[float, msgspec.Meta(gt=0, description="a ratio")] = 0.5
    name: Annotated[str | None, msgspec.Meta(description="a name")] = None
    flag: Annotated[bool, msgspec.Meta(description="on or not")] = False


def test_a_struct_table_shows_defaults_bounds_and_descriptions() -> None:
    assert struct_table(Example).splitlines()[2:] == [
        '| `mode` | `a` | `"a"` or `"b"` | the mode |',
        "| `count` | 3 | a whole number from 1 to 9 | how many |",
        "| `ratio` | 0.5 | a number > 0 | a ratio |",
        "| `name` | none | text | a name |",
        "| `flag` | `false` | `true` or `false` | on or not |",
    ]


def test_a_key_without_a_description_is_refused() -> None:
    class Bare(msgspec.Struct):
        size: int = 1

    with pytest.raises(ValueError, match=r"'size' has no msgspec\.Meta"):
        struct_table(Bare)
