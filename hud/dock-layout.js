// Where the widgets sit in the two docks: pure layout rules, no DOM.
// Each dock is a grid of COLUMNS x ROWS; a widget has a fixed footprint and appears at most once.

export const COLUMNS = 4;
export const ROWS = 10;
export const SIDES = ["left", "right"];
export const STORAGE_KEY = "mirror-stage.docks.v1";

// Footprints (columns x rows) by widget type.
export const FOOTPRINTS = {
  cpu: [2, 2],
  memory: [2, 2],
  processes: [4, 3],
  interfaces: [4, 2],
  storage: [4, 2],
  temperatures: [2, 2],
  gpus: [2, 2],
  links: [4, 1],
  alerts: [4, 3],
  console: [4, 5],
};

export const DEFAULT_LAYOUT = [
  { type: "cpu", side: "left", col: 0, row: 0 },
  { type: "memory", side: "left", col: 2, row: 0 },
  { type: "processes", side: "left", col: 0, row: 2 },
  { type: "interfaces", side: "left", col: 0, row: 5 },
  { type: "storage", side: "left", col: 0, row: 7 },
  { type: "alerts", side: "right", col: 0, row: 0 },
  { type: "console", side: "right", col: 0, row: 3 },
  { type: "links", side: "right", col: 0, row: 8 },
];

function overlaps(a, b) {
  const [aw, ah] = FOOTPRINTS[a.type];
  const [bw, bh] = FOOTPRINTS[b.type];
  return (
    a.side === b.side &&
    a.col < b.col + bw &&
    b.col < a.col + aw &&
    a.row < b.row + bh &&
    b.row < a.row + ah
  );
}

// Whether `item` may sit where it says in `layout` (ignoring the layout's own entry of its type).
export function fits(layout, item) {
  const footprint = FOOTPRINTS[item.type];
  if (!footprint || !SIDES.includes(item.side)) return false;
  const [width, height] = footprint;
  if (item.col < 0 || item.row < 0 || item.col + width > COLUMNS || item.row + height > ROWS)
    return false;
  return layout.every((other) => other.type === item.type || !overlaps(item, other));
}

// The layout with `type` moved to (side, col, row), or null when it does not fit there.
export function moved(layout, type, side, col, row) {
  const item = { type, side, col, row };
  if (!fits(layout, item)) return null;
  return [...layout.filter((other) => other.type !== type), item];
}

// The first free spot for `type`, left dock first, or null when both docks are full.
export function freeSpot(layout, type) {
  for (const side of SIDES) {
    for (let row = 0; row < ROWS; row += 1) {
      for (let col = 0; col < COLUMNS; col += 1) {
        if (fits(layout, { type, side, col, row })) return { type, side, col, row };
      }
    }
  }
  return null;
}

// A saved layout, kept only if every entry is a known type, once, where it fits.
export function validLayout(candidate) {
  if (!Array.isArray(candidate)) return null;
  const layout = [];
  for (const item of candidate) {
    if (!item || typeof item !== "object") return null;
    const { type, side, col, row } = item;
    if (layout.some((other) => other.type === type)) return null;
    const clean = { type, side, col, row };
    if (!Number.isInteger(col) || !Number.isInteger(row) || !fits(layout, clean)) return null;
    layout.push(clean);
  }
  return layout;
}

export function loadLayout(storage) {
  try {
    return validLayout(JSON.parse(storage.getItem(STORAGE_KEY) ?? "null")) ?? DEFAULT_LAYOUT;
  } catch {
    return DEFAULT_LAYOUT;
  }
}

export function saveLayout(storage, layout) {
  storage.setItem(STORAGE_KEY, JSON.stringify(layout));
}
