// Entry point: logs in, then wires the live socket, the stage, the card and the docks.
// window.mirrorStage is the test and benchmark hook: it reads state, it never fakes any.

import * as api from "./api.js";
import { SelectionCard } from "./card.js";
import { consoleWidget } from "./console.js";
import { Docks } from "./docks.js";
import { Fleet } from "./fleet.js";
import { LAYER_NAMES, project } from "./projection.js";
import { Stage } from "./stage.js";
import {
  alertsWidget,
  gaugeWidget,
  gpusWidget,
  interfacesWidget,
  linksWidget,
  processesWidget,
  storageWidget,
  temperaturesWidget,
} from "./widgets.js";

const HISTORY_MINUTES = 30;
const DETAIL_REFRESH_MS = 5000;
const WIDGET_REFRESH_MS = 1000;
const MAX_ALERTS = 2000; // kept on the page; the alerts service holds the rest

const $ = (selector) => document.querySelector(selector);

const hud = {
  fleet: new Fleet(),
  selectedId: null,
  detail: null,
  history: [],
  alerts: new Map(),
  principal: null,
  connection: "connecting",
  reconnects: 0,
  framesSinceReconnect: 0,
};

let stage = null;
let socket = null;
let docks = null;
let widgets = null;
let card = null;
let detailTimer = null;

function toast(text) {
  const node = $("#toast");
  node.textContent = text;
  node.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (node.hidden = true), 6000);
}

async function start() {
  let principal;
  try {
    principal = await api.whoAmI();
  } catch (error) {
    $("#login-message").textContent = `the twin is unreachable: ${error.message}`;
    showLogin();
    return;
  }
  // A session opened with a one-time password, reloaded: its password was not kept, so the
  // operator logs in again to choose their own.
  if (principal && !principal.passwordChangeRequired) enter(principal);
  else showLogin();
}

function showLogin() {
  $("#login").hidden = false;
  $("#app").hidden = true;
  $("#login-user").focus();
}

$("#login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const message = $("#login-message");
  message.textContent = "";
  try {
    const user = $("#login-user").value;
    const password = $("#login-password").value;
    const principal = await api.logIn(user, password);
    $("#login-password").value = "";
    if (principal.passwordChangeRequired) showPasswordChange(user, password);
    else enter(principal);
  } catch (error) {
    message.textContent =
      error.status === 401 ? "wrong user or password" : (error.detail ?? error.message);
  }
});

// A one-time password is replaced before anything else: the new one, then a login with it.
let passwordChange = null;

function showPasswordChange(user, current) {
  passwordChange = { user, current };
  $("#login-form").hidden = true;
  $("#password-form").hidden = false;
  $("#password-new").focus();
}

$("#password-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const message = $("#password-message");
  message.textContent = "";
  const next = $("#password-new").value;
  if (next !== $("#password-repeat").value) {
    message.textContent = "the two passwords differ";
    return;
  }
  try {
    await api.changePassword(passwordChange.current, next);
    const principal = await api.logIn(passwordChange.user, next);
    passwordChange = null;
    $("#password-new").value = "";
    $("#password-repeat").value = "";
    $("#password-form").hidden = true;
    $("#login-form").hidden = false;
    enter(principal);
  } catch (error) {
    message.textContent = error.detail ?? error.message;
  }
});

$("#logout").addEventListener("click", async () => {
  try {
    await api.logOut();
  } finally {
    location.reload();
  }
});

function enter(principal) {
  hud.principal = principal;
  document.body.dataset.role = principal.role;
  $("#login").hidden = true;
  $("#app").hidden = false;
  $("#user").textContent = principal.loginsOff
    ? "logins off"
    : `${principal.name} · ${principal.role}`;
  $("#logout").hidden = Boolean(principal.loginsOff);
  if (stage) return;
  card = new SelectionCard($("#card"));
  stage = new Stage($("#stage"), hud.fleet, {
    onSelect: select,
    onPlace: (hostId, placement) =>
      api
        .savePlacement(hostId, placement.layer, placement.position)
        .catch((error) => toast(`placement of ${hostId}: ${error.detail ?? error.message}`)),
    canPlace: () => hud.principal?.role !== "viewer",
    tooltip: linkTooltip(),
  });
  buildLayerFilter();
  buildDocks();
  socket = api.connectTwin({ onMessage: onSocketMessage, onState: onConnection });
  loadAlerts();
  setInterval(refreshWidgets, WIDGET_REFRESH_MS);
  setInterval(() => widgets.forEach((w) => w.sample?.(hud)), 2000);
  requestAnimationFrame(followCard);
}

function linkTooltip() {
  const tip = $("#link-tip");
  return {
    show(text, x, y) {
      tip.textContent = text;
      tip.hidden = false;
      this.move(x, y);
    },
    move(x, y) {
      tip.style.transform = `translate(${x + 14}px, ${y + 10}px)`;
    },
    hide() {
      tip.hidden = true;
    },
  };
}

function buildLayerFilter() {
  const bar = $("#layers");
  const buttons = [null, 1, 2, 3, 4, 5, 6, 7].map((layer) => {
    const button = document.createElement("button");
    button.textContent = layer === null ? "All" : `L${layer}`;
    button.title = layer === null ? "every layer" : LAYER_NAMES[layer - 1];
    button.dataset.layer = layer === null ? "all" : String(layer);
    button.addEventListener("click", () => {
      stage.setLayerFilter(layer);
      buttons.forEach((b) => b.classList.toggle("current", b === button));
    });
    return button;
  });
  buttons[0].classList.add("current");
  bar.replaceChildren(...buttons);
}

function buildDocks() {
  const remove = (type) => docks.remove(type);
  const list = [
    gaugeWidget("cpu", "CPU", "cpu_load", "#22d3ee", remove),
    gaugeWidget("memory", "Memory", "memory_used_percent", "#818cf8", remove),
    processesWidget(remove),
    interfacesWidget(remove),
    storageWidget(remove),
    temperaturesWidget(remove),
    gpusWidget(remove),
    linksWidget(remove),
    alertsWidget(remove, acknowledge),
    consoleWidget(remove, hud),
  ];
  widgets = new Map(list.map((widget) => [widget.element.dataset.widget, widget]));
  docks = new Docks({
    left: $("#dock-left"),
    right: $("#dock-right"),
    palette: $("#palette-list"),
    widgets,
  });
  $("#palette-toggle").addEventListener(
    "click",
    () => ($("#palette").hidden = !$("#palette").hidden),
  );
  widgets.get("console").start();
  refreshWidgets(true);
}

let widgetsVersion = -1;
function refreshWidgets(force = false) {
  if (!force && widgetsVersion === hud.fleet.version) return;
  widgetsVersion = hud.fleet.version;
  for (const widget of widgets.values()) widget.update(hud);
  if (hud.selectedId) {
    const view = hud.fleet.hosts.get(hud.selectedId);
    if (view) card.show(view, hud.detail);
  }
}

function followCard() {
  requestAnimationFrame(followCard);
  if (hud.selectedId)
    card.moveTo(stage.screenOf(hud.selectedId), { width: stage.width, height: stage.height });
}

async function select(hostId) {
  hud.selectedId = hostId;
  hud.detail = null;
  hud.history = [];
  clearInterval(detailTimer);
  card.show(hostId ? hud.fleet.hosts.get(hostId) : null, null);
  refreshWidgets(true);
  if (!hostId) return;
  await loadDetail(hostId);
  detailTimer = setInterval(() => loadDetail(hostId), DETAIL_REFRESH_MS);
  try {
    const since = new Date(Date.now() - HISTORY_MINUTES * 60000).toISOString();
    const history = await api.fetchHistory(hostId, since);
    if (hud.selectedId === hostId) hud.history = history.points;
  } catch (error) {
    if (error.status !== 404) toast(`history of ${hostId}: ${error.detail ?? error.message}`);
  }
  refreshWidgets(true);
}

async function loadDetail(hostId) {
  try {
    const detail = await api.fetchHost(hostId);
    if (hud.selectedId === hostId) hud.detail = detail.sample;
    refreshWidgets(true);
  } catch (error) {
    if (error.status === 404) return;
    toast(`host ${hostId}: ${error.detail ?? error.message}`);
  }
}

async function loadAlerts() {
  try {
    const { items } = await api.activeAlerts();
    for (const alert of items) hud.alerts.set(alert.alert_id, alert);
    countAlerts();
  } catch (error) {
    toast(`alerts: ${error.detail ?? error.message}`);
  }
}

async function acknowledge(alertId) {
  try {
    const alert = await api.acknowledgeAlert(alertId);
    hud.alerts.set(alert.alert_id, { ...hud.alerts.get(alertId), ...alert });
    refreshWidgets(true);
  } catch (error) {
    toast(`acknowledge: ${error.detail ?? error.message}`);
  }
}

function countAlerts() {
  const counts = new Map();
  for (const alert of hud.alerts.values()) {
    if (alert.state === "resolved") continue;
    counts.set(alert.host_id, (counts.get(alert.host_id) ?? 0) + 1);
  }
  for (const hostId of hud.fleet.hosts.keys())
    hud.fleet.setAlertCount(hostId, counts.get(hostId) ?? 0);
  refreshWidgets(true);
}

function onSocketMessage(message) {
  switch (message.type) {
    case "frame":
      hud.fleet.applyFrame(message);
      hud.framesSinceReconnect += 1;
      countAlerts();
      break;
    case "diff":
      if (!hud.fleet.applyDiff(message)) socket.resync();
      break;
    case "alert": {
      const event = message.event;
      if (event.state === "resolved") hud.alerts.delete(event.alert_id);
      else hud.alerts.set(event.alert_id, { ...hud.alerts.get(event.alert_id), ...event });
      if (hud.alerts.size > MAX_ALERTS) hud.alerts.delete(hud.alerts.keys().next().value);
      countAlerts();
      break;
    }
    case "command_status":
    case "command_output":
    case "command_result":
      widgets.get("console").onEvent(message);
      break;
    default:
      break;
  }
}

function onConnection(state) {
  hud.connection = state;
  const badge = $("#connection");
  badge.dataset.state = state;
  badge.textContent = { connecting: "connecting…", live: "live", reconnecting: "reconnecting…" }[
    state
  ];
  if (state === "reconnecting") {
    hud.reconnects += 1;
    hud.framesSinceReconnect = 0;
    // The twin refuses the socket once the session has ended: back to the login page then.
    if (!hud.principal?.loginsOff) {
      api.whoAmI().then(
        (principal) => principal || location.reload(),
        () => undefined,
      );
    }
  }
  stage?.setDimmed(state === "reconnecting");
}

window.mirrorStage = {
  stats() {
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
      alerts: [...hud.alerts.values()].filter((alert) => alert.state !== "resolved").length,
      layout: docks?.layout ?? [],
      frameTime: stage?.frameStats() ?? null,
      heapBytes: performance.memory?.usedJSHeapSize ?? null,
    };
  },
  // Where a host is drawn, in page coordinates, so a test can click or drag it for real.
  hostOnPage(hostId) {
    const point = stage?.screenOf(hostId);
    if (!point) return null;
    const rect = $("#stage").getBoundingClientRect();
    return { x: rect.left + point.x, y: rect.top + point.y };
  },
  // Where a spot of a layer's plate is, in page coordinates.
  plateOnPage(layer, x, z) {
    const rect = $("#stage").getBoundingClientRect();
    const spot = project(x, z, layer);
    const p = stage.camera.toScreen(spot.x, spot.y, stage.width, stage.height);
    return { x: rect.left + p.x, y: rect.top + p.y };
  },
  host: (hostId) => hud.fleet.hosts.get(hostId) ?? null,
  // A network fault, for the tests: the socket drops and reconnects by itself.
  dropConnection: () => socket?.drop(),
  // Benchmarks: stop following the twin, show a frame built elsewhere, time redraws.
  detach() {
    socket?.close();
    onConnection("live");
  },
  showFrame(frame) {
    hud.fleet.applyFrame(frame);
  },
  redraw: () => stage.requestDraw(),
  // Each draw is followed by reading a pixel back, which makes the canvas rasterize it then:
  // the time covers the drawing commands and the pixels they cost.
  timeDraws(count) {
    const context = document.querySelector("#stage").getContext("2d");
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

start();
