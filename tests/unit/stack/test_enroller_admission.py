"""The enroller's per-token admission: one token's holders may ask in bursts of TOKEN_BURST,
then at TOKEN_RATE_PER_SECOND, and leave other tokens' requests alone."""

from pathlib import Path

import pytest

from mirror_stage import enroller as enroller_module
from mirror_stage.enroller import TOKEN_BURST, TOKEN_RATE_PER_SECOND, Enroller
from mirror_stage.stack_layout import stack_layout


def test_a_token_is_admitted_in_bursts_then_at_its_rate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(enroller_module.time, "monotonic", lambda: clock[0])
    enroller = Enroller(stack_layout({}, data_dir=tmp_path), None)
    admitted = sum(enroller._admit("flooding") for _ in range(int(TOKEN_BURST) + 50))
    assert admitted == int(TOKEN_BURST)
    assert enroller._admit("another")  # other tokens are untouched
    clock[0] += 1.0
    again = sum(enroller._admit("flooding") for _ in range(int(TOKEN_RATE_PER_SECOND) * 2))
    assert again == int(TOKEN_RATE_PER_SECOND)
