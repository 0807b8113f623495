// Which history to ask for and how much of it to draw: the ranges a person picks, the step
// that keeps a request to a bounded number of points (raw samples for short spans, then the
// 1 m and 1 h rollups), the spans a window is asked for in so that each answer fits the bus
// (the twin forwards it over NATS, whose messages are at most 1 MiB), and the buckets that
// keep a chart to a bounded number of drawn points. Pure.

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export const RANGES = [
  { key: "15m", ms: 15 * MINUTE },
  { key: "1h", ms: HOUR },
  { key: "24h", ms: 24 * HOUR },
  { key: "7d", ms: 7 * 24 * HOUR },
  { key: "30d", ms: 30 * 24 * HOUR },
];
export const DEFAULT_RANGE = "1h";

// A request brings at most this many points of a host (the API's own limit is 10,000).
export const MAX_REQUESTED = 1500;
// A chart draws at most this many points per line: more would not fit its pixels.
export const MAX_DRAWN = 500;
// A host that does not say how often it samples is taken to sample every 5 s (the agent's).
export const DEFAULT_SAMPLE_SECONDS = 5;
// One answer is kept to about half of what NATS carries, by the estimate below.
export const REPLY_BUDGET_BYTES = 512 * 1024;
// However large a host's points, a request asks for at least this many.
const MIN_REQUEST_POINTS = 30;

const STEP_MS = { "1m": MINUTE, "1h": HOUR };

// The finest step whose points over `spanMs` stay within MAX_REQUESTED, for a host sampling
// every `sampleSeconds`: 15 min and 1 h raw, 24 h in minutes, 7 and 30 days in hours.
export function chooseStep(spanMs, sampleSeconds = DEFAULT_SAMPLE_SECONDS) {
  const interval = (sampleSeconds > 0 ? sampleSeconds : DEFAULT_SAMPLE_SECONDS) * 1000;
  if (spanMs / interval <= MAX_REQUESTED) return "raw";
  if (spanMs / STEP_MS["1m"] <= MAX_REQUESTED) return "1m";
  return "1h";
}

// How far apart two points of `step` normally are, in ms.
export function stepMs(step, sampleSeconds = DEFAULT_SAMPLE_SECONDS) {
  return STEP_MS[step] ?? (sampleSeconds > 0 ? sampleSeconds : DEFAULT_SAMPLE_SECONDS) * 1000;
}

// An upper estimate of one point's size in the history's JSON, for a host with `shape`'s
// cores, GPUs, interfaces, disks and temperature sensors (measured: a rollup point of a host
// with 128 cores, 8 GPUs and 2 interfaces is 4.2 kB).
export function pointBytes(
  step,
  { cores = 0, gpus = 0, interfaces = 4, disks = 4, sensors = 4 } = {},
) {
  if (step === "raw")
    return 400 + 80 * interfaces + 8 * cores + 100 * gpus + 25 * (disks + sensors);
  return 700 + 150 * interfaces + 16 * cores + 200 * gpus + 25 * disks + 45 * sensors;
}

// The spans [since, until) a window is asked for in at `step`: consecutive, covering it, each
// expected to answer within REPLY_BUDGET_BYTES.
export function requestSpans(
  { since, until },
  step,
  shape,
  sampleSeconds = DEFAULT_SAMPLE_SECONDS,
) {
  const fit = Math.floor(REPLY_BUDGET_BYTES / pointBytes(step, shape));
  const points = Math.min(MAX_REQUESTED, Math.max(MIN_REQUEST_POINTS, fit));
  const width = points * stepMs(step, sampleSeconds);
  const spans = [];
  for (let start = since; start < until; start += width) {
    spans.push({ since: start, until: Math.min(until, start + width) });
  }
  return spans;
}

// The time window of a request: a range ending now, or a zoomed span as it is.
export function windowOf({ range, zoom }, now) {
  if (zoom) return { since: zoom.since, until: zoom.until };
  const preset = RANGES.find((r) => r.key === range) ?? RANGES.find((r) => r.key === DEFAULT_RANGE);
  return { since: now - preset.ms, until: now };
}

const average = (values) => {
  let sum = 0;
  let count = 0;
  for (const v of values) {
    if (v != null) {
      sum += v;
      count += 1;
    }
  }
  return count ? sum / count : null;
};

const maximum = (values) => {
  let best = null;
  for (const v of values) if (v != null && (best == null || v > best)) best = v;
  return best;
};

// `times` (ascending ms) and each series' `avg` (and `max`, or null) folded into at most
// `limit` buckets of equal time over [t0, t1]: a bucket's time is its points' mean time, its
// average their averages' mean and its maximum the largest of their maxima (or averages), so
// a spike survives the folding as the band's top. Series: {avg: [], max: [] | null}. Returns
// {times, series, bucketMs} (bucketMs 0 when nothing was folded).
export function foldPoints(times, series, limit = MAX_DRAWN, [t0, t1] = [times[0], times.at(-1)]) {
  if (times.length <= limit) return { times, series, bucketMs: 0 };
  const bucketMs = (t1 - t0) / limit;
  const groups = [];
  let current = null;
  for (let i = 0; i < times.length; i += 1) {
    const slot = Math.min(limit - 1, Math.max(0, Math.floor((times[i] - t0) / bucketMs)));
    if (!current || current.slot !== slot) {
      current = { slot, members: [] };
      groups.push(current);
    }
    current.members.push(i);
  }
  const folded = series.map((s) => ({
    ...s,
    avg: groups.map((g) => average(g.members.map((i) => s.avg[i]))),
    max: groups.map((g) => maximum(g.members.map((i) => s.max?.[i] ?? s.avg[i]))),
  }));
  return {
    times: groups.map((g) => average(g.members.map((i) => times[i]))),
    series: folded,
    bucketMs,
  };
}
