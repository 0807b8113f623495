// The metrics an alert rule can watch: the alerts service's catalogue
// (services/alerts/src/mirror_alerts/catalogue.py; a unit test holds the two equal). These are
// the server's words, shown and sent as they are, never translated.

export const ALERT_METRICS = [
  "cpu_load",
  "memory_used_percent",
  "swap_used_percent",
  "load_average",
  "disk.used_percent",
  "temperature",
  "interface.utilization",
  "gpu.utilization_percent",
  "gpu.temperature_celsius",
];
