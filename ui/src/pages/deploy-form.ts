// The deployment form: simple fields, "Advanced options" (resource allocation for predictor
// and transformer, base environment, scaling, batching), and the server's dry run shown live
// under the fields it names. Creates (POST) or, for an existing deployment, updates (PUT).
import { ApiError, enc } from "../api";
import type { Ctx } from "../context";
import { clear, errorText, field, h } from "../dom";
import { href } from "../routes";
import { buildSpec, flatten, placeProblems, type Entry, type Kind } from "../spec-form";
import type { BaseEnvironment, DeploymentOut, FieldProblem, ModelSummaryOut, ModelVersionOut } from "../types";

const TOOLS = ["LOCAL", "DOCKER", "KUBERNETES", "KSERVE"];
const DEFAULTS = { requests: { cores: "0.2", memory: "32", gpus: "0" }, limits: { cores: "2", memory: "1024", gpus: "0" } };

function input(name: string, kind: Kind, attrs: Record<string, string | number | boolean> = {}): HTMLInputElement {
  const type = kind === "str" ? "text" : "number";
  const step = kind === "float" ? "any" : "1";
  return h("input", { name, "data-kind": kind, type, ...(kind !== "str" ? { step, inputmode: kind === "int" ? "numeric" : "decimal" } : {}), ...attrs });
}

function select(name: string, options: [string, string][], kind: Kind = "str"): HTMLSelectElement {
  return h("select", { name, "data-kind": kind }, options.map(([value, label]) => h("option", { value }, label)));
}

function setOptions(sel: HTMLSelectElement, options: [string, string][], keep = true): void {
  const previous = sel.value;
  sel.replaceChildren(...options.map(([value, label]) => h("option", { value }, label)));
  if (keep && options.some(([v]) => v === previous)) sel.value = previous;
}

function resourceBlock(component: "predictor" | "transformer"): HTMLElement {
  const base = `${component}.resources`;
  const cell = (kind: "requests" | "limits", what: "cores" | "memory" | "gpus", label: string, k: Kind) =>
    field(label, input(`${base}.${kind}.${what}`, k, { value: DEFAULTS[kind][what], min: 0 }));
  return h(
    "div",
    { class: "resources" },
    h("fieldset", {}, h("legend", {}, "Requests (minimum, per instance)"),
      cell("requests", "cores", "CPU cores", "float"), cell("requests", "memory", "Memory (MiB)", "int"), cell("requests", "gpus", "GPUs", "int")),
    h("fieldset", {}, h("legend", {}, "Limits (maximum, per instance)"),
      cell("limits", "cores", "CPU cores", "float"), cell("limits", "memory", "Memory (MiB)", "int"), cell("limits", "gpus", "GPUs", "int")),
  );
}

function toggled(label: string, id: string, body: HTMLFieldSetElement): [HTMLInputElement, HTMLElement] {
  const box = h("input", { type: "checkbox", id });
  const sync = () => {
    body.disabled = !box.checked;
    body.hidden = !box.checked;
  };
  box.addEventListener("change", sync);
  sync();
  return [box, h("div", { class: "toggle" }, h("label", { for: id, class: "check" }, box, ` ${label}`), body)];
}

export async function deploymentForm(ctx: Ctx, main: HTMLElement, editing: string | null): Promise<void> {
  const title = editing ? `Edit deployment ${editing}` : "Create new deployment";
  const form = h("form", { class: "deploy-form card", novalidate: true, "aria-label": title });
  clear(main, h("header", { class: "page-head" }, h("h1", {}, title)), form);

  const [models, environments] = await Promise.all([
    ctx.api.get<ModelSummaryOut[]>("/models"),
    ctx.api.get<BaseEnvironment[]>("/environments").catch(() => [] as BaseEnvironment[]),
  ]);
  const existing = editing ? await ctx.api.get<DeploymentOut>(`/deployments/${enc(editing)}`) : null;

  // -- simple form --------------------------------------------------------------------------
  const name = input("name", "str", { required: true, autocomplete: "off", maxlength: 63, pattern: "[a-z0-9]([a-z0-9-]*[a-z0-9])?" });
  if (editing) name.readOnly = true;
  const model = select("predictor.model_name", [["", models.length ? "Choose a model" : "No models: upload one first"], ...models.map((m) => [m.name, m.name] as [string, string])]);
  const version = select("predictor.model_version", [], "int");
  const script = select("predictor.script_file", [["", "Built-in framework (detect from the files)"]]);
  const tool = select("serving_tool", TOOLS.map((t) => [t, t] as [string, string]));
  const instances = input("predictor.resources.num_instances", "int", { value: 1, min: 0 });
  const simple = h(
    "fieldset",
    { class: "simple" },
    h("legend", {}, "Deployment"),
    field("Name", name, "Lowercase letters, digits and '-', up to 63 characters."),
    field("Model", model),
    field("Version", version),
    field("Predictor script", script, "A .py file of the version with a Predictor class, or the built-in loader for its framework."),
    field("Serving tool", tool, "LOCAL runs on this server; the others are checked now and applied by their backend."),
    field("Instances", instances, "0 = scale to zero when idle (LOCAL and KSERVE)."),
  );

  // -- advanced options ---------------------------------------------------------------------
  const tScript = select("transformer.script_file", []);
  const tBody = h("fieldset", { class: "transformer" }, h("legend", {}, "Transformer"),
    field("Transformer script", tScript, "A .py file with a Transformer class (preprocess, postprocess)."),
    field("Transformer instances", input("transformer.resources.num_instances", "int", { value: 1, min: 0 })),
    resourceBlock("transformer"));
  const [tBox, tToggle] = toggled("Add a transformer", "with-transformer", tBody);

  const envSelect = select("predictor.environment", [["", "Default (the server's interpreter, or shipyard/python with a requirements.txt)"],
    ...environments.map((e) => [`${e.name}:${e.version}`, `${e.name}:${e.version}${e.description ? ` — ${e.description}` : ""}`] as [string, string])]);
  const envInfo = h("div", { class: "env-info", "aria-live": "polite" });

  const sBody = h("fieldset", { class: "scaling" }, h("legend", {}, "Scaling (predictor)"),
    field("Minimum instances", input("predictor.scaling.min_instances", "int", { value: 1, min: 0 }), "0 = scale to zero when idle."),
    field("Maximum instances", input("predictor.scaling.max_instances", "int", { value: 3, min: 1 })),
    field("Metric", select("predictor.scaling.scale_metric", [["CONCURRENCY", "Concurrent requests per instance"], ["RPS", "Requests per second per instance"]])),
    field("Target per instance", input("predictor.scaling.target", "float", { value: 10, min: 0 })));
  const [sBox, sToggle] = toggled("Autoscale the predictor", "with-scaling", sBody);

  const bBody = h("fieldset", { class: "batching" }, h("legend", {}, "Batching (predictor)"),
    h("input", { type: "hidden", name: "predictor.batching.enabled", "data-kind": "bool", value: "true" }),
    field("Max batch size", input("predictor.batching.max_batch_size", "int", { min: 2, placeholder: "32" })),
    field("Max latency (ms)", input("predictor.batching.max_latency", "float", { min: 0, placeholder: "5" })),
    field("Timeout (s)", input("predictor.batching.timeout", "float", { min: 0, placeholder: "60" })));
  const [bBox, bToggle] = toggled("Batch concurrent requests", "with-batching", bBody);

  const advanced = h(
    "fieldset",
    { class: "advanced", id: "advanced-options" },
    h("legend", {}, "Advanced options"),
    h("section", { "aria-labelledby": "res-title" },
      h("h2", { id: "res-title" }, "Resource allocation"),
      h("p", { class: "note" }, "Per instance: cores may be fractional (0.5 = 500 millicpus), memory in MiB. Scale-to-zero: set the instances to 0 (LOCAL and KSERVE); the first request wakes it."),
      h("fieldset", { class: "predictor" }, h("legend", {}, "Predictor"), resourceBlock("predictor")),
      tToggle),
    h("section", { "aria-labelledby": "env-title" }, h("h2", { id: "env-title" }, "Base environment"), field("Base environment", envSelect), envInfo),
    h("section", {}, h("h2", {}, "Scaling"), sToggle),
    h("section", {}, h("h2", {}, "Batching"), bToggle),
  );
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
  clear(form, simple, advancedButton, advanced, resolution, general, h("div", { class: "actions" }, submit,
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
