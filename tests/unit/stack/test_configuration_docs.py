"""docs/configuration.md's tables: made from the settings' declarations, and never stale."""

from pathlib import Path

import pytest

from mirror_runtime import parsers
from mirror_runtime.environment import setting_groups
from mirror_runtime.setting import Setting, SettingGroup
from mirror_stage.configuration_docs import BEGIN, END, main, with_tables

ROOT = Path(__file__).resolve().parents[3]
DOCUMENT = ROOT / "docs" / "configuration.md"

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
    assert with_tables(document, setting_groups()) == document, (
        "docs/configuration.md's tables differ from the settings' declarations: run make docs"
    )


def test_the_tables_replace_only_what_lies_between_the_markers() -> None:
    document = f"prose before\n\n{BEGIN}\nold table\n{END}\n\nprose after\n"
    updated = with_tables(document, [EXAMPLE])
    assert updated.startswith(f"prose before\n\n{BEGIN}\n\n### An example\n\n")
    assert updated.endswith(f"\n\n{END}\n\nprose after\n")
    assert "old table" not in updated
    assert (
        "| `MIRROR_STAGE_EXAMPLE_SECONDS` | 2.5 | a finite number >= 0.1 | how often \\| how long |"
        in updated
    )
    assert with_tables(updated, [EXAMPLE]) == updated


@pytest.mark.parametrize("document", ["no markers", f"{END}\n{BEGIN}", f"{BEGIN}{BEGIN}{END}"])
def test_a_document_without_its_markers_is_refused(document: str) -> None:
    with pytest.raises(ValueError, match="generated: configuration"):
        with_tables(document, [EXAMPLE])


def test_main_rewrites_a_stale_document(tmp_path: Path) -> None:
    stale = tmp_path / "configuration.md"
    stale.write_text(f"intro\n{BEGIN}\n{END}\n")
    assert main([str(stale)]) == 0
    assert stale.read_text() == with_tables(stale.read_text(), setting_groups())
    assert "`MIRROR_STAGE_NATS_URL`" in stale.read_text()


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
