// The deployment form's logic, free of the DOM: inputs are named by their path in the
// DeploymentSpec ("predictor.resources.limits.memory"), so a server error naming a field finds
// its input, and the spec is built from (path, value, kind) entries.
import type { FieldProblem } from "./types";

export type Kind = "str" | "int" | "float" | "bool";
export interface Entry {
  path: string;
  value: string;
  kind: Kind;
}

/** A number where the text is one; the text as typed otherwise (so the server names the field). */
export function convert(value: string, kind: Kind): unknown {
  const text = value.trim();
  if (kind === "str") return text;
  if (kind === "bool") return text === "true";
  const n = Number(text);
  if (text === "" || !Number.isFinite(n)) return text;
  if (kind === "int" && !Number.isInteger(n)) return text;
  return n;
}

/** The nested spec of the entries; empty values are left out (the server's defaults apply). */
export function buildSpec(entries: Entry[]): Record<string, unknown> {
  const spec: Record<string, unknown> = {};
  for (const { path, value, kind } of entries) {
    if (value.trim() === "") continue;
    const keys = path.split(".");
    let node = spec;
    for (const key of keys.slice(0, -1)) {
      node[key] ??= {};
      node = node[key] as Record<string, unknown>;
    }
    node[keys[keys.length - 1]] = convert(value, kind);
  }
  return spec;
}

/** The leaves of a spec as path -> text (to fill the form from an existing deployment). */
export function flatten(value: unknown, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [key, child] of Object.entries(value)) {
      for (const [p, v] of flatten(child, prefix ? `${prefix}.${key}` : key)) out.set(p, v);
    }
  } else if (value !== null && value !== undefined && prefix) {
    out.set(prefix, String(value));
  }
  return out;
}

export interface Placement {
  byField: Map<string, string[]>;
  general: string[];
}

/** Which input shows each problem: the field itself, else its first input below it (e.g.
 * "predictor.resources.requests" -> its cores), else the nearest input above it, else the
 * form's general area. */
export function placeProblems(problems: FieldProblem[], fields: string[]): Placement {
  const byField = new Map<string, string[]>();
  const general: string[] = [];
  const add = (field: string, message: string) => {
    byField.set(field, [...(byField.get(field) ?? []), message]);
  };
  for (const problem of problems) {
    const field = problem.field;
    const below = fields.find((f) => f.startsWith(`${field}.`));
    if (fields.includes(field)) {
      add(field, problem.message);
    } else if (below) {
      add(below, problem.message);
    } else {
      const parts = field.split(".");
      let placed = false;
      while (parts.length > 1 && !placed) {
        parts.pop();
        const parent = parts.join(".");
        if (fields.includes(parent)) {
          add(parent, problem.message);
          placed = true;
        }
      }
      if (!placed) general.push(field ? `${field}: ${problem.message}` : problem.message);
    }
  }
  return { byField, general };
}

/** Resolution warnings (`{field, message}`) placed like errors. */
export function placeWarnings(warnings: FieldProblem[], fields: string[]): Placement {
  return placeProblems(warnings, fields);
}

/** A copy of `spec` with one component's instances changed (what Scale sends as a PUT). */
export function withInstances<T extends { predictor: { resources?: object }; transformer?: { resources?: object } | null }>(
  spec: T,
  component: "predictor" | "transformer",
  instances: number,
): T {
  const copy = structuredClone(spec);
  const part = component === "predictor" ? copy.predictor : copy.transformer;
  if (part) part.resources = { ...(part.resources ?? {}), num_instances: instances };
  return copy;
}

/** A copy of `spec` with an autoscaled component's instance range changed. */
export function withScalingRange<T extends { predictor: { scaling?: object | null }; transformer?: { scaling?: object | null } | null }>(
  spec: T,
  component: "predictor" | "transformer",
  min: number,
  max: number,
): T {
  const copy = structuredClone(spec);
  const part = component === "predictor" ? copy.predictor : copy.transformer;
  if (part?.scaling) part.scaling = { ...part.scaling, min_instances: min, max_instances: max };
  return copy;
}
