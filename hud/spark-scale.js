// A sparkline's vertical range: the series' own (a fleet's mean CPU moves by a few points,
// which on a 0-100 scale is a flat line), at least MIN_SPAN points tall so that noise is not
// blown up into waves, within 0-100.

const MIN_SPAN = 10;

export function sparkRange(values) {
  const points = values.filter((v) => v != null);
  if (!points.length) return { lo: 0, hi: 100 };
  let lo = Math.min(...points);
  let hi = Math.max(...points);
  if (hi - lo < MIN_SPAN) {
    const middle = (hi + lo) / 2;
    lo = middle - MIN_SPAN / 2;
    hi = middle + MIN_SPAN / 2;
  }
  if (lo < 0) [lo, hi] = [0, hi - lo];
  if (hi > 100) [lo, hi] = [lo - (hi - 100), 100];
  return { lo: Math.max(0, lo), hi };
}
