// The admin panel's Users and Tokens tabs, shown to admins alone (the twin refuses anyone
// else): users added (their one-time password shown once), their role changed, their password
// reset (a new one-time one), removed; API tokens added (the secret shown once) and revoked.

import * as api from "./api.js";
import {
  attempt,
  field,
  input,
  messageLine,
  row,
  secretBox,
  select,
  table,
  twoStep,
  when,
} from "./admin-ui.js";
import { element } from "./dom.js";
import { t } from "./i18n.js";

const ROLES = ["viewer", "operator", "admin"];
const roleLabel = (role) => t(`admin.role.${role}`);

// A form adding a user or a token: a name and a role; `add(name, role)` answers the secret.
function addForm(kind, add, onAdded) {
  const form = element("form", "admin-add");
  form.noValidate = true;
  const name = input("name", "", { prefix: `${kind}-add` });
  const role = select("role", ROLES, "viewer", { prefix: `${kind}-add`, label: roleLabel });
  const submit = element("button", `${kind}-add`, t(`admin.${kind}s.add`));
  submit.type = "submit";
  const line = messageLine();
  const shown = element("div", "admin-shown");
  form.append(
    field(`admin.${kind}s.new_name`, name),
    field(`admin.${kind}s.role`, role),
    submit,
    line,
    shown,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    shown.replaceChildren();
    const added = await attempt(line, () => add(name.value.trim(), role.value));
    if (!added) return;
    name.value = "";
    shown.append(added);
    await onAdded();
  });
  return { form, shown };
}

export function usersTab({ self }) {
  const root = element("div", "admin-tab");
  root.dataset.tab = "users";
  const line = messageLine();
  const list = element("div", "admin-list");
  const { form, shown } = addForm(
    "user",
    async (name, role) => {
      const made = await api.addUser(name, role);
      return secretBox("admin.users.one_time", { name: made.name }, made.one_time_password);
    },
    () => load(),
  );
  root.append(form, line, list);

  async function load() {
    const found = await attempt(line, () => api.listUsers());
    if (!found) return;
    list.replaceChildren(
      table(
        [
          "admin.users.name",
          "admin.users.role",
          "admin.users.last_login",
          "admin.users.state",
          "admin.users.since",
          "",
        ],
        found.items.map((user) => userRow(user)),
      ),
    );
  }

  function userRow(user) {
    const role = select("role", ROLES, user.role, { label: roleLabel });
    role.addEventListener("change", () =>
      attempt(line, async () => {
        try {
          await api.setUserRole(user.name, role.value);
        } finally {
          await load(); // the role shown is the stored one, changed or not
        }
        line.show(
          t("admin.users.role_changed", { name: user.name, role: roleLabel(role.value) }),
          "done",
        );
      }),
    );
    const reset = twoStep("admin.users.reset", "admin.users.reset_confirm", "user-reset", () =>
      attempt(line, async () => {
        const made = await api.resetPassword(user.name);
        shown.replaceChildren(
          secretBox("admin.users.one_time", { name: made.name }, made.one_time_password),
        );
        await load();
      }),
    );
    const remove = twoStep("admin.users.remove", "admin.users.remove_confirm", "user-remove", () =>
      attempt(line, async () => {
        await api.removeUser(user.name);
        line.show(t("admin.users.removed", { name: user.name }), "done");
        await load();
      }),
    );
    const actions = element("span", "admin-actions");
    actions.append(reset, remove);
    const states = [];
    if (user.password_change_required) states.push(t("admin.users.one_time_pending"));
    if (user.locked_until && Date.parse(user.locked_until) > Date.now()) {
      states.push(t("admin.users.locked_until", { until: when(user.locked_until) }));
    }
    const name = user.name === self ? t("admin.users.you", { name: user.name }) : user.name;
    return row(
      [name, role, when(user.last_login_at), states.join(" · "), when(user.created_at), actions],
      { user: user.name },
    );
  }

  return { id: "users", labelKey: "admin.tab.users", element: root, load };
}

export function tokensTab() {
  const root = element("div", "admin-tab");
  root.dataset.tab = "tokens";
  const line = messageLine();
  const list = element("div", "admin-list");
  const { form } = addForm(
    "token",
    async (name, role) => {
      const made = await api.addToken(name, role);
      return secretBox("admin.tokens.secret", { name: made.name }, made.token);
    },
    () => load(),
  );
  root.append(form, line, list);

  async function load() {
    const found = await attempt(line, () => api.listTokens());
    if (!found) return;
    const rows = found.items.map((token) => {
      const revoke = twoStep(
        "admin.tokens.revoke",
        "admin.tokens.revoke_confirm",
        "token-revoke",
        () =>
          attempt(line, async () => {
            await api.revokeToken(token.name);
            line.show(t("admin.tokens.revoked", { name: token.name }), "done");
            await load();
          }),
      );
      return row(
        [
          token.name,
          roleLabel(token.role),
          when(token.created_at),
          when(token.last_used_at),
          revoke,
        ],
        { token: token.name },
      );
    });
    list.replaceChildren(
      rows.length
        ? table(
            [
              "admin.tokens.name",
              "admin.tokens.role",
              "admin.tokens.since",
              "admin.tokens.last_used",
              "",
            ],
            rows,
          )
        : element("p", "hint", t("admin.tokens.none")),
    );
  }

  return { id: "tokens", labelKey: "admin.tab.tokens", element: root, load };
}
