// A window of history asked for in spans (history-step.js requestSpans) and put back together:
// a few requests at a time, in order, and a span whose answer was still too large for the bus
// asked for again in halves.

const AT_ONCE = 3;
const MAX_SPLITS = 3;
const MIN_SPLIT_MS = 60_000;

// The twin's answer to a request whose reply would not fit one NATS message.
const tooLarge = (error) =>
  error?.status === 422 && /more than NATS carries/.test(error.detail ?? "");

async function fetchSpan(span, fetchOne, splits) {
  try {
    return [await fetchOne(span)];
  } catch (error) {
    if (!tooLarge(error) || splits >= MAX_SPLITS || span.until - span.since < 2 * MIN_SPLIT_MS) {
      throw error;
    }
    const middle = Math.round((span.since + span.until) / 2);
    return [
      ...(await fetchSpan({ since: span.since, until: middle }, fetchOne, splits + 1)),
      ...(await fetchSpan({ since: middle, until: span.until }, fetchOne, splits + 1)),
    ];
  }
}

// One history ({host, step, points}) of `spans` (consecutive, in order), each fetched with
// fetchOne(span) -> the API's answer; the first failure fails the whole.
export async function fetchSpans(spans, fetchOne) {
  const answers = new Array(spans.length);
  let next = 0;
  async function worker() {
    while (next < spans.length) {
      const index = next++;
      answers[index] = await fetchSpan(spans[index], fetchOne, 0);
    }
  }
  await Promise.all(Array.from({ length: Math.min(AT_ONCE, spans.length) }, worker));
  const parts = answers.flat();
  return {
    host: parts[0]?.host ?? null,
    step: parts[0]?.step ?? null,
    points: parts.flatMap((part) => part.points),
  };
}
