"""The HUD's metrics (hud/alert-metrics.js: what the rule editor offers and the charts draw
thresholds for) are exactly the alerts service's: a metric added to the catalogue without the
HUD would be a rule nobody can make there."""

import re
from pathlib import Path

from mirror_alerts.catalogue import METRICS

ALERT_METRICS = Path(__file__).parents[3] / "hud" / "alert-metrics.js"


def test_the_rule_editor_lists_the_catalogues_metrics_in_order() -> None:
    source = ALERT_METRICS.read_text(encoding="utf-8")
    listed = re.search(r"export const ALERT_METRICS = \[(?P<body>[^\]]*)\]", source)
    assert listed is not None, f"no ALERT_METRICS list in {ALERT_METRICS}"
    assert re.findall(r'"([^"]+)"', listed["body"]) == list(METRICS)
