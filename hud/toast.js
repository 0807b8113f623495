// The toast at the foot of the page: one line of news, mostly a call that failed, for 6 s.

import { errorText } from "./api.js";
import { $ } from "./dom.js";

const SHOWN_MS = 6000;
let timer = null;

export function toast(text) {
  const node = $("#toast");
  node.textContent = text;
  node.hidden = false;
  clearTimeout(timer);
  timer = setTimeout(() => (node.hidden = true), SHOWN_MS);
}

// A failed call, told as "what: why".
export function toastError(what, error) {
  toast(`${what}: ${errorText(error)}`);
}
