// The test and benchmark hook, window.mirrorStage: imported only by a page opened with
// ?testing=1. It reads the page's state and never fakes any; a benchmark may detach the socket
// and show frames of its own.

import { openAlerts } from "./alerts.js";
import { $ } from "./dom.js";
import { LAYERS, plateCorners, project } from "./projection.js";

// `page` is main.js's: hud, and getters for the stage, socket, docks and host charts (null
// until someone has logged in), and setConnection(state).
export function exposeTestHook(page) {
  const { hud } = page;
  window.mirrorStage = {
    stats() {
      const stage = page.stage();
      return {
        hosts: hud.fleet.hosts.size,
        links: hud.fleet.links.size,
        drawnHosts: stage?.drawnHosts ?? 0,
        drawnLinks: stage?.drawnLinks ?? 0,
        selected: hud.selectedId,
        connection: hud.connection,
        reconnects: hud.reconnects,
        framesSinceReconnect: hud.framesSinceReconnect,
        seq: hud.fleet.seq,
        frames: hud.fleet.framesApplied,
        diffs: hud.fleet.diffsApplied,
        draws: stage?.draws ?? 0,
        labels: stage?.showLabels ?? false,
        pulses: stage?.showPulses ?? false,
        linkDetail: stage?.linkDetail ?? null,
        zoom: stage?.camera.zoom ?? null,
        layerFilter: stage?.layerFilter ?? null,
        role: hud.principal?.role ?? null,
        alerts: openAlerts(hud.alerts).length,
        layout: page.docks()?.layout ?? [],
        frameTime: stage?.frameStats() ?? null,
        heapBytes: performance.memory?.usedJSHeapSize ?? null,
      };
    },
    // Where a host is drawn, in page coordinates, so a test can click or drag it for real.
    hostOnPage(hostId) {
      const point = page.stage()?.screenOf(hostId);
      if (!point) return null;
      const rect = $("#stage").getBoundingClientRect();
      return { x: rect.left + point.x, y: rect.top + point.y };
    },
    // Where a spot of a layer's plate is, in page coordinates.
    plateOnPage(layer, x, z) {
      const stage = page.stage();
      const rect = $("#stage").getBoundingClientRect();
      const spot = project(x, z, layer);
      const p = stage.camera.toScreen(spot.x, spot.y, stage.width, stage.height);
      return { x: rect.left + p.x, y: rect.top + p.y };
    },
    // The box the seven plates are drawn in, and the canvas's size, in CSS pixels.
    platesOnCanvas() {
      const stage = page.stage();
      const corners = [];
      for (let layer = 1; layer <= LAYERS; layer += 1) corners.push(...plateCorners(layer));
      const points = corners.map((c) => stage.camera.toScreen(c.x, c.y, stage.width, stage.height));
      const xs = points.map((point) => point.x);
      const ys = points.map((point) => point.y);
      return {
        left: Math.min(...xs),
        right: Math.max(...xs),
        top: Math.min(...ys),
        bottom: Math.max(...ys),
        width: stage.width,
        height: stage.height,
      };
    },
    // The links as drawn: how many, how many bundled, and each bundle's target and size.
    bundles() {
      const scene = page.stage()?.scene;
      if (!scene) return null;
      const members = [...scene.linkBundle].filter((k) => k >= 0).length;
      const trunks = [...scene.bundleSize].map((size, k) => ({
        target: scene.bundleLink[k].target,
        size,
      }));
      return { links: scene.linkCount, bundled: members, trunks };
    },
    cameraSettled: () => !page.stage()?.camera.target,
    // The host charts' state (host-charts.js testState), and where a chart's plot is on the page.
    charts: () => page.charts()?.testState() ?? null,
    chartPlot: (chartId) => page.charts()?.plotOnPage(chartId) ?? null,
    host: (hostId) => hud.fleet.hosts.get(hostId) ?? null,
    // The hosts with an open alert of `ruleId`, as the page holds them (sorted).
    alertedHosts: (ruleId) =>
      openAlerts(hud.alerts)
        .filter((alert) => alert.rule_id === ruleId)
        .map((alert) => alert.host_id)
        .sort(),
    hostIds: () => [...hud.fleet.hosts.keys()],
    // The host labels drawn in the last frame, as boxes on the canvas: [{id, x, y, w, h}].
    labelBoxes: () => page.stage()?.labelBoxes ?? [],
    // A network fault, for the tests: the socket drops and reconnects by itself.
    dropConnection: () => page.socket()?.drop(),
    // Benchmarks: stop following the twin, show a frame built elsewhere, time redraws.
    detach() {
      page.socket()?.close();
      page.setConnection("live");
    },
    showFrame(frame) {
      hud.fleet.applyFrame(frame);
    },
    redraw: () => page.stage().requestDraw(),
    // Each draw is followed by reading a pixel back, which makes the canvas rasterize it then:
    // the time covers the drawing commands and the pixels they cost.
    timeDraws(count) {
      const stage = page.stage();
      const context = $("#stage").getContext("2d");
      const times = [];
      for (let i = 0; i < count; i += 1) {
        const started = performance.now();
        stage.draw(started + i * 16);
        context.getImageData(0, 0, 1, 1);
        times.push(performance.now() - started);
      }
      times.sort((a, b) => a - b);
      return { count, median: times[Math.floor(count / 2)], p95: times[Math.floor(count * 0.95)] };
    },
  };
}
