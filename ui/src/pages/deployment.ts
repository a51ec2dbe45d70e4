// A deployment's page: state, conditions, instances, live usage charts, logs (tail and
// follow), revisions with rollback, actions (start, stop, scale, edit, delete) and a test
// prediction with the matching curl and SDK snippets.
import { ApiError, enc } from "../api";
import { UsageChart } from "../charts";
import type { Ctx } from "../context";
import { clear, errorText, field, h } from "../dom";
import { ago, cores, mib, readyDesired } from "../format";
import { href } from "../routes";
import type { DeploymentOut, ReplicaStatus, RevisionOut, UsageOut } from "../types";
import { withInstances, withScalingRange } from "../spec-form";
import { stateBadge } from "./deployments";
import { logsPanel } from "./logs";
import { predictionPanel } from "./predict";

function conditionsTable(d: DeploymentOut): HTMLElement {
  const rows = (d.status.conditions ?? []).map((c) =>
    h("tr", { "data-condition": c.type }, h("td", {}, c.type), h("td", {}, c.status), h("td", {}, c.reason ?? ""), h("td", {}, c.message ?? "")));
  return h("table", { class: "list", "aria-label": "Conditions" },
    h("thead", {}, h("tr", {}, ["Condition", "Status", "Reason", "Message"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows.length ? rows : [h("tr", {}, h("td", { colspan: 4 }, "No conditions reported yet."))]));
}

function environmentsList(d: DeploymentOut): HTMLElement | string {
  const entries = Object.entries(d.status.environments ?? {});
  if (!entries.length) return "";
  return h("ul", { class: "environments", "aria-label": "Environments" }, entries.map(([component, e]) =>
    h("li", { "data-environment-phase": e.phase ?? "" }, `${component}: ${e.base ?? "server interpreter"} ${e.phase ?? ""}`,
      e.reused ? " (reused)" : e.build_seconds ? ` (built in ${e.build_seconds.toFixed(1)} s)` : "",
      e.requirements?.length ? ` · requirements: ${e.requirements.join(", ")}` : "",
      e.build ? [" · ", h("a", { href: href({ page: "environments", build: e.build }), "data-build-link": e.build },
        e.phase === "FAILED" ? "Build log (why it failed)" : "Build log")] : "",
      e.message ? h("pre", { class: e.phase === "FAILED" ? "env-error" : "" }, e.message) : "")));
}

function exitText(r: ReplicaStatus): string {
  const e = r.last_exit;
  if (!e) return "";
  return [e.reason, e.code !== null && e.code !== undefined ? `code ${e.code}` : "", e.message].filter(Boolean).join(": ");
}

function replicasTable(d: DeploymentOut): HTMLElement {
  const rows = (d.status.replicas ?? []).map((r) =>
    h("tr", { "data-replica": r.id },
      h("td", {}, r.id), h("td", {}, r.component), h("td", {}, r.phase), h("td", {}, String(r.restarts ?? 0)),
      h("td", {}, cores(r.usage?.cpu_cores)), h("td", {}, mib(r.usage?.memory_mb)), h("td", {}, mib(r.usage?.memory_peak_mb)),
      h("td", {}, exitText(r))));
  return h("table", { class: "list", "aria-label": "Instances" },
    h("thead", {}, h("tr", {}, ["Instance", "Component", "Phase", "Restarts", "CPU", "Memory", "Peak", "Last exit"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows.length ? rows : [h("tr", {}, h("td", { colspan: 8 }, "No instances running."))]));
}

function progress(d: DeploymentOut): string {
  const observed = d.status.observed_revision ?? 0;
  if (d.status.state !== "UPDATING" && observed >= d.revision) return "";
  const current = (d.status.replicas ?? []).filter((r) => r.revision === d.revision && r.phase === "READY").length;
  const total = readyDesired(d).reduce((n, c) => n + Number(c.desired.split("-")[0]), 0);
  return `Rolling update to revision ${d.revision}: ${current} of ${total} instance(s) ready on the new revision.`;
}

export async function deploymentPage(ctx: Ctx, main: HTMLElement, name: string): Promise<void> {
  const path = `/deployments/${enc(name)}`;
  const notice = h("div", { class: "notice", role: "status", "aria-live": "polite" });
  const badge = h("span", {});
  const summary = h("div", { class: "summary" });
  const conditions = h("div", {});
  const replicas = h("div", { class: "table-wrap" });
  const charts = h("div", { class: "charts", "aria-live": "off" });
  const revisions = h("div", { class: "table-wrap" });
  const scaleBox = h("div", { class: "scale" });
  let current: DeploymentOut | null = null;

  const act = async (what: string, fn: () => Promise<unknown>) => {
    notice.textContent = `${what}…`;
    notice.className = "notice";
    try {
      await fn();
      notice.textContent = `${what}: requested.`;
      await refresh();
      await loadRevisions();
    } catch (err) {
      notice.className = "notice error";
      notice.textContent = `${what} failed: ${errorText(err)}`;
    }
  };

  const dialog = h("dialog", { "aria-labelledby": "del-title" },
    h("form", { method: "dialog" },
      h("h2", { id: "del-title" }, `Delete deployment ${name}?`),
      h("p", {}, "Its instances are stopped and its revisions removed. The model stays in the registry."),
      h("div", { class: "actions" },
        h("button", { value: "cancel", type: "submit" }, "Cancel"),
        h("button", { value: "delete", type: "submit", class: "danger" }, "Delete"))));
  dialog.addEventListener("close", () => {
    if (dialog.returnValue === "delete") void act("Delete", () => ctx.api.delete(path)).then(() => ctx.go({ page: "deployments" }));
  });

  const actions = h("div", { class: "actions" },
    h("button", { type: "button", onclick: () => void act("Start", () => ctx.api.post(`${path}/start`)) }, "Start"),
    h("button", { type: "button", onclick: () => void act("Stop", () => ctx.api.post(`${path}/stop`)) }, "Stop"),
    h("a", { class: "button", href: href({ page: "edit-deployment", name }) }, "Edit resources"),
    h("button", { type: "button", class: "danger", onclick: () => dialog.showModal() }, "Delete"));

  clear(main,
    h("header", { class: "page-head" }, h("h1", {}, h("a", { href: href({ page: "deployments" }) }, "Deployments"), " / ", name, " ", badge), actions),
    notice, dialog,
    h("section", { class: "card", "aria-labelledby": "st" }, h("h2", { id: "st" }, "Status"), summary, scaleBox, conditions),
    h("section", { class: "card", "aria-labelledby": "inst" }, h("h2", { id: "inst" }, "Instances"), replicas),
    h("section", { class: "card", "aria-labelledby": "use" }, h("h2", { id: "use" }, "Usage (last hour, live)"), charts),
    h("section", { class: "card", "aria-labelledby": "logs" }, h("h2", { id: "logs" }, "Logs"), logsPanel(ctx, name)),
    h("section", { class: "card", "aria-labelledby": "revs" }, h("h2", { id: "revs" }, "Revisions"), revisions),
    h("section", { class: "card", "aria-labelledby": "pred" }, h("h2", { id: "pred" }, "Test prediction"), predictionPanel(ctx, name)));

  function renderScale(d: DeploymentOut) {
    if (scaleBox.dataset.revision === String(d.revision)) return; // keep what the user is typing
    scaleBox.dataset.revision = String(d.revision);
    const parts: ("predictor" | "transformer")[] = d.spec.transformer ? ["predictor", "transformer"] : ["predictor"];
    clear(scaleBox, ...parts.map((component) => scaleControl(d, component)));
  }

  function wholeNumbers(...values: number[]): boolean {
    if (values.every((v) => Number.isInteger(v) && v >= 0)) return true;
    notice.className = "notice error";
    notice.textContent = "Instances must be whole numbers, 0 or more.";
    return false;
  }

  function scaleControl(d: DeploymentOut, component: "predictor" | "transformer"): HTMLElement {
    const part = component === "predictor" ? d.spec.predictor : d.spec.transformer;
    const title = `${component[0].toUpperCase()}${component.slice(1)}`;
    const number = (name: string, value: number) => h("input", { type: "number", min: 0, step: 1, value, name, inputmode: "numeric" });
    const scaling = part?.scaling;
    if (scaling) {
      const lo = number(`scale-${component}-min`, scaling.min_instances ?? 1);
      const hi = number(`scale-${component}-max`, scaling.max_instances ?? 1);
      const apply = h("button", { type: "button", onclick: () => {
        const [min, max] = [Number(lo.value), Number(hi.value)];
        if (wholeNumbers(min, max)) void act(`Autoscale ${component} between ${min} and ${max}`, () => ctx.api.put(path, { spec: withScalingRange(d.spec, component, min, max) }));
      } }, `Scale ${component}`);
      return h("div", { class: "inline" }, field(`${title} minimum instances`, lo), field(`${title} maximum instances`, hi), apply);
    }
    const box = number(`scale-${component}`, part?.resources?.num_instances ?? 1);
    const apply = h("button", { type: "button", onclick: () => {
      const wanted = Number(box.value);
      if (wholeNumbers(wanted)) void act(`Scale ${component} to ${wanted}`, () => ctx.api.put(path, { spec: withInstances(d.spec, component, wanted) }));
    } }, `Scale ${component}`);
    return h("div", { class: "inline" }, field(`${title} instances`, box), apply);
  }

  async function refresh() {
    let d: DeploymentOut;
    try {
      d = await ctx.api.get<DeploymentOut>(path);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        clear(summary, h("p", { class: "error" }, `Deployment ${name} does not exist (any more).`));
        return;
      }
      throw err;
    }
    current = d;
    clear(badge, stateBadge(d.status.state ?? "CREATED"));
    const counts = readyDesired(d).map((c) => `${c.component} ${c.ready}/${c.desired}`).join(", ");
    const update = progress(d);
    clear(summary,
      h("dl", { class: "facts" },
        h("dt", {}, "Message"), h("dd", {}, d.status.message || "-"),
        h("dt", {}, "Ready / desired"), h("dd", { "data-counts": "" }, counts),
        h("dt", {}, "Model"), h("dd", {}, `${d.spec.predictor.model_name} v${d.spec.predictor.model_version}`),
        h("dt", {}, "Serving tool"), h("dd", {}, d.spec.serving_tool ?? "LOCAL"),
        h("dt", {}, "Revision"), h("dd", {}, `${d.revision} (applied: ${d.status.observed_revision ?? 0}), changed ${ago(d.updated_at, Date.now())}`),
        h("dt", {}, "V1 endpoint"), h("dd", {}, h("code", {}, d.endpoints.v1 ?? "")),
        ...Object.entries(d.status.addresses ?? {}).flatMap(([which, url]) => [h("dt", {}, `Direct ${which}`), h("dd", {}, h("code", {}, url))])),
      update ? h("p", { class: "progress", role: "status" }, update) : "",
      environmentsList(d),
      ...(d.status.notes ?? []).map((n) => h("p", { class: "note" }, n)));
    clear(conditions, conditionsTable(d));
    clear(replicas, replicasTable(d));
    renderScale(d);
  }

  const chartsById = new Map<string, UsageChart>();
  ctx.onLeave(() => chartsById.forEach((c) => c.destroy()));
  async function loadUsage() {
    const usage = await ctx.api.get<UsageOut>(`${path}/usage?window_s=3600`);
    const live = new Set<string>();
    for (const r of usage.replicas.filter((x) => x.live)) {
      for (const metric of ["cpu", "memory"] as const) {
        const id = `${r.replica}/${metric}`;
        live.add(id);
        const chart = chartsById.get(id);
        if (chart) {
          chart.update(r, usage.events);
        } else {
          const made = new UsageChart(r.replica, metric, r, usage.events);
          chartsById.set(id, made);
          let group = charts.querySelector<HTMLElement>(`[data-instance="${CSS.escape(r.replica)}"]`);
          if (!group) {
            group = h("div", { class: "instance-charts", "data-instance": r.replica }, h("h3", {}, `${r.component} · ${r.replica}`));
            charts.append(group);
          }
          group.append(made.element);
          made.mount();
        }
      }
    }
    for (const [id, chart] of chartsById) {
      if (!live.has(id)) {
        chart.destroy();
        chart.element.remove();
        chartsById.delete(id);
      }
    }
    for (const group of charts.querySelectorAll<HTMLElement>(".instance-charts")) {
      if (!group.querySelector(".chart")) group.remove();
    }
    const earlier = usage.replicas.filter((x) => !x.live).map((x) => x.replica);
    const events = usage.events.slice(-8).reverse();
    charts.querySelector(".events")?.remove();
    charts.dataset.interval = String(usage.interval_s);
    if (!live.size) charts.dataset.empty = "true";
    else delete charts.dataset.empty;
    charts.append(h("div", { class: "events" },
      live.size ? "" : h("p", {}, "No running instance: samples appear every few seconds while instances run."),
      earlier.length ? h("p", { class: "hint" }, `Earlier instances in the last hour (exited or replaced): ${earlier.join(", ")}`) : "",
      events.length ? h("ul", { "aria-label": "Usage events" }, events.map((e) => h("li", { class: `event ${e.kind}` }, `${new Date(e.at * 1000).toLocaleTimeString()} ${e.kind.toUpperCase()} ${e.replica} ${e.message}`))) : ""));
  }

  async function loadRevisions() {
    const list = await ctx.api.get<RevisionOut[]>(`${path}/revisions`);
    const latest = current?.revision ?? list[list.length - 1]?.revision;
    clear(revisions, h("table", { class: "list", "aria-label": "Revisions" },
      h("thead", {}, h("tr", {}, ["Revision", "By", "When", "What changed", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, [...list].reverse().map((r) => h("tr", { "data-revision": r.revision },
        h("td", {}, String(r.revision)), h("td", {}, r.author), h("td", { title: r.created_at }, ago(r.created_at, Date.now())),
        h("td", {}, r.change, r.changes.length ? h("ul", {}, r.changes.map((c) => h("li", {}, c))) : ""),
        h("td", {}, r.revision === latest ? "current" : h("button", { type: "button", onclick: () => void act(`Roll back to revision ${r.revision}`, () => ctx.api.post(`${path}/rollback`, { revision: r.revision })) }, "Roll back")))))));
  }

  await refresh().catch((err) => clear(summary, h("p", { class: "error" }, errorText(err))));
  await Promise.all([loadUsage().catch(() => undefined), loadRevisions().catch(() => undefined)]);
  ctx.every(2000, refresh);
  ctx.every(2000, loadUsage);
}
