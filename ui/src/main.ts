// The app shell: sign-in gate, left navigation, and the page for the current hash route.
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { Api } from "./api";
import type { Ctx } from "./context";
import { clear, h } from "./dom";
import { deploymentPage } from "./pages/deployment";
import { deploymentsPage } from "./pages/deployments";
import { deploymentForm } from "./pages/deploy-form";
import { environmentsPage } from "./pages/environments";
import { modelPage, modelsPage } from "./pages/models";
import { signInPage } from "./pages/signin";
import { href, parseRoute, section, type Route } from "./routes";
import { Session } from "./session";
import type { ProjectOut } from "./types";

const session = new Session(window.sessionStorage);
const api = new Api(() => session.key);
const root = document.getElementById("app") as HTMLElement;
let cleanups: (() => void)[] = [];
let project: ProjectOut | null = null;
// Each render takes a number; one that finds a newer render started while it waited (a
// sign-in followed at once by a hash change) stops, so an older page never replaces a newer.
let renders = 0;

function leave(): void {
  for (const fn of cleanups) fn();
  cleanups = [];
}

function ctx(): Ctx {
  return {
    api,
    session,
    go: (route: Route) => {
      if (location.hash === href(route)) render();
      else location.hash = href(route);
    },
    onLeave: (fn) => cleanups.push(fn),
    every(ms, fn) {
      let stopped = false;
      let timer = 0;
      const tick = async () => {
        try {
          await fn();
        } catch {
          /* the page shows its own errors; keep polling */
        }
        if (!stopped) timer = window.setTimeout(tick, ms);
      };
      timer = window.setTimeout(tick, ms);
      cleanups.push(() => {
        stopped = true;
        window.clearTimeout(timer);
      });
    },
  };
}

function shell(route: Route, main: HTMLElement): HTMLElement {
  const current = section(route);
  const link = (target: Route, label: string) =>
    h(
      "a",
      { href: href(target), "aria-current": section(target) === current ? "page" : null },
      label,
    );
  const signOut = h("button", { type: "button", class: "link", onclick: () => {
    session.signOut();
    project = null;
    render();
  } }, "Sign out");
  return h(
    "div",
    { class: "shell" },
    h(
      "nav",
      { class: "sidebar", "aria-label": "Main" },
      h("div", { class: "brand" }, "Shipyard"),
      h(
        "ul",
        {},
        h("li", {}, link({ page: "deployments" }, "Deployments")),
        h("li", {}, link({ page: "models" }, "Models")),
        h("li", {}, link({ page: "environments" }, "Environments")),
      ),
      h("div", { class: "who" }, project ? `Project ${project.name}` : "", signOut),
    ),
    main,
  );
}

async function render(): Promise<void> {
  const mine = ++renders;
  leave();
  if (!session.key) {
    clear(root, signInPage(api, session, async () => render()));
    return;
  }
  if (!project) {
    let fetched: ProjectOut;
    try {
      fetched = await api.get<ProjectOut>("/project");
    } catch {
      if (mine !== renders) return;
      session.signOut();
      clear(root, signInPage(api, session, async () => render(), "Your key is no longer valid: sign in again."));
      return;
    }
    if (mine !== renders) return;
    project = fetched;
  }
  const route = parseRoute(location.hash);
  const main = h("main", { id: "main", tabindex: "-1" });
  clear(root, shell(route, main));
  const c = ctx();
  switch (route.page) {
    case "deployments":
      return deploymentsPage(c, main);
    case "new-deployment":
      return deploymentForm(c, main, null);
    case "edit-deployment":
      return deploymentForm(c, main, route.name);
    case "deployment":
      return deploymentPage(c, main, route.name);
    case "models":
      return modelsPage(c, main);
    case "model":
      return modelPage(c, main, route.name);
    case "environments":
      return environmentsPage(c, main, route.build);
  }
}

window.addEventListener("hashchange", () => void render());
void render();
