"""Figures derived from MetricSamples: one library for the twin and the alerts service."""
