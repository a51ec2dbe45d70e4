// Deployments: the list (state, serving tool, ready/desired per component, model, last change).
import type { Ctx } from "../context";
import { clear, errorText, h } from "../dom";
import { ago, readyDesired, stateClass } from "../format";
import { href } from "../routes";
import type { DeploymentOut } from "../types";

export function stateBadge(state: string): HTMLElement {
  return h("span", { class: `badge ${stateClass(state)}`, "data-state": state }, state);
}

function row(d: DeploymentOut, now: number): HTMLElement {
  const counts = readyDesired(d).map((c) =>
    h("div", { class: "count", "data-component": c.component }, `${c.component} ${c.ready}/${c.desired}`),
  );
  return h(
    "tr",
    { "data-deployment": d.name },
    h("td", {}, h("a", { href: href({ page: "deployment", name: d.name }) }, d.name)),
    h("td", {}, stateBadge(d.status.state ?? "CREATED")),
    h("td", {}, d.spec.serving_tool ?? "LOCAL"),
    h("td", {}, counts),
    h("td", {}, `${d.spec.predictor.model_name} v${d.spec.predictor.model_version}`),
    h("td", { title: d.updated_at }, ago(d.updated_at, now)),
  );
}

export async function deploymentsPage(ctx: Ctx, main: HTMLElement): Promise<void> {
  const create = h("a", { class: "button primary", href: href({ page: "new-deployment" }) }, "Create new deployment");
  const body = h("div", { "aria-live": "polite" }, h("p", {}, "Loading…"));
  clear(main, h("header", { class: "page-head" }, h("h1", {}, "Deployments"), create), body);

  const load = async () => {
    let list: DeploymentOut[];
    try {
      list = await ctx.api.get<DeploymentOut[]>("/deployments");
    } catch (err) {
      clear(body, h("p", { class: "error", role: "alert" }, errorText(err)));
      return;
    }
    if (list.length === 0) {
      clear(
        body,
        h(
          "div",
          { class: "empty card" },
          h("p", {}, "No deployments yet. Serve a model from the registry:"),
          h("a", { class: "button primary", href: href({ page: "new-deployment" }) }, "New deployment"),
        ),
      );
      return;
    }
    const now = Date.now();
    clear(
      body,
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "list", "aria-label": "Deployments" },
          h("thead", {}, h("tr", {}, ...["Name", "State", "Serving tool", "Ready / desired", "Model", "Last change"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, list.map((d) => row(d, now))),
        ),
      ),
    );
  };
  await load();
  ctx.every(2000, load);
}
