// Who is at the page: the login form, the replacement of a one-time password, logging out,
// and noticing that a session has ended.

import * as api from "./api.js";
import { $ } from "./dom.js";
import { onLanguageChange, t, tValue } from "./i18n.js";

// The login that gave a one-time password, until the user has chosen their own.
let passwordChange = null;
// Who the top bar names, once someone is in.
let signedIn = null;

// Wires the forms, then asks the twin who is logged in. Once someone is, the app is shown
// and `onEnter(principal)` runs.
export async function startSession(onEnter) {
  const enter = (principal) => {
    showApp(principal);
    onEnter(principal);
  };
  $("#login-form").addEventListener("submit", (event) => logIn(event, enter));
  $("#password-form").addEventListener("submit", (event) => changePassword(event, enter));
  $("#logout").addEventListener("click", logOut);
  onLanguageChange(() => signedIn && showUser(signedIn));
  let principal;
  try {
    principal = await api.whoAmI();
  } catch (error) {
    $("#login-message").textContent = t("login.unreachable", { error: error.message });
    showLogin();
    return;
  }
  // A session opened with a one-time password, reloaded: its password was not kept, so the
  // operator logs in again to choose their own.
  if (principal && !principal.passwordChangeRequired) enter(principal);
  else showLogin();
}

// The twin refuses the socket once the session has ended: back to the login page then.
export function reloadIfLoggedOut() {
  api.whoAmI().then(
    (principal) => principal || location.reload(),
    () => undefined,
  );
}

function showLogin() {
  $("#login").hidden = false;
  $("#app").hidden = true;
  $("#login-user").focus();
}

function showApp(principal) {
  document.body.dataset.role = principal.role;
  $("#login").hidden = true;
  $("#app").hidden = false;
  signedIn = principal;
  showUser(principal);
  $("#logout").hidden = Boolean(principal.loginsOff);
}

function showUser(principal) {
  $("#user").textContent = principal.loginsOff
    ? t("topbar.logins_off")
    : t("topbar.user", { name: principal.name, role: tValue("role", principal.role) });
}

async function logIn(event, enter) {
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
    message.textContent = error.status === 401 ? t("login.wrong") : api.errorText(error);
  }
}

// A one-time password is replaced before anything else: the new one, then a login with it.
function showPasswordChange(user, current) {
  passwordChange = { user, current };
  $("#login-form").hidden = true;
  $("#password-form").hidden = false;
  $("#password-new").focus();
}

async function changePassword(event, enter) {
  event.preventDefault();
  const message = $("#password-message");
  message.textContent = "";
  const next = $("#password-new").value;
  if (next !== $("#password-repeat").value) {
    message.textContent = t("password.differ");
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
    message.textContent = api.errorText(error);
  }
}

async function logOut() {
  try {
    await api.logOut();
  } finally {
    location.reload();
  }
}
