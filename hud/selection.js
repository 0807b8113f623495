// The selected host: its detail (the latest sample, read again every 5 s) and its last 30
// minutes of history, for the card and the widgets.

import * as api from "./api.js";
import { t } from "./i18n.js";
import { toastError } from "./toast.js";

const HISTORY_MINUTES = 30;
const DETAIL_REFRESH_MS = 5000;

// The stage's onSelect: select(hostId) puts the host (null: the fleet) into `hud` and onto the
// card, then fills hud.detail and hud.history as they arrive, calling refresh() each time.
export function selector(hud, { card, refresh }) {
  let detailTimer = null;

  async function loadDetail(hostId) {
    try {
      const detail = await api.fetchHost(hostId);
      if (hud.selectedId !== hostId) return;
      // The sample before, for rates: the twin's, else the one read last (when new: the
      // detail is read again every 5 s whether or not the host sent anything).
      if (detail.previous) hud.detailBefore = detail.previous;
      else if (hud.detail && hud.detail.timestamp !== detail.sample.timestamp) {
        hud.detailBefore = hud.detail;
      }
      hud.detail = detail.sample;
      refresh();
    } catch (error) {
      if (error.status === 404) return;
      toastError(t("toast.host", { host: hostId }), error);
    }
  }

  return async function select(hostId) {
    hud.selectedId = hostId;
    hud.detail = null;
    hud.detailBefore = null;
    hud.history = [];
    clearInterval(detailTimer);
    card.show(hostId ? hud.fleet.hosts.get(hostId) : null, null);
    refresh();
    if (!hostId) return;
    await loadDetail(hostId);
    detailTimer = setInterval(() => loadDetail(hostId), DETAIL_REFRESH_MS);
    try {
      const since = new Date(Date.now() - HISTORY_MINUTES * 60000).toISOString();
      const history = await api.fetchHistory(hostId, since);
      if (hud.selectedId === hostId) hud.history = history.points;
    } catch (error) {
      if (error.status !== 404) toastError(t("toast.history", { host: hostId }), error);
    }
    refresh();
  };
}
