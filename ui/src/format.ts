// Pure formatting of API values for people (units always stated).
import type { DeploymentOut } from "./types";

export interface ComponentCount {
  component: string;
  ready: number;
  desired: string;
}

/** Instances ready / desired per component ("1/2"; autoscaled: "1/1-3"). */
export function readyDesired(d: DeploymentOut): ComponentCount[] {
  const rows: ComponentCount[] = [];
  const parts: [string, typeof d.spec.predictor | NonNullable<typeof d.spec.transformer>][] = [
    ["predictor", d.spec.predictor],
  ];
  if (d.spec.transformer) parts.push(["transformer", d.spec.transformer]);
  for (const [component, part] of parts) {
    const n = part.resources?.num_instances ?? 1;
    const scaling = part.scaling;
    const desired = !d.active
      ? "0"
      : scaling
        ? `${scaling.min_instances ?? 1}-${scaling.max_instances ?? 1}`
        : n === 0
          ? "0-1"
          : String(n);
    rows.push({ component, ready: d.status.available_instances?.[component] ?? 0, desired });
  }
  return rows;
}

/** "12 s ago", "5 min ago", "3 h ago", "2 d ago" from an ISO time and now (ms). */
export function ago(iso: string | null | undefined, now: number): string {
  if (!iso) return "never";
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function mib(value: number | null | undefined): string {
  return value === null || value === undefined ? "-" : `${value.toFixed(value < 10 ? 1 : 0)} MiB`;
}

export function cores(value: number | null | undefined): string {
  return value === null || value === undefined ? "-" : `${value.toFixed(2)} cores`;
}

export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** CSS class of a state badge. */
export function stateClass(state: string): string {
  if (state === "RUNNING" || state === "IDLE") return "ok";
  if (state === "FAILED") return "bad";
  if (state === "STOPPED" || state === "CREATED") return "off";
  return "busy";
}
