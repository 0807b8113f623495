// The view in the address bar: ?host=web-1&layer=3 opens the page on that selection and layer,
// and the bar follows the operator's choices, so a link shares the view. Other parameters
// (?testing=1) are kept.

export function viewInUrl(search = location.search) {
  const params = new URLSearchParams(search);
  const layer = Number(params.get("layer"));
  return {
    host: params.get("host") || null,
    layer: Number.isInteger(layer) && layer >= 1 && layer <= 7 ? layer : null,
  };
}

export function urlOfView({ host, layer }, href = location.href) {
  const url = new URL(href);
  for (const [key, value] of [
    ["host", host],
    ["layer", layer],
  ]) {
    if (value === null || value === undefined) url.searchParams.delete(key);
    else url.searchParams.set(key, String(value));
  }
  return url.pathname + url.search + url.hash;
}

export function showViewInUrl(view) {
  history.replaceState(history.state, "", urlOfView(view));
}
