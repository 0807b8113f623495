// The charts' arithmetic, without a canvas: value axes with round ticks, time axes with ticks
// on the local clock's round minutes, hours and days, where a time falls on a plot, the point
// nearest a time, and the span a drag across a plot selects. Pure.

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
// Steps a time axis may tick at, shortest first.
const TIME_STEPS = [
  MINUTE,
  2 * MINUTE,
  5 * MINUTE,
  10 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  HOUR,
  2 * HOUR,
  3 * HOUR,
  6 * HOUR,
  12 * HOUR,
  DAY,
  2 * DAY,
  7 * DAY,
];

// The API gives throughput in bytes per second; charts show bits per second.
export const bytesToBits = (bytesPerSecond) => (bytesPerSecond == null ? null : bytesPerSecond * 8);

// A round step near `rough`: 1, 2, 2.5 or 5 times a power of ten.
function niceStep(rough) {
  const power = 10 ** Math.floor(Math.log10(rough));
  const fraction = rough / power;
  const nice =
    fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 2.5 ? 2.5 : fraction <= 5 ? 5 : 10;
  return nice * power;
}

// A value axis covering [lo, hi] with at most about `count` round ticks: {lo, hi, ticks}. The
// axis ends on ticks; an empty or flat range still gets an axis one unit (or one tick) tall.
export function niceTicks(lo, hi, count = 5) {
  let low = Number.isFinite(lo) ? lo : 0;
  let high = Number.isFinite(hi) ? hi : 1;
  if (high < low) [low, high] = [high, low];
  if (high === low) high = low === 0 ? 1 : low + Math.abs(low) * 0.1;
  const step = niceStep((high - low) / Math.max(1, count));
  const first = Math.floor(low / step) * step;
  const last = Math.ceil(high / step) * step;
  const ticks = [];
  for (let k = 0; first + k * step <= last + step / 1e6; k += 1) {
    ticks.push(Number((first + k * step).toPrecision(12)));
  }
  return { lo: ticks[0], hi: ticks[ticks.length - 1], ticks };
}

// The local clock's offset from UTC at `ms`, in ms (positive east of Greenwich).
const localOffset = (ms) => -new Date(ms).getTimezoneOffset() * MINUTE;

// Ticks across [t0, t1] (ms since the epoch), at most about `count`, at round local times
// (midnight for days, whole hours for hours). {step, ticks}.
export function timeTicks(t0, t1, count = 6, offset = localOffset) {
  const span = Math.max(1, t1 - t0);
  const step = TIME_STEPS.find((s) => span / s <= count) ?? TIME_STEPS[TIME_STEPS.length - 1];
  const ticks = [];
  const shift = offset(t0);
  let tick = Math.ceil((t0 + shift) / step) * step - shift;
  while (tick <= t1 && ticks.length <= count * 2) {
    // Days are re-aligned at each tick: a daylight-saving change moves local midnight.
    const aligned =
      step >= DAY ? Math.round((tick + offset(tick)) / DAY) * DAY - offset(tick) : tick;
    if (aligned >= t0 && aligned <= t1) ticks.push(aligned);
    tick += step;
  }
  return { step, ticks };
}

// A linear map from [d0, d1] onto [r0, r1]; a zero-width domain maps to the middle.
export function linear([d0, d1], [r0, r1]) {
  const width = d1 - d0;
  if (width === 0) return () => (r0 + r1) / 2;
  return (value) => r0 + ((value - d0) / width) * (r1 - r0);
}

// The index in ascending `times` of the one nearest `time`, or -1 when there is none within
// `within` ms (a time in a gap of the history reads as no value, not as a far neighbour's).
export function nearestIndex(times, time, within = Infinity) {
  if (!times.length) return -1;
  let lo = 0;
  let hi = times.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid] < time) lo = mid + 1;
    else hi = mid;
  }
  let best = lo;
  if (lo > 0 && Math.abs(times[lo - 1] - time) <= Math.abs(times[lo] - time)) best = lo - 1;
  return Math.abs(times[best] - time) <= within ? best : -1;
}

// The time at x (pixels from the plot's left edge), within the plot's time domain.
export function timeAt(x, plotWidth, [t0, t1]) {
  const clamped = Math.min(Math.max(x, 0), plotWidth);
  return t0 + (clamped / Math.max(1, plotWidth)) * (t1 - t0);
}

// The span a drag from x0 to x1 (pixels from the plot's left edge, either direction) selects:
// {since, until} in ms, clamped to the plot, or null for a drag narrower than `minPixels` (a
// click) or a span shorter than `minMs` (the history has no finer detail to show).
export function dragSpan(x0, x1, plotWidth, domain, { minPixels = 4, minMs = MINUTE } = {}) {
  if (Math.abs(x1 - x0) < minPixels) return null;
  const a = timeAt(Math.min(x0, x1), plotWidth, domain);
  const b = timeAt(Math.max(x0, x1), plotWidth, domain);
  if (b - a < minMs) return null;
  return { since: Math.round(a), until: Math.round(b) };
}
