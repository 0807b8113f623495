// Entry point: starts the session; once someone is logged in, wires the live socket, the
// stage, the card and the docks. A page opened with ?testing=1 also loads testing.js.

import * as api from "./api.js";
import { installAdminPanel } from "./admin-panel.js";
import { acknowledge, countAlertsOnHosts, loadActiveAlerts } from "./alerts.js";
import { SelectionCard } from "./card.js";
import { consoleWidget } from "./console.js";
import { Docks } from "./docks.js";
import { $ } from "./dom.js";
import { Fleet } from "./fleet.js";
import { FleetTable } from "./fleet-table.js";
import { onLanguageChange, startLanguage, t } from "./i18n.js";
import { languageSwitch } from "./language-switch.js";
import { HostCharts, chartsButton, listenForChartKeys } from "./host-charts.js";
import { buildLayerFilter } from "./layer-filter.js";
import { searchBox } from "./search-box.js";
import { selector } from "./selection.js";
import { startSession } from "./session.js";
import { openSilenceDialog } from "./silences.js";
import { dispatch, showConnection } from "./socket-dispatch.js";
import { tooltip } from "./stage-input.js";
import { Stage } from "./stage.js";
import { toastError } from "./toast.js";
import { showViewInUrl, viewInUrl } from "./url-state.js";
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

const WIDGET_REFRESH_MS = 1000;
const FLEET_SAMPLE_MS = 2000; // the gauges' fleet sparklines

// What the panels read: the fleet, the selection and its detail, the alerts, who is logged in
// and the socket's state.
const hud = {
  fleet: new Fleet(),
  selectedId: null,
  detail: null,
  detailBefore: null, // the selected host's sample before `detail`, for rates
  history: [],
  alerts: new Map(),
  principal: null,
  connection: "connecting",
  reconnects: 0,
  framesSinceReconnect: 0,
};

// The view the page was opened on (?host=...&layer=...), applied once.
const openedOn = viewInUrl();
let stage = null;
let socket = null;
let docks = null;
let widgets = null;
let card = null;
let table = null;
let hostCharts = null;

function enter(principal) {
  hud.principal = principal;
  if (stage) return;
  hostCharts = new HostCharts($("#host-charts"), { hud, api });
  listenForChartKeys(document, hostCharts);
  // Operators and admins silence the selected host from its card (an alert, from its row).
  const silenceHost = (hostId) => openSilenceDialog({ matchers: { host_ids: [hostId] } });
  card = new SelectionCard($("#card"), {
    actions: [chartsButton(hostCharts)],
    silence: principal.role === "viewer" ? null : silenceHost,
  });
  installAdminPanel({ topbar: $("#topbar"), before: $("#user"), host: $("#app"), principal });
  const select = selector(hud, { card, refresh: () => refreshWidgets(true) });
  stage = new Stage($("#stage"), hud.fleet, {
    onSelect: (hostId) => {
      showViewInUrl({ host: hostId, layer: stage.layerFilter });
      return select(hostId);
    },
    onPlace: (hostId, placement) =>
      api
        .savePlacement(hostId, placement.layer, placement.position)
        .catch((error) => toastError(t("toast.placement", { host: hostId }), error)),
    canPlace: () => hud.principal?.role !== "viewer",
    tooltip: tooltip($("#link-tip")),
  });
  buildLayerFilter($("#layers"), stage, {
    initial: openedOn.layer,
    onChange: (layer) => showViewInUrl({ host: hud.selectedId, layer }),
  });
  searchBox({
    input: $("#search"),
    list: $("#search-results"),
    fleet: hud.fleet,
    choose: (hostId) => stage.select(hostId),
  });
  table = new FleetTable($("#fleet-table"), {
    fleet: hud.fleet,
    choose: (hostId) => stage.select(hostId),
    selected: () => hud.selectedId,
  });
  $("#table-toggle").addEventListener("click", () => table.toggle());
  document.addEventListener("keydown", (event) => {
    const typing = event.target.closest?.("input, textarea, select, [contenteditable]");
    if (event.key === "t" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      table.toggle();
    }
  });
  buildDocks();
  socket = api.connectTwin({
    onMessage: (message) =>
      dispatch(hud, message, {
        resync: () => socket.resync(),
        resynced: () => {
          loadActiveAlerts(hud.alerts, countAlerts);
          widgets.get("console")?.resynced?.();
        },
        alertsChanged: countAlerts,
        commandEvent: (event) => widgets.get("console").onEvent(event),
      }),
    onState: setConnection,
  });
  // A language switch redraws what the page wrote with t(); index.html's words and every
  // element marked data-i18n have changed already (i18n.js).
  onLanguageChange(() => {
    hostCharts.relabel();
    docks.renderPalette();
    stage.requestDraw();
    refreshWidgets(true);
  });
  loadActiveAlerts(hud.alerts, countAlerts);
  setInterval(refreshWidgets, WIDGET_REFRESH_MS);
  setInterval(() => widgets.forEach((w) => w.sample?.(hud)), FLEET_SAMPLE_MS);
  requestAnimationFrame(followCard);
}

function buildDocks() {
  const remove = (type) => docks.remove(type);
  const list = [
    gaugeWidget("cpu", "widget.cpu", "cpu_load", "#22d3ee", remove),
    gaugeWidget("memory", "widget.memory", "memory_used_percent", "#818cf8", remove),
    processesWidget(remove),
    interfacesWidget(remove),
    storageWidget(remove),
    temperaturesWidget(remove),
    gpusWidget(remove),
    linksWidget(remove),
    alertsWidget(
      remove,
      (alertId) => acknowledge(hud.alerts, alertId, () => refreshWidgets(true)),
      (alert) =>
        openSilenceDialog({ matchers: { host_ids: [alert.host_id], rule_ids: [alert.rule_id] } }),
    ),
    consoleWidget(remove, hud),
  ];
  widgets = new Map(list.map((widget) => [widget.element.dataset.widget, widget]));
  docks = new Docks({
    left: $("#dock-left"),
    right: $("#dock-right"),
    palette: $("#palette-list"),
    widgets,
  });
  const palette = $("#palette");
  $("#palette-toggle").addEventListener("click", () => (palette.hidden = !palette.hidden));
  widgets.get("console").start();
  refreshWidgets(true);
}

let widgetsVersion = -1;
function refreshWidgets(force = false) {
  // A link's host (?host=) is selected once the fleet holds it.
  if (openedOn.host && hud.fleet.hosts.has(openedOn.host)) {
    const host = openedOn.host;
    openedOn.host = null;
    stage.select(host);
  }
  table?.update(force);
  hostCharts?.follow(hud.selectedId);
  if (!force && widgetsVersion === hud.fleet.version) return;
  widgetsVersion = hud.fleet.version;
  for (const widget of widgets.values()) widget.update(hud);
  if (hud.selectedId) {
    const view = hud.fleet.hosts.get(hud.selectedId);
    if (view) card.show(view, hud.detail);
  }
}

function countAlerts() {
  countAlertsOnHosts(hud.alerts, hud.fleet);
  refreshWidgets(true);
}

function followCard() {
  requestAnimationFrame(followCard);
  if (!hud.selectedId) return;
  card.moveTo(stage.screenOf(hud.selectedId), { width: stage.width, height: stage.height });
}

function setConnection(state) {
  showConnection(hud, state, stage);
}

// Tests and benchmarks open the page with ?testing=1; no other page fetches testing.js.
if (new URLSearchParams(location.search).get("testing") === "1") {
  import("./testing.js").then(({ exposeTestHook }) =>
    exposeTestHook({
      hud,
      stage: () => stage,
      socket: () => socket,
      docks: () => docks,
      charts: () => hostCharts,
      setConnection,
    }),
  );
}

startLanguage();
languageSwitch($("#login-language"));
languageSwitch($("#language"));
startSession(enter);
