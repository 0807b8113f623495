// The command console: send a command to one host, several, or every host with a tag; watch
// its output stream in; search, filter and page the history; cancel and retry.

import {
  cancelCommand,
  errorText,
  fetchCommand,
  listCommands,
  retryCommand,
  sendCommand,
} from "./api.js";
import { element } from "./dom.js";
import { formatNumber, onLanguageChange, t, tValue, translated } from "./i18n.js";
import { shell } from "./widgets.js";

const FINAL = new Set(["succeeded", "failed", "timed_out", "cancelled", "expired", "rejected"]);
const STATES = ["", "pending", "dispatched", "running", ...FINAL];
const PAGE_SIZE = 5;
const MAX_OUTPUT_CHARS = 256 * 1024; // per command on this page; the service caps its own
const MAX_TRACKED = 200; // commands whose live events this page keeps
const HISTORY_FOLLOW_UP_MS = 2000;
const RANKS = { pending: 0, dispatched: 1, accepted: 2, running: 3 };
const stateRank = (state) => (FINAL.has(state) ? 9 : (RANKS[state] ?? 0));

// What to send for the target field: one host, a list, or a tag selector ("key=value").
export function targetOf(mode, text) {
  const value = text.trim();
  if (!value) throw new Error(t("console.target_missing"));
  if (mode === "tag") {
    const [key, ...rest] = value.split("=");
    if (!key || !rest.length) throw new Error(t("console.target_tag"));
    return { selector: { tags: { [key.trim()]: rest.join("=").trim() } } };
  }
  if (mode === "hosts") {
    const targets = value.split(/[\s,]+/).filter(Boolean);
    return { targets };
  }
  return { hostname: value };
}

export function consoleWidget(onRemove, hud) {
  const widget = shell("console", "widget.console", onRemove);
  const form = element("form", "console-form");
  const mode = element("select", "target-mode");
  for (const value of ["host", "hosts", "tag"]) {
    const option = translated(element("option"), `console.mode.${value}`);
    option.value = value;
    mode.append(option);
  }
  const target = translated(element("input", "target"), "console.target", "placeholder");
  target.name = "target";
  const command = translated(element("input", "command"), "console.command", "placeholder");
  command.name = "command";
  const timeout = element("input", "timeout");
  timeout.type = "number";
  timeout.min = "1";
  timeout.max = "3600";
  timeout.value = "30";
  translated(timeout, "console.timeout", "title");
  const run = translated(element("button", "run"), "console.run");
  run.type = "submit";
  run.dataset.role = "run";
  form.append(mode, target, command, timeout, run);

  const message = element("div", "console-message");
  const output = element("pre", "console-output");
  output.dataset.role = "output";

  const filters = element("div", "history-filters");
  const search = translated(element("input", "history-search"), "console.search", "placeholder");
  const status = element("select", "history-status");
  for (const state of STATES) {
    const option = translated(element("option"), state ? `command.${state}` : "console.any_status");
    option.value = state;
    status.append(option);
  }
  filters.append(search, status);
  const history = element("div", "history");
  const pages = element("div", "history-pages");
  widget.body.append(form, message, output, filters, history, pages);

  const commands = new Map(); // id -> {host_id, command, status, text}
  let watched = []; // the ids whose output is shown
  let page = 1;

  function renderOutput() {
    output.replaceChildren();
    for (const id of watched) {
      const entry = commands.get(id);
      if (!entry) continue;
      const head = element(
        "div",
        `output-head ${entry.status}`,
        `${entry.host_id} · ${entry.command} · ${tValue("command", entry.status)}${entry.exit_code != null ? ` ${t("console.exit", { code: entry.exit_code })}` : ""}`,
      );
      output.append(head, document.createTextNode(entry.text));
    }
    output.scrollTop = output.scrollHeight;
  }

  // A fast command's output and result can arrive on the socket before the reply that
  // created it: they wait here (bounded) for it.
  function entryOf(id) {
    let entry = commands.get(id);
    if (!entry) {
      entry = { host_id: "", command: "", status: "pending", exit_code: null, text: "" };
      commands.set(id, entry);
      if (commands.size > MAX_TRACKED) commands.delete(commands.keys().next().value);
    }
    return entry;
  }

  function watch(records) {
    watched = records.map((record) => record.id);
    for (const record of records) {
      const entry = entryOf(record.id);
      entry.host_id = record.host_id;
      entry.command = record.command;
      if (stateRank(record.status) >= stateRank(entry.status)) entry.status = record.status;
      entry.exit_code = record.exit_code ?? entry.exit_code;
      if (!entry.text) entry.text = [record.stdout, record.stderr].filter(Boolean).join("");
    }
    renderOutput();
  }

  // While a row shown has not finished, the page is read again every few seconds: a result
  // relayed on the socket may reach the page before the commands service has stored it.
  let followUp = null;

  async function refreshHistory() {
    clearTimeout(followUp);
    try {
      const result = await listCommands({
        search: search.value,
        status: status.value,
        page,
        page_size: PAGE_SIZE,
      });
      history.replaceChildren(...result.items.map(historyRow));
      if (result.items.some((item) => !FINAL.has(item.status))) {
        followUp = setTimeout(refreshHistory, HISTORY_FOLLOW_UP_MS);
      }
      const last = Math.max(1, Math.ceil(result.total / result.page_size));
      const previous = translated(element("button", "", "‹"), "console.previous", "title");
      previous.disabled = page <= 1;
      previous.addEventListener("click", () => {
        page -= 1;
        refreshHistory();
      });
      const next = translated(element("button", "", "›"), "console.next", "title");
      next.disabled = page >= last;
      next.addEventListener("click", () => {
        page += 1;
        refreshHistory();
      });
      pages.replaceChildren(
        previous,
        element(
          "span",
          "",
          `${formatNumber(page)} / ${formatNumber(last)} · ${formatNumber(result.total)}`,
        ),
        next,
      );
    } catch (error) {
      history.replaceChildren(
        element("div", "hint", t("console.history_error", { error: errorText(error) })),
      );
    }
  }

  function historyRow(record) {
    const row = element("div", `history-row ${record.status}`);
    row.dataset.commandId = record.id;
    row.dataset.status = record.status;
    const text = element(
      "span",
      "history-text",
      `${record.host_id} · ${record.command} · ${tValue("command", record.status)} · ${record.requested_by}`,
    );
    text.addEventListener("click", async () => {
      try {
        watch([await fetchCommand(record.id)]);
      } catch (error) {
        message.textContent = errorText(error);
      }
    });
    row.append(text);
    if (hud.principal?.role !== "viewer") {
      const action = FINAL.has(record.status) ? ["retry", retryCommand] : ["cancel", cancelCommand];
      const button = element("button", `history-${action[0]}`, t(`console.${action[0]}`));
      button.addEventListener("click", async () => {
        try {
          const answer = await action[1](record.id);
          if (action[0] === "retry") watch([answer]);
          refreshHistory();
        } catch (error) {
          message.textContent = errorText(error);
        }
      });
      row.append(button);
    }
    return row;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.textContent = "";
    let body;
    try {
      body = {
        ...targetOf(mode.value, target.value),
        command: command.value,
        timeout_seconds: Number(timeout.value),
      };
    } catch (error) {
      message.textContent = error.message;
      return;
    }
    run.disabled = true;
    try {
      const created = await sendCommand(body);
      watch(created.commands);
      message.textContent = t("console.sent", { count: formatNumber(created.commands.length) });
      page = 1;
      refreshHistory();
    } catch (error) {
      message.textContent = errorText(error);
    } finally {
      run.disabled = false;
    }
  });
  search.addEventListener("input", () => {
    page = 1;
    refreshHistory();
  });
  status.addEventListener("change", () => {
    page = 1;
    refreshHistory();
  });

  // Relayed on the twin's socket: output chunks, status changes and results.
  widget.onEvent = (event) => {
    if (event.type === "command_output") {
      const entry = entryOf(event.chunk.command_id);
      if (entry.text.length > MAX_OUTPUT_CHARS) return;
      entry.text += event.chunk.data;
    } else if (event.type === "command_status") {
      const entry = entryOf(event.status.command_id);
      if (stateRank(event.status.status) >= stateRank(entry.status))
        entry.status = event.status.status;
    } else if (event.type === "command_result") {
      const result = event.result;
      const entry = entryOf(result.command_id);
      entry.status = result.state;
      entry.exit_code = result.exit_code ?? null;
      if (!entry.text) entry.text = [result.stdout, result.stderr].filter(Boolean).join("");
      refreshHistory();
    } else {
      return;
    }
    if (watched.length) renderOutput();
  };

  // After a gap on the socket (a resync or a reconnect) the relayed events of the gap are
  // gone: what the page shows is read again from the commands service, whose record of a
  // finished command (its output too) is the whole story.
  widget.resynced = async () => {
    refreshHistory();
    if (!watched.length) return;
    const records = await Promise.all(watched.map((id) => fetchCommand(id).catch(() => null)));
    for (const record of records) {
      if (!record) continue;
      const entry = entryOf(record.id);
      if (stateRank(record.status) >= stateRank(entry.status)) entry.status = record.status;
      entry.exit_code = record.exit_code ?? entry.exit_code;
      if (FINAL.has(record.status))
        entry.text = [record.stdout, record.stderr].filter(Boolean).join("");
    }
    renderOutput();
  };

  let lastSelected = null;
  widget.update = (current) => {
    run.hidden = current.principal?.role === "viewer";
    if (current.selectedId === lastSelected) return;
    lastSelected = current.selectedId;
    if (mode.value === "host" && current.selectedId) target.value = current.selectedId;
  };
  widget.start = refreshHistory;
  // The rows and output were written in the old language: once more in the new one.
  onLanguageChange(() => {
    refreshHistory();
    if (watched.length) renderOutput();
  });
  return widget;
}
