// How a link is drawn: its colour, width and pulses from its utilization and ends. Pure.

// Link colours by utilization level: unknown, under 50 %, under 80 %, 80 % and over.
export const LINK_COLOURS = ["#64748b", "#22c55e", "#f59e0b", "#ef4444"];
export const BROKEN = 0; // style of a link with an end that is not online: dashed red

export function utilizationLevel(utilization) {
  if (utilization == null) return 0;
  if (utilization < 0.5) return 1;
  if (utilization < 0.8) return 2;
  return 3;
}

// A link's style: BROKEN, or 1 + level * 4 + (width - 1) with width 1-4 by utilization.
export function linkStyle(link, sourceUp, targetUp) {
  if (!sourceUp || !targetUp) return BROKEN;
  const width = 1 + Math.round(Math.min(1, link.utilization ?? 0) * 3);
  return 1 + utilizationLevel(link.utilization) * 4 + (width - 1);
}

// Broken, or 80 % used and over: what stays drawn when the links are too many to draw all.
export function needsAttention(style) {
  return style === BROKEN || Math.floor((style - 1) / 4) === 3;
}

export function styleColour(style) {
  return style === BROKEN ? "#ef4444" : LINK_COLOURS[Math.floor((style - 1) / 4)];
}

export function styleWidth(style) {
  return style === BROKEN ? 1 : ((style - 1) % 4) + 1;
}

// Pulses per second along a link: faster with more traffic, on a log scale.
export function pulseSpeed(throughputBps) {
  if (!throughputBps || throughputBps <= 0) return 0;
  return Math.min(2, Math.max(0.08, Math.log10(throughputBps) / 8));
}
