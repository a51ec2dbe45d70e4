// The deployment form: simple fields, "Advanced options" (form-sections.ts), and the server's
// dry run shown live under the fields it names. Creates (POST) or, for an existing
// deployment, updates (PUT) as a new revision (a rolling update).
import { ApiError, enc } from "../api";
import type { Ctx } from "../context";
import { clear, errorText, h } from "../dom";
import { href } from "../routes";
import { buildSpec, flatten, placeProblems, type Entry, type Kind } from "../spec-form";
import type { BaseEnvironment, DeploymentOut, FieldProblem, ModelSummaryOut, ModelVersionOut } from "../types";
import { advancedSection, setOptions, simpleSection } from "./form-sections";

export async function deploymentForm(ctx: Ctx, main: HTMLElement, editing: string | null): Promise<void> {
  const title = editing ? `Edit deployment ${editing}` : "Create new deployment";
  const form = h("form", { class: "deploy-form card", novalidate: true, "aria-label": title });
  clear(main, h("header", { class: "page-head" }, h("h1", {}, title)), form);

  const [models, environments] = await Promise.all([
    ctx.api.get<ModelSummaryOut[]>("/models"),
    ctx.api.get<BaseEnvironment[]>("/environments").catch(() => [] as BaseEnvironment[]),
  ]);
  const existing = editing ? await ctx.api.get<DeploymentOut>(`/deployments/${enc(editing)}`) : null;

  const simple = simpleSection(models, Boolean(editing));
  const { model, version, script } = simple;
  const adv = advancedSection(environments);
  const advanced = adv.element;
  const { transformerScript: tScript, environment: envSelect, environmentInfo: envInfo } = adv;
  const { transformer: tBox, scaling: sBox, batching: bBox } = adv.toggles;

  const advancedButton = h("button", { type: "button", class: "link", "aria-expanded": "false", "aria-controls": "advanced-options" }, "Advanced options");
  const setAdvanced = (open: boolean) => {
    advanced.hidden = !open;
    advanced.disabled = !open;
    advancedButton.setAttribute("aria-expanded", String(open));
  };
  advancedButton.addEventListener("click", () => {
    setAdvanced(advanced.hidden);
    schedule();
  });

  const resolution = h("div", { class: "resolution", "aria-live": "polite", id: "resolution" });
  const general = h("div", { class: "problems general", role: "alert" });
  const submit = h("button", { type: "submit", class: "primary" }, editing ? "Save (rolling update)" : "Create new deployment");
  clear(form, simple.element, advancedButton, advanced, resolution, general, h("div", { class: "actions" }, submit,
    h("a", { class: "button", href: editing ? href({ page: "deployment", name: editing }) : href({ page: "deployments" }) }, "Cancel")));
  setAdvanced(false);

  // -- data for the selects -----------------------------------------------------------------
  let versions: ModelVersionOut[] = [];
  const fillFiles = () => {
    const chosen = versions.find((v) => String(v.version) === version.value);
    const py = (chosen?.files ?? []).filter((f) => f.endsWith(".py"));
    setOptions(script, [["", "Built-in framework (detect from the files)"], ...py.map((f) => [f, f] as [string, string])]);
    setOptions(tScript, py.map((f) => [f, f] as [string, string]));
    const requirements = chosen?.files.includes("requirements.txt");
    updateEnv(requirements ?? false);
  };
  const updateEnv = (requirements: boolean) => {
    const env = environments.find((e) => `${e.name}:${e.version}` === envSelect.value);
    clear(envInfo,
      env ? h("details", {}, h("summary", {}, `${env.packages?.length ?? 0} packages pinned by ${env.name}:${env.version}`), h("ul", { class: "packages" }, (env.packages ?? []).map((p) => h("li", {}, p)))) : "",
      h("p", { class: "hint" }, requirements ? "This model version has a requirements.txt: its pins are installed over the base's." : "This model version has no requirements.txt."));
  };
  const loadVersions = async () => {
    versions = model.value ? await ctx.api.get<ModelVersionOut[]>(`/models/${enc(model.value)}/versions`) : [];
    const sorted = [...versions].sort((a, b) => b.version - a.version);
    setOptions(version, sorted.map((v) => [String(v.version), `v${v.version} (${v.framework})`] as [string, string]), false);
    fillFiles();
  };
  model.addEventListener("change", () => void loadVersions().then(schedule));
  version.addEventListener("change", fillFiles);
  envSelect.addEventListener("change", () => updateEnv(versions.find((v) => String(v.version) === version.value)?.files.includes("requirements.txt") ?? false));

  if (existing) {
    await fillFrom(existing);
  } else if (models.length === 1) {
    model.value = models[0].name;
    await loadVersions();
  }

  async function fillFrom(d: DeploymentOut) {
    const values = flatten(d.spec);
    model.value = d.spec.predictor.model_name;
    await loadVersions();
    tBox.checked = Boolean(d.spec.transformer);
    sBox.checked = Boolean(d.spec.predictor.scaling);
    bBox.checked = Boolean(d.spec.predictor.batching?.enabled);
    for (const box of [tBox, sBox, bBox]) box.dispatchEvent(new Event("change"));
    for (const el of form.querySelectorAll<HTMLInputElement | HTMLSelectElement>("[name]")) {
      const value = values.get(el.name);
      if (value !== undefined && el.type !== "hidden") el.value = value;
    }
    setAdvanced(true);
  }

  // -- dry run and submit -------------------------------------------------------------------
  const entries = (): Entry[] =>
    [...form.querySelectorAll<HTMLInputElement | HTMLSelectElement>("[name]")]
      .filter((el) => !el.matches(":disabled"))
      .map((el) => ({ path: el.name, value: el.value, kind: (el.dataset.kind ?? "str") as Kind }));
  const fields = () => [...form.querySelectorAll<HTMLElement>(".field[data-field]")].map((el) => el.dataset.field ?? "").filter(Boolean);

  const show = (errors: FieldProblem[], warnings: FieldProblem[]) => {
    for (const box of form.querySelectorAll(".field .problems")) box.replaceChildren();
    for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
    const e = placeProblems(errors, fields());
    const w = placeProblems(warnings, fields());
    const box = (f: string) => form.querySelector<HTMLElement>(`.field[data-field="${CSS.escape(f)}"] .problems`);
    for (const [f, messages] of w.byField) box(f)?.append(...messages.map((m) => h("p", { class: "warning" }, `Warning: ${m}`)));
    for (const [f, messages] of e.byField) {
      box(f)?.append(...messages.map((m) => h("p", { class: "error" }, m)));
      form.querySelector(`[name="${CSS.escape(f)}"]`)?.setAttribute("aria-invalid", "true");
    }
    clear(general, ...e.general.map((m) => h("p", { class: "error" }, m)), ...w.general.map((m) => h("p", { class: "warning" }, `Warning: ${m}`)));
  };

  const body = (dryRun: boolean) => {
    const spec = buildSpec(entries());
    return editing ? { spec, dry_run: dryRun } : { spec, dry_run: dryRun, start: true };
  };
  const call = (dryRun: boolean) =>
    editing ? ctx.api.put<DeploymentOut>(`/deployments/${enc(editing)}`, body(dryRun)) : ctx.api.post<DeploymentOut>("/deployments", body(dryRun));

  let seq = 0;
  let timer = 0;
  async function dryRun() {
    const mine = ++seq;
    if (!model.value || !version.value) return;
    resolution.dataset.state = "checking";
    try {
      const answer = await call(true);
      if (mine !== seq) return;
      show([], answer.resolution.warnings);
      clear(resolution, h("h2", {}, `What ${answer.resolution.serving_tool} applies`),
        h("ul", {}, answer.resolution.components.map((c) => h("li", {}, `${c.component}: ${c.instances} instance${c.instances === 1 ? "" : "s"}, ${c.applied}`))));
    } catch (err) {
      if (mine !== seq) return;
      if (err instanceof ApiError && err.problems.length) show(err.problems, []);
      else show([{ field: "", message: errorText(err) }], []);
      clear(resolution);
    } finally {
      if (mine === seq) resolution.dataset.state = "checked";
    }
  }
  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => void dryRun(), 300);
  }
  ctx.onLeave(() => window.clearTimeout(timer));
  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
  schedule();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    window.clearTimeout(timer);
    seq += 1;
    submit.disabled = true;
    try {
      const created = await call(false);
      ctx.go({ page: "deployment", name: created.name });
    } catch (err) {
      if (err instanceof ApiError && err.problems.length) show(err.problems, []);
      else show([{ field: "", message: errorText(err) }], []);
      general.focus?.();
    } finally {
      submit.disabled = false;
    }
  });
}
