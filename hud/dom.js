// DOM helpers for every panel: find an element of index.html, make a new one.

// The element of index.html that `selector` names. A missing one means the page and the
// script disagree: that fails here, by name, rather than later on a null.
export function $(selector) {
  const node = document.querySelector(selector);
  if (!node) throw new Error(`no ${selector} in index.html: the page and the script disagree`);
  return node;
}

// A new element with its class and, when given, its text.
export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
