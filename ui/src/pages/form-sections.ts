// The deployment form's sections (built from the spec's field paths; no behaviour here):
// the simple fields, and the advanced options (resource allocation for predictor and
// transformer, base environment, scaling, batching).
import { field, h } from "../dom";
import type { Kind } from "../spec-form";
import type { BaseEnvironment, ModelSummaryOut } from "../types";

const TOOLS = ["LOCAL", "DOCKER", "KUBERNETES", "KSERVE"];
const DEFAULTS = { requests: { cores: "0.2", memory: "32", gpus: "0" }, limits: { cores: "2", memory: "1024", gpus: "0" } };

export function input(name: string, kind: Kind, attrs: Record<string, string | number | boolean> = {}): HTMLInputElement {
  const type = kind === "str" ? "text" : "number";
  const step = kind === "float" ? "any" : "1";
  return h("input", { name, "data-kind": kind, type, ...(kind !== "str" ? { step, inputmode: kind === "int" ? "numeric" : "decimal" } : {}), ...attrs });
}

export function select(name: string, options: [string, string][], kind: Kind = "str"): HTMLSelectElement {
  return h("select", { name, "data-kind": kind }, options.map(([value, label]) => h("option", { value }, label)));
}

export function setOptions(sel: HTMLSelectElement, options: [string, string][], keep = true): void {
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

export function toggled(label: string, id: string, body: HTMLFieldSetElement): [HTMLInputElement, HTMLElement] {
  const box = h("input", { type: "checkbox", id });
  const sync = () => {
    body.disabled = !box.checked;
    body.hidden = !box.checked;
  };
  box.addEventListener("change", sync);
  sync();
  return [box, h("div", { class: "toggle" }, h("label", { for: id, class: "check" }, box, ` ${label}`), body)];
}


export interface SimpleSection {
  element: HTMLFieldSetElement;
  name: HTMLInputElement;
  model: HTMLSelectElement;
  version: HTMLSelectElement;
  script: HTMLSelectElement;
}

export function simpleSection(models: ModelSummaryOut[], editing: boolean): SimpleSection {
  const name = input("name", "str", { required: true, autocomplete: "off", maxlength: 63, pattern: "[a-z0-9]([a-z0-9-]*[a-z0-9])?" });
  name.readOnly = editing;
  const model = select("predictor.model_name", [["", models.length ? "Choose a model" : "No models: upload one first"], ...models.map((m) => [m.name, m.name] as [string, string])]);
  const version = select("predictor.model_version", [], "int");
  const script = select("predictor.script_file", [["", "Built-in framework (detect from the files)"]]);
  const tool = select("serving_tool", TOOLS.map((t) => [t, t] as [string, string]));
  const instances = input("predictor.resources.num_instances", "int", { value: 1, min: 0 });
  const element = h(
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

  return { element, name, model, version, script };
}

export interface AdvancedSection {
  element: HTMLFieldSetElement;
  transformerScript: HTMLSelectElement;
  environment: HTMLSelectElement;
  environmentInfo: HTMLElement;
  toggles: { transformer: HTMLInputElement; scaling: HTMLInputElement; batching: HTMLInputElement };
}

export function advancedSection(environments: BaseEnvironment[]): AdvancedSection {
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

  const element = h(
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
  return {
    element,
    transformerScript: tScript,
    environment: envSelect,
    environmentInfo: envInfo,
    toggles: { transformer: tBox, scaling: sBox, batching: bBox },
  };
}
