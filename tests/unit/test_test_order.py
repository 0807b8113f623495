"""The list of the longest test files names files that exist: a renamed one would silently
start late again."""

from pathlib import Path

from ordering import LONGEST_FIRST

TESTS = Path(__file__).resolve().parents[1]


def test_every_file_put_first_exists_once() -> None:
    missing = [name for name in LONGEST_FIRST if not (TESTS / name).is_file()]
    assert missing == []
    assert len(set(LONGEST_FIRST)) == len(LONGEST_FIRST)
