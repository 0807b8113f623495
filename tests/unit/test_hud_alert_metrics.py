"""The HUD's list of alert metrics (hud/alert-metrics.js) is the alerts service's catalogue."""

import re
from pathlib import Path

from mirror_alerts.catalogue import METRICS

LISTED = Path(__file__).parents[2] / "hud" / "alert-metrics.js"


def test_the_huds_alert_metrics_are_the_catalogues() -> None:
    text = LISTED.read_text(encoding="utf-8")
    body = text[text.index("ALERT_METRICS = [") :]
    names = re.findall(r'"([a-z_.]+)"', body[: body.index("]")])
    assert sorted(names) == sorted(METRICS)
    assert len(names) == len(set(names))
