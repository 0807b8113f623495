// The twin's live socket on the page: each message to what it updates (the fleet, the alerts,
// the console), and the connection's state to the header's badge.

import { applyAlertEvent } from "./alerts.js";
import { $ } from "./dom.js";
import { translated } from "./i18n.js";
import { reloadIfLoggedOut } from "./session.js";

// One message from the socket into `hud`. `to` is the rest of the page: resync() asks the
// socket for a full frame, resynced() reads again what the events of a gap would have told
// (every frame after the first follows a gap: a resync or a reconnect), alertsChanged()
// recounts the hosts' alerts, commandEvent(message) goes to the console.
export function dispatch(hud, message, to) {
  switch (message.type) {
    case "frame":
      hud.fleet.applyFrame(message);
      hud.framesSinceReconnect += 1;
      to.alertsChanged();
      if (hud.fleet.framesApplied > 1) to.resynced();
      break;
    case "diff":
      if (!hud.fleet.applyDiff(message)) to.resync();
      break;
    case "alert":
      applyAlertEvent(hud.alerts, message.event);
      to.alertsChanged();
      break;
    case "command_status":
    case "command_output":
    case "command_result":
      to.commandEvent(message);
      break;
    default:
      break;
  }
}

// The socket's state ("connecting", "live" or "reconnecting") into `hud` and onto the badge;
// while it reconnects the stage (null before the first login) is dimmed.
export function showConnection(hud, state, stage) {
  hud.connection = state;
  const badge = $("#connection");
  badge.dataset.state = state;
  translated(badge, `connection.${state}`);
  if (state === "reconnecting") {
    hud.reconnects += 1;
    hud.framesSinceReconnect = 0;
    if (!hud.principal?.loginsOff) reloadIfLoggedOut();
  }
  stage?.setDimmed(state === "reconnecting");
}
