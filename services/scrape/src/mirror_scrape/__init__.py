"""The scraper: hosts without an agent, read from their Prometheus node_exporter and published
as MetricSamples on `metrics.raw.<host>`, under an identity allowed those hosts alone."""
