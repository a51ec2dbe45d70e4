import { describe, expect, it } from "vitest";
import { columns, padded, xRange, yMax } from "../src/chart-data";
import { ago, bytes, readyDesired, stateClass } from "../src/format";
import { href, parseRoute, section } from "../src/routes";
import type { DeploymentOut, ReplicaUsageOut } from "../src/types";

function deployment(over: Partial<DeploymentOut["spec"]>, active = true): DeploymentOut {
  return {
    name: "d", active, revision: 1, created_at: "", updated_at: "", dry_run: false, endpoints: {},
    spec: { name: "d", predictor: { model_name: "m", model_version: 1, resources: { num_instances: 2 } }, ...over },
    status: { available_instances: { predictor: 1, transformer: 1 } },
    resolution: { serving_tool: "LOCAL", components: [], warnings: [], errors: [] },
  } as unknown as DeploymentOut;
}

describe("readyDesired", () => {
  it("counts per component, with autoscaling ranges, scale-to-zero and stopped", () => {
    expect(readyDesired(deployment({}))).toEqual([{ component: "predictor", ready: 1, desired: "2" }]);
    const both = deployment({
      predictor: { model_name: "m", model_version: 1, resources: { num_instances: 0 } },
      transformer: { script_file: "t.py", scaling: { min_instances: 1, max_instances: 3 } },
    } as Partial<DeploymentOut["spec"]>);
    expect(readyDesired(both).map((c) => c.desired)).toEqual(["0-1", "1-3"]);
    expect(readyDesired(deployment({}, false))[0].desired).toBe("0");
  });
});

describe("format", () => {
  it("says how long ago", () => {
    const now = Date.parse("2026-01-01T12:00:00Z");
    expect(ago("2026-01-01T11:59:50Z", now)).toBe("10 s ago");
    expect(ago("2026-01-01T11:00:00Z", now)).toBe("1 h ago");
    expect(ago("2025-12-30T12:00:00Z", now)).toBe("2 d ago");
    expect(ago(null, now)).toBe("never");
  });
  it("sizes and states", () => {
    expect(bytes(1536)).toBe("1.5 KiB");
    expect(bytes(12)).toBe("12 B");
    expect(stateClass("RUNNING")).toBe("ok");
    expect(stateClass("FAILED")).toBe("bad");
    expect(stateClass("UPDATING")).toBe("busy");
  });
});

describe("routes", () => {
  it("parses and builds every hash route", () => {
    for (const route of [
      { page: "deployments" }, { page: "new-deployment" }, { page: "deployment", name: "a b" },
      { page: "edit-deployment", name: "x" }, { page: "models" }, { page: "model", name: "iris" }, { page: "environments" },
      { page: "environments", build: "0123456789abcdef" },
    ] as const) {
      expect(parseRoute(href(route))).toEqual(route);
    }
    expect(parseRoute("")).toEqual({ page: "deployments" });
    expect(section({ page: "model", name: "m" })).toBe("models");
    expect(parseRoute("#/environments/builds")).toEqual({ page: "environments" });
    expect(section({ page: "environments", build: "x" })).toBe("environments");
  });
});

describe("chart columns", () => {
  const replica: ReplicaUsageOut = {
    replica: "r1", component: "predictor", slot: 0, restarts: 1, live: true,
    requests: { cores: 0.5, memory: 128, gpus: 0 }, limits: { cores: 1, memory: 256, gpus: 0 },
    samples: [
      { at: 10, cpu_cores: 0.1, memory_mb: 100, memory_peak_mb: 100 },
      { at: 12, cpu_cores: null, memory_mb: 300, memory_peak_mb: 300 },
    ],
  };
  const events = [
    { at: 11, kind: "oom", component: "predictor", replica: "r0", slot: 0, message: "" }, // before a restart
    { at: 11, kind: "oom", component: "predictor", replica: "r2", slot: 1, message: "" },
    { at: 11, kind: "oom", component: "transformer", replica: "t", slot: 0, message: "" },
    { at: 11, kind: "restart", component: "predictor", replica: "r1", slot: 0, message: "" },
  ];
  it("draws the limit and request as flat lines and marks this replica's OOM kills", () => {
    const c = columns(replica, "memory", events);
    expect(c.xs).toEqual([10, 12]);
    expect(c.used).toEqual([100, 300]);
    expect(c.limit).toEqual([256, 256]);
    expect(c.request).toEqual([128, 128]);
    expect(c.ooms).toEqual([11]);
    expect(yMax(c)).toBeCloseTo(330);
    const cpu = columns(replica, "cpu", events);
    expect(cpu.used).toEqual([0.1, null]);
    expect(cpu.limitValue).toBe(1);
  });
  it("has no lines without requests and limits", () => {
    const c = columns({ ...replica, requests: null, limits: null, samples: [] }, "cpu", []);
    expect(c.limitValue).toBeNull();
    expect(yMax(c)).toBeCloseTo(0.011);
  });
});

describe("xRange", () => {
  it("spans the samples, at least two minutes ending at the last one", () => {
    expect(xRange([1000])).toEqual([880, 1000]);
    expect(xRange([100, 1000, 500])).toEqual([100, 1000]);
    const [lo, hi] = xRange([]);
    expect(hi - lo).toBe(120);
  });
});

describe("padded", () => {
  it("starts the request and limit lines at the range's start", () => {
    const c = { xs: [1000], used: [5], request: [1], limit: [2], requestValue: 1, limitValue: 2, ooms: [], unit: "MiB" };
    expect(padded(c)).toEqual([[880, 1000], [null, 5], [1, 1], [2, 2]]);
    const wide = { ...c, xs: [0, 1000], used: [1, 2], request: [1, 1], limit: [2, 2] };
    expect(padded(wide)[0]).toEqual([0, 1000]);
  });
});
