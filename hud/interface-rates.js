// Interface rates: bits per second between two samples of one host, from the lifetime byte
// counters the agent sends (an operator wants the rate, not the total since boot).

// name -> {tx, rx} bits/s for each interface of `sample` also in `before`; an interface whose
// counters went backwards (a reboot, a driver reload) or a pair of samples no time apart has
// none.
export function interfaceRates(sample, before) {
  const rates = new Map();
  if (!sample || !before) return rates;
  const seconds = (Date.parse(sample.timestamp) - Date.parse(before.timestamp)) / 1000;
  if (!(seconds > 0)) return rates;
  const previous = new Map((before.interfaces ?? []).map((iface) => [iface.name, iface]));
  for (const iface of sample.interfaces ?? []) {
    const old = previous.get(iface.name);
    if (!old) continue;
    const sent = iface.bytes_sent - old.bytes_sent;
    const received = iface.bytes_recv - old.bytes_recv;
    if (sent < 0 || received < 0) continue;
    rates.set(iface.name, { tx: (sent * 8) / seconds, rx: (received * 8) / seconds });
  }
  return rates;
}
