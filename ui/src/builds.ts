// Pure logic of the Environments page's builds: rows for people, when to refresh, the log's text.
import { ago, bytes } from "./format";
import type { BuildLog, EnvironmentBuild } from "./types";

export interface BuildRow {
  id: string;
  state: string;
  stateClass: "ok" | "bad" | "busy";
  base: string;
  packages: string;
  started: string;
  took: string;
  size: string;
  deployments: string[];
  step: string;
}

export function buildStateClass(state: string): "ok" | "bad" | "busy" {
  if (state === "READY") return "ok";
  if (state === "FAILED") return "bad";
  return "busy";
}

/** "0.4 s", "12 s", "3 min 5 s": how long a build took (or "-" while it runs). */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "-";
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const m = Math.floor(seconds / 60);
  return `${m} min ${Math.round(seconds - m * 60)} s`;
}

export function buildRow(b: EnvironmentBuild, now: number): BuildRow {
  const took = b.state === "BUILDING" ? `running ${ago(b.started_at, now).replace(" ago", "")}` : duration(b.duration_s);
  return {
    id: b.id,
    state: b.reused && b.state === "READY" ? "READY (reused)" : b.state ?? "BUILDING",
    stateClass: buildStateClass(b.state ?? "BUILDING"),
    base: b.requirements?.length ? `${b.base} + ${b.requirements.length} requirement(s)` : b.base,
    packages: b.packages?.length ? String(b.packages.length) : "-",
    started: ago(b.started_at, now),
    took,
    size: b.size_bytes === null || b.size_bytes === undefined ? "-" : bytes(b.size_bytes),
    deployments: b.deployments ?? [],
    step: b.step ?? "",
  };
}

/** Whether the page should poll again: something is still building. */
export function stillBuilding(builds: { state?: string | null }[]): boolean {
  return builds.some((b) => (b.state ?? "BUILDING") === "BUILDING");
}

/** The text shown for a log: a note when earlier lines were left out, then the lines. */
export function logText(log: BuildLog): string {
  const lines = log.lines ?? [];
  if (!lines.length) return "(nothing logged yet)";
  const head = log.truncated ? [`[earlier lines omitted: the last ${lines.length} shown]`] : [];
  return [...head, ...lines].join("\n");
}

/** A deployment's own name from an entry of `deployments` (an admin sees "project/name"). */
export function deploymentLink(entry: string): string | null {
  return entry.includes("/") ? null : entry;
}
