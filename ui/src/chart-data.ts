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

/** OOM kills are matched by component and slot: a restarted replica may have a new id. */
export function columns(replica: ReplicaUsageOut, metric: Metric, events: UsageEventOut[]): ChartColumns {
  const xs = replica.samples.map((s) => s.at);
  const used = replica.samples.map((s) => (metric === "cpu" ? s.cpu_cores : s.memory_mb) ?? null);
  const pick = (r: ReplicaUsageOut["requests"]) =>
    r ? (metric === "cpu" ? r.cores : r.memory) : null;
  const requestValue = pick(replica.requests);
  const limitValue = pick(replica.limits);
  const ooms = events
    .filter((e) => e.kind === "oom" && e.component === replica.component && e.slot === replica.slot)
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

/** The x range (seconds): the samples' span, widened to at least `minSpan` seconds ending at
 * the last sample (a lone sample otherwise stretches the axis over years). */
export function xRange(xs: number[], minSpan = 120): [number, number] {
  if (!xs.length) {
    const now = Date.now() / 1000;
    return [now - minSpan, now];
  }
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return [Math.min(lo, hi - minSpan), hi];
}

/** The columns with a first point at the range's start (no measured value there), so the
 * request and limit lines cross the whole chart even before samples fill it. */
export function padded(c: ChartColumns): [number[], (number | null)[], (number | null)[], (number | null)[]] {
  const [lo] = xRange(c.xs);
  if (c.xs.length && c.xs[0] <= lo) return [c.xs, c.used, c.request, c.limit];
  return [[lo, ...c.xs], [null, ...c.used], [c.requestValue, ...c.request], [c.limitValue, ...c.limit]];
}
