import { describe, expect, it } from "vitest";
import { buildRow, buildStateClass, deploymentLink, duration, logText, stillBuilding } from "../src/builds";
import type { BuildLog, EnvironmentBuild } from "../src/types";

const NOW = Date.parse("2026-01-01T12:00:00Z");

function build(over: Partial<EnvironmentBuild>): EnvironmentBuild {
  return {
    id: "0123456789abcdef", base: "shipyard/python:1.0.0", requirements: [], state: "READY", step: "",
    packages: [], reused: false, started_at: "2026-01-01T11:58:00Z", deployments: [], ...over,
  } as EnvironmentBuild;
}

describe("build rows", () => {
  it("says state, base with requirements, sizes and durations for people", () => {
    const r = buildRow(build({
      requirements: ["numpy<2"], packages: ["numpy==1.26.4", "six==1.16.0"], duration_s: 75.2,
      size_bytes: 3 * 1024 * 1024, deployments: ["fraud"],
    }), NOW);
    expect(r).toMatchObject({
      state: "READY", stateClass: "ok", base: "shipyard/python:1.0.0 + 1 requirement(s)", packages: "2",
      started: "2 min ago", took: "1 min 15 s", size: "3.0 MiB", deployments: ["fraud"],
    });
  });

  it("shows a running build's age and a reused one as such", () => {
    expect(buildRow(build({ state: "BUILDING", duration_s: null }), NOW)).toMatchObject({ took: "running 2 min", stateClass: "busy", size: "-" });
    expect(buildRow(build({ reused: true }), NOW).state).toBe("READY (reused)");
    expect(buildStateClass("FAILED")).toBe("bad");
  });

  it("formats durations", () => {
    expect(duration(null)).toBe("-");
    expect(duration(0.42)).toBe("0.4 s");
    expect(duration(42.4)).toBe("42 s");
    expect(duration(185)).toBe("3 min 5 s");
  });

  it("polls only while something builds", () => {
    expect(stillBuilding([build({}), build({ state: "FAILED" })])).toBe(false);
    expect(stillBuilding([build({}), build({ state: "BUILDING" })])).toBe(true);
    expect(stillBuilding([])).toBe(false);
  });

  it("links a deployment of the own project only (an admin sees project/name)", () => {
    expect(deploymentLink("fraud")).toBe("fraud");
    expect(deploymentLink("team-a/fraud")).toBeNull();
  });
});

describe("log text", () => {
  const log = (over: Partial<BuildLog>): BuildLog => ({ build: "x", state: "FAILED", lines: [], truncated: false, size_bytes: 0, ...over });
  it("joins lines and says when earlier ones were left out", () => {
    expect(logText(log({ lines: ["a", "b"] }))).toBe("a\nb");
    expect(logText(log({ lines: ["b"], truncated: true }))).toBe("[earlier lines omitted: the last 1 shown]\nb");
    expect(logText(log({}))).toBe("(nothing logged yet)");
  });
});
