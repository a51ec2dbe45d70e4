// Sign in with a project's API key (checked against GET /project, kept in sessionStorage).
import { ApiError, type Api } from "../api";
import { h } from "../dom";
import type { Session } from "../session";

export function signInPage(api: Api, session: Session, done: () => Promise<void>, notice = ""): HTMLElement {
  const input = h("input", {
    id: "api-key", type: "password", name: "api-key", autocomplete: "off", required: true,
    spellcheck: "false",
  });
  const problem = h("p", { class: "error", role: "alert" }, notice);
  const form = h(
    "form",
    { class: "signin card", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in to Shipyard"),
    h("label", { for: "api-key" }, "Project API key"),
    input,
    h("small", { class: "hint" }, "Kept in this tab only (session storage); closing the tab signs you out. The server's first key is in $SHIPYARD_HOME/api-key."),
    problem,
    h("button", { type: "submit", class: "primary" }, "Sign in"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) return;
    session.signIn(key);
    try {
      await api.get("/project");
      input.value = "";
      // a hash change while the key was checked has already shown the app: do not show it twice
      if (form.isConnected) await done();
    } catch (err) {
      session.signOut();
      problem.textContent = err instanceof ApiError && err.status === 401 ? "That key is not valid." : `Cannot sign in: ${String(err)}`;
    }
  });
  queueMicrotask(() => input.focus());
  return h("div", { class: "signin-wrap" }, form);
}
