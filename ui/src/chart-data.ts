// Turn a replica's usage history into the columns a chart draws: time, the measured value,
// and the request and limit as flat lines (null where the history has no value).
import type { ReplicaUsageOut, UsageEventOut } from "./types";

export type Metric = "cpu" | "memory";

export interface ChartColumns {
  xs: number[];
  used: (number | null)[];
  request: (number | null)[];
  limit: (number | null)[];
  requestValue: number | null;
  limitValue: number | null;
  ooms: number[];
  unit: string;
}

export function columns(replica: ReplicaUsageOut, metric: Metric, events: UsageEventOut[]): ChartColumns {
  const xs = replica.samples.map((s) => s.at);
  const used = replica.samples.map((s) => (metric === "cpu" ? s.cpu_cores : s.memory_mb) ?? null);
  const pick = (r: ReplicaUsageOut["requests"]) =>
    r ? (metric === "cpu" ? r.cores : r.memory) : null;
  const requestValue = pick(replica.requests);
  const limitValue = pick(replica.limits);
  const ooms = events
    .filter((e) => e.kind === "oom" && e.replica === replica.replica)
    .map((e) => e.at);
  return {
    xs,
    used,
    request: xs.map(() => requestValue),
    limit: xs.map(() => limitValue),
    requestValue,
    limitValue,
    ooms,
    unit: metric === "cpu" ? "cores" : "MiB",
  };
}

/** The y range: from 0 to a bit above the highest of value, request and limit. */
export function yMax(c: ChartColumns): number {
  const values = [...c.used, c.requestValue, c.limitValue].filter(
    (v): v is number => typeof v === "number",
  );
  return Math.max(...values, c.unit === "MiB" ? 1 : 0.01) * 1.1;
}
