// Environments: the catalogue of base environments (each with its pinned packages) and the
// environments built on this server (administrator key only).
import { ApiError } from "../api";
import type { Ctx } from "../context";
import { clear, errorText, h } from "../dom";
import type { BaseEnvironment } from "../types";

export async function environmentsPage(ctx: Ctx, main: HTMLElement): Promise<void> {
  const catalogue = h("div", {}, "Loading…");
  const builds = h("div", { class: "table-wrap" }, "Loading…");
  clear(main, h("header", { class: "page-head" }, h("h1", {}, "Environments")),
    h("section", { class: "card", "aria-labelledby": "cat" }, h("h2", { id: "cat" }, "Catalogue"), catalogue),
    h("section", { class: "card", "aria-labelledby": "bld" }, h("h2", { id: "bld" }, "Builds on this server"), builds));
  try {
    const entries = await ctx.api.get<BaseEnvironment[]>("/environments");
    clear(catalogue, ...entries.map((e) => h("article", { class: "environment", "data-environment": `${e.name}:${e.version}` },
      h("h3", {}, `${e.name}:${e.version}`, e.builtin ? h("span", { class: "badge off" }, "built in") : ""),
      e.description ? h("p", {}, e.description) : "",
      h("p", { class: "hint" }, `Python ${e.python ?? "(the server's)"} · image ${e.image ?? "-"}${e.aliases?.length ? ` · aliases ${e.aliases.join(", ")}` : ""}`),
      h("details", {}, h("summary", {}, `${e.packages?.length ?? 0} pinned package(s)`), h("ul", { class: "packages" }, (e.packages ?? []).map((p) => h("li", {}, p)))))));
  } catch (err) {
    clear(catalogue, h("p", { class: "error" }, errorText(err)));
  }
  try {
    const list = await ctx.api.get<Record<string, unknown>[]>("/environments/builds");
    if (!list.length) {
      clear(builds, h("p", {}, "Nothing built yet: a deployment whose model has a requirements.txt builds one."));
      return;
    }
    const keys = [...new Set(list.flatMap((b) => Object.keys(b)))].slice(0, 8);
    clear(builds, h("table", { class: "list", "aria-label": "Builds" },
      h("thead", {}, h("tr", {}, keys.map((k) => h("th", { scope: "col" }, k)))),
      h("tbody", {}, list.map((b) => h("tr", {}, keys.map((k) => h("td", {}, show(b[k]))))))));
  } catch (err) {
    const text = err instanceof ApiError && err.status === 403 ? "Builds are shown to the administrator key only." : errorText(err);
    clear(builds, h("p", { class: "hint" }, text));
  }
}

function show(value: unknown): string {
  if (Array.isArray(value)) return value.length > 6 ? `${value.slice(0, 6).join(", ")} … (${value.length})` : value.join(", ");
  if (value !== null && typeof value === "object") return JSON.stringify(value);
  return String(value ?? "");
}
