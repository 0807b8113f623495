// The only module that talks to the server: the twin's HTTP API (its own routes, and the
// commands, alerts and history routes it forwards over NATS) and its live socket.

export class ApiError extends Error {
  constructor(status, detail) {
    super(`${status}: ${detail}`);
    this.status = status;
    this.detail = detail;
  }
}

// What to show for a failed call: the server's detail, else the error's own message.
export const errorText = (error) => error.detail ?? error.message;

let csrfToken = null;

async function request(method, path, body) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["x-csrf-token"] = csrfToken;
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { detail: text };
  }
  if (!response.ok) throw new ApiError(response.status, data?.detail ?? response.statusText);
  return data;
}

function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

// Who is logged in. With logins off on the server, everyone acts as an operator.
export async function whoAmI() {
  try {
    const me = await request("GET", "/api/auth/me");
    csrfToken = me.csrf ?? null;
    return { ...me.principal, passwordChangeRequired: me.password_change_required === true };
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      return { name: "anonymous", role: "operator", kind: "user", loginsOff: true };
    }
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

// The principal, with passwordChangeRequired when the password was a one-time one: the
// session may then do nothing but change it.
export async function logIn(user, password) {
  const me = await request("POST", "/api/auth/login", { user, password });
  csrfToken = me.csrf ?? null;
  return { ...me.principal, passwordChangeRequired: me.password_change_required === true };
}

// Every session of the user ends (this one too): log in again with the new password.
export async function changePassword(current, next) {
  await request("POST", "/api/auth/password", { current, new: next });
  csrfToken = null;
}

export async function logOut() {
  await request("POST", "/api/auth/logout");
  csrfToken = null;
}

export const fetchHost = (hostId) =>
  request("GET", `/api/twin/hosts/${encodeURIComponent(hostId)}`);

export const savePlacement = (hostId, layer, position) =>
  request("PUT", `/api/twin/hosts/${encodeURIComponent(hostId)}/placement`, { layer, position });

// One host's history from `since` (to `until`, else now), at `step` (raw, 1m, 1h; else the
// server chooses by range).
export const fetchHistory = (host, since, until, step) =>
  request("GET", `/api/metrics/history${query({ host, since, until, step })}`);

// Every alert rule (GET /api/alerts/rules): the host charts draw the thresholds.
export const listAlertRules = () => request("GET", "/api/alerts/rules");

export const sendCommand = (body) => request("POST", "/api/commands", body);

export const listCommands = (params) => request("GET", `/api/commands${query(params)}`);

export const fetchCommand = (id) => request("GET", `/api/commands/${encodeURIComponent(id)}`);

export const cancelCommand = (id) =>
  request("POST", `/api/commands/${encodeURIComponent(id)}/cancel`, {});

export const retryCommand = (id) =>
  request("POST", `/api/commands/${encodeURIComponent(id)}/retry`, {});

export const activeAlerts = () => request("GET", "/api/alerts/active");

export const acknowledgeAlert = (id) =>
  request("POST", `/api/alerts/${encodeURIComponent(id)}/ack`, {});

// The admin panel's calls (hud/admin-panel.js): rules, their preview, silences and receivers
// (any role reads; changes need an operator), users and API tokens (an admin's alone).
const part = encodeURIComponent;
export const listRules = () => request("GET", "/api/alerts/rules");
export const createRule = (rule) => request("POST", "/api/alerts/rules", rule);
export const updateRule = (id, rule) => request("PUT", `/api/alerts/rules/${part(id)}`, rule);
export const deleteRule = (id) => request("DELETE", `/api/alerts/rules/${part(id)}`);
export const previewRule = (rule) => request("POST", "/api/alerts/rules/preview", rule);
export const listSilences = () => request("GET", "/api/alerts/silences");
export const createSilence = (body) => request("POST", "/api/alerts/silences", body);
export const expireSilence = (id) => request("DELETE", `/api/alerts/silences/${part(id)}`);
export const listReceivers = () => request("GET", "/api/alerts/receivers");
export const listUsers = () => request("GET", "/api/admin/users");
export const addUser = (name, role) => request("POST", "/api/admin/users", { name, role });
export const setUserRole = (name, role) =>
  request("PUT", `/api/admin/users/${part(name)}/role`, { role });
export const resetPassword = (name) =>
  request("POST", `/api/admin/users/${part(name)}/password`, {});
export const removeUser = (name) => request("DELETE", `/api/admin/users/${part(name)}`);
export const listTokens = () => request("GET", "/api/admin/tokens");
export const addToken = (name, role) => request("POST", "/api/admin/tokens", { name, role });
export const revokeToken = (name) => request("DELETE", `/api/admin/tokens/${part(name)}`);

// Backoff of the live socket: doubling from 0.5 s to 15 s, each wait jittered by up to half.
export function reconnectDelay(attempt, random = Math.random) {
  const base = Math.min(15000, 500 * 2 ** Math.min(attempt, 10));
  return base / 2 + random() * (base / 2);
}

// The twin's live socket: frames, diffs and relayed events go to onMessage; onState hears
// "connecting", "live" and "reconnecting". Reconnects until close() is called.
export function connectTwin({ onMessage, onState }) {
  let socket = null;
  let attempt = 0;
  let closed = false;
  let timer = null;

  function open() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(`${scheme}//${location.host}/ws/twin`);
    socket.onopen = () => {
      attempt = 0;
      onState("live");
    };
    socket.onmessage = (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      onMessage(message);
    };
    socket.onclose = () => {
      socket = null;
      if (closed) return;
      onState("reconnecting");
      timer = setTimeout(open, reconnectDelay(attempt++));
    };
  }

  onState("connecting");
  open();
  return {
    // Ask for a full frame (after a gap in seq).
    resync() {
      if (socket?.readyState === WebSocket.OPEN) socket.send("frame");
    },
    // Drop the connection as a network fault would; it comes back by itself.
    drop() {
      socket?.close(4000, "dropped");
    },
    close() {
      closed = true;
      clearTimeout(timer);
      socket?.close(1000, "bye");
    },
  };
}
