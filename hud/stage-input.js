// How the stage is handled: drag to pan (or, for an operator, to move a host to another
// spot or layer), wheel or pinch to zoom, click to select, hover a link for its figures.

import { formatBits } from "./format.js";

const DRAG_THRESHOLD = 4; // pixels before a press becomes a drag

export function linkLabel(link) {
  const utilization = link.utilization == null ? "?" : `${Math.round(link.utilization * 100)}%`;
  const iface = link.interface ? ` (${link.interface})` : "";
  return `${link.source} → ${link.target}${iface} · ${formatBits(link.throughput_bits_per_s)} / ${formatBits(link.capacity_bits_per_s)} · ${utilization}`;
}

// The hovered link's figures in `node`, beside the pointer: what bindPointer's `tooltip` is.
export function tooltip(node) {
  return {
    show(text, x, y) {
      node.textContent = text;
      node.hidden = false;
      this.move(x, y);
    },
    move(x, y) {
      node.style.transform = `translate(${x + 14}px, ${y + 10}px)`;
    },
    hide() {
      node.hidden = true;
    },
  };
}

// Wire the canvas of `stage` to pointer and wheel events; `tooltip` shows a hovered link.
export function bindPointer(stage, tooltip) {
  const canvas = stage.canvas;
  const pointers = new Map(); // pointer id -> {x, y}: two of them pinch
  let press = null; // {x, y, hostId, moved} from pointerdown to pointerup
  let hovered = null;

  canvas.addEventListener("pointerdown", (event) => {
    canvas.setPointerCapture(event.pointerId);
    pointers.set(event.pointerId, { x: event.offsetX, y: event.offsetY });
    if (pointers.size === 1) {
      const hostId = stage.hostAt(event.offsetX, event.offsetY);
      press = { x: event.offsetX, y: event.offsetY, hostId, moved: false };
    } else {
      press = null; // a second finger: pinch, not a click or a drag
    }
  });

  canvas.addEventListener("pointermove", (event) => {
    const previous = pointers.get(event.pointerId);
    if (pointers.size === 2 && previous) {
      const [first, second] = [...pointers.values()];
      const before = Math.hypot(first.x - second.x, first.y - second.y);
      pointers.set(event.pointerId, { x: event.offsetX, y: event.offsetY });
      const [a, b] = [...pointers.values()];
      const after = Math.hypot(a.x - b.x, a.y - b.y);
      if (before > 0)
        stage.camera.zoomAt(
          after / before,
          (a.x + b.x) / 2,
          (a.y + b.y) / 2,
          stage.width,
          stage.height,
        );
      stage.requestDraw();
      return;
    }
    if (!press) {
      hover(event.offsetX, event.offsetY);
      return;
    }
    const dx = event.offsetX - press.x;
    const dy = event.offsetY - press.y;
    if (!press.moved && Math.hypot(dx, dy) < DRAG_THRESHOLD) return;
    press.moved = true;
    if (press.hostId && stage.canPlace()) {
      const at = { x: event.offsetX, y: event.offsetY };
      at.layer = stage.placementAt(at.x, at.y)?.layer ?? null;
      stage.dragHost = { hostId: press.hostId, at };
    } else if (previous) {
      stage.camera.panBy(event.offsetX - previous.x, event.offsetY - previous.y);
    }
    pointers.set(event.pointerId, { x: event.offsetX, y: event.offsetY });
    stage.requestDraw();
  });

  canvas.addEventListener("pointerup", (event) => {
    pointers.delete(event.pointerId);
    const released = press;
    press = null;
    if (!released) return;
    if (stage.dragHost) {
      const { hostId } = stage.dragHost;
      stage.dragHost = null;
      const placement = stage.placementAt(event.offsetX, event.offsetY);
      if (placement) stage.place(hostId, placement);
      stage.requestDraw();
      return;
    }
    if (!released.moved) stage.select(released.hostId);
  });

  canvas.addEventListener("pointercancel", (event) => {
    pointers.delete(event.pointerId);
    press = null;
    stage.dragHost = null;
    stage.requestDraw();
  });

  canvas.addEventListener(
    "wheel",
    (event) => {
      event.preventDefault();
      stage.camera.zoomAt(
        Math.exp(-event.deltaY * 0.0015),
        event.offsetX,
        event.offsetY,
        stage.width,
        stage.height,
      );
      stage.requestDraw();
    },
    { passive: false },
  );

  function hover(x, y) {
    const hostId = stage.hostAt(x, y);
    if (hostId !== stage.hoveredId) {
      stage.hoveredId = hostId;
      stage.requestDraw();
    }
    const link = stage.linkAt(x, y);
    if (link === hovered) {
      if (link) tooltip.move(x, y);
      return;
    }
    hovered = link;
    if (link) tooltip.show(linkLabel(link), x, y);
    else tooltip.hide();
  }
}
