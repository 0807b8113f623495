"""The HUD's rule editor offers exactly the metrics the alerts service knows: a metric added
to the catalogue without the HUD would be a rule nobody can make there."""

import re
from pathlib import Path

from mirror_alerts.catalogue import METRICS

RULE_FORM = Path(__file__).parents[3] / "hud" / "rule-form.js"


def test_the_rule_editor_lists_the_catalogues_metrics_in_order() -> None:
    source = RULE_FORM.read_text(encoding="utf-8")
    listed = re.search(r"export const METRICS = \[(?P<body>[^\]]*)\]", source)
    assert listed is not None, f"no METRICS list in {RULE_FORM}"
    assert re.findall(r'"([^"]+)"', listed["body"]) == list(METRICS)
