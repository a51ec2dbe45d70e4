// Environments: the catalogue of base environments (each with its pinned packages), the builds
// of this project's deployments (state, times, size, who uses them) and one build's log, which
// refreshes by itself while the build runs.
import { enc } from "../api";
import { buildRow, deploymentLink, logText, stillBuilding } from "../builds";
import type { Ctx } from "../context";
import { clear, errorText, h } from "../dom";
import { href } from "../routes";
import type { BaseEnvironment, BuildLog, EnvironmentBuild } from "../types";

const REFRESH_MS = 2000;

export async function environmentsPage(ctx: Ctx, main: HTMLElement, build?: string): Promise<void> {
  const catalogue = h("div", {}, "Loading…");
  const builds = h("div", { class: "table-wrap" }, "Loading…");
  const logCard = build
    ? h("section", { class: "card", "aria-labelledby": "blog", "data-build-log": build }, h("h2", { id: "blog" }, `Build ${build}`), "Loading…")
    : null;
  clear(main, h("header", { class: "page-head" }, h("h1", {}, "Environments")),
    ...(logCard ? [logCard] : []),
    h("section", { class: "card", "aria-labelledby": "bld" }, h("h2", { id: "bld" }, "Builds"), builds),
    h("section", { class: "card", "aria-labelledby": "cat" }, h("h2", { id: "cat" }, "Catalogue"), catalogue));
  let list: EnvironmentBuild[] = [];
  let logState = "BUILDING";
  const loadBuilds = async (): Promise<void> => {
    try {
      list = await ctx.api.get<EnvironmentBuild[]>("/environments/builds");
      clear(builds, buildsTable(list, build));
    } catch (err) {
      clear(builds, h("p", { class: "error" }, errorText(err)));
    }
  };
  const loadLog = async (): Promise<void> => {
    if (!logCard || !build) return;
    try {
      const log = await ctx.api.get<BuildLog>(`/environments/builds/${enc(build)}/log?tail=500`);
      logState = log.state ?? "BUILDING";
      const found = list.find((b) => b.id === build);
      clear(logCard, ...logView(build, log, found));
    } catch (err) {
      logState = "FAILED";
      clear(logCard, h("h2", { id: "blog" }, `Build ${build}`), h("p", { class: "error", role: "alert" }, errorText(err)));
    }
  };
  await loadBuilds();
  await loadLog();
  ctx.every(REFRESH_MS, async () => {
    const logRunning = Boolean(build) && logState === "BUILDING";
    if (stillBuilding(list) || logRunning) await loadBuilds();
    if (logRunning) await loadLog();
  });
  try {
    const entries = await ctx.api.get<BaseEnvironment[]>("/environments");
    clear(catalogue, ...entries.map(catalogueEntry));
  } catch (err) {
    clear(catalogue, h("p", { class: "error" }, errorText(err)));
  }
}

function buildsTable(list: EnvironmentBuild[], selected?: string): HTMLElement {
  if (!list.length) {
    return h("p", {}, "No builds yet: a deployment whose model has a requirements.txt (or that names a base environment) builds one.");
  }
  const now = Date.now();
  const heads = ["Build", "State", "Base", "Packages", "Started", "Took", "Size", "Used by"];
  return h("table", { class: "list", "aria-label": "Builds" },
    h("thead", {}, h("tr", {}, heads.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, list.map((b) => {
      const r = buildRow(b, now);
      return h("tr", { "data-build": r.id, "data-build-state": b.state ?? "", "aria-current": r.id === selected ? "true" : null },
        h("td", {}, h("a", { href: href({ page: "environments", build: r.id }), title: r.step }, h("code", {}, r.id))),
        h("td", {}, h("span", { class: `badge ${r.stateClass}` }, r.state)),
        h("td", {}, r.base), h("td", {}, r.packages), h("td", {}, r.started), h("td", {}, r.took), h("td", {}, r.size),
        h("td", {}, r.deployments.length ? r.deployments.flatMap((d, i) => {
          const own = deploymentLink(d);
          return [i ? ", " : "", own ? h("a", { href: href({ page: "deployment", name: own }) }, d) : d];
        }) : "-"));
    })));
}

function logView(id: string, log: BuildLog, found?: EnvironmentBuild): (Node | string)[] {
  const state = log.state ?? "BUILDING";
  const r = found ? buildRow(found, Date.now()) : null;
  return [
    h("h2", { id: "blog" }, `Build ${id}`, h("span", { class: `badge ${r?.stateClass ?? "busy"}`, "data-log-state": state }, state)),
    r ? h("p", { class: "hint" }, `${r.base} · started ${r.started} · took ${r.took} · size ${r.size}${r.deployments.length ? ` · used by ${r.deployments.join(", ")}` : ""}`) : "",
    state === "BUILDING" ? h("p", { class: "hint", "aria-live": "polite" }, "Building: this log refreshes by itself.") : "",
    state === "FAILED" && found?.step ? h("pre", { class: "env-error", role: "alert" }, found.step) : "",
    h("pre", { class: "logs", "aria-label": "Build log", tabindex: "0" }, logText(log)),
    found?.packages?.length ? h("details", {}, h("summary", {}, `${found.packages.length} locked package(s)`),
      h("ul", { class: "packages" }, found.packages.map((p) => h("li", {}, p)))) : "",
    h("p", {}, h("a", { href: href({ page: "environments" }) }, "Close the log")),
  ];
}

function catalogueEntry(e: BaseEnvironment): HTMLElement {
  return h("article", { class: "environment", "data-environment": `${e.name}:${e.version}` },
    h("h3", {}, `${e.name}:${e.version}`, e.builtin ? h("span", { class: "badge off" }, "built in") : ""),
    e.description ? h("p", {}, e.description) : "",
    h("p", { class: "hint" }, `Python ${e.python ?? "(the server's)"} · image ${e.image ?? "-"}${e.aliases?.length ? ` · aliases ${e.aliases.join(", ")}` : ""}`),
    h("details", {}, h("summary", {}, `${e.packages?.length ?? 0} pinned package(s)`), h("ul", { class: "packages" }, (e.packages ?? []).map((p) => h("li", {}, p)))));
}
