// Finding hosts by what an operator remembers of them: host id, hostname, a tag (key, value
// or key=value), rack, IP address or status. Every word of the query must match one of
// these (case does not matter); the best matches come first: the host id itself, then ids
// starting with the query, then the rest, each by host id.

const FIELDS = ["host_id", "hostname", "rack", "address", "status"];

function haystack(host) {
  const words = FIELDS.map((field) => host[field]).filter(Boolean);
  for (const [key, value] of Object.entries(host.tags ?? {})) words.push(`${key}=${value}`);
  return words.map((word) => String(word).toLowerCase());
}

function rank(host, query) {
  const id = host.host_id.toLowerCase();
  if (id === query) return 0;
  if (id.startsWith(query)) return 1;
  if (id.includes(query)) return 2;
  return 3;
}

// What matched, for the list: the first field that holds the query's first word.
function why(host, word) {
  for (const field of FIELDS) {
    if (
      String(host[field] ?? "")
        .toLowerCase()
        .includes(word)
    )
      return field;
  }
  for (const [key, value] of Object.entries(host.tags ?? {})) {
    if (`${key}=${value}`.toLowerCase().includes(word)) return `${key}=${value}`;
  }
  return "";
}

// The hosts matching `query`, best first, at most `limit`: [{host, why}].
export function searchHosts(hosts, query, limit = 20) {
  const words = query.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return [];
  const found = [];
  for (const host of hosts) {
    const fields = haystack(host);
    if (words.every((word) => fields.some((field) => field.includes(word)))) found.push(host);
  }
  const whole = words.join(" ");
  found.sort((a, b) => rank(a, whole) - rank(b, whole) || a.host_id.localeCompare(b.host_id));
  return found.slice(0, limit).map((host) => ({ host, why: why(host, words[0]) }));
}
