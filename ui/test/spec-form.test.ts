import { describe, expect, it } from "vitest";
import { buildSpec, convert, flatten, placeProblems, withInstances, withScalingRange } from "../src/spec-form";

describe("convert", () => {
  it("turns numbers into numbers and keeps what is not one as typed", () => {
    expect(convert("0.5", "float")).toBe(0.5);
    expect(convert(" 2 ", "int")).toBe(2);
    expect(convert("1.5", "int")).toBe("1.5"); // the server names the field
    expect(convert("abc", "float")).toBe("abc");
    expect(convert("true", "bool")).toBe(true);
    expect(convert(" x ", "str")).toBe("x");
  });
});

describe("buildSpec", () => {
  it("nests dotted paths and leaves empty values to the server's defaults", () => {
    const spec = buildSpec([
      { path: "name", value: "iris", kind: "str" },
      { path: "predictor.model_name", value: "iris", kind: "str" },
      { path: "predictor.model_version", value: "3", kind: "int" },
      { path: "predictor.script_file", value: "", kind: "str" },
      { path: "predictor.resources.requests.memory", value: "256", kind: "int" },
      { path: "predictor.resources.limits.cores", value: "1.5", kind: "float" },
    ]);
    expect(spec).toEqual({
      name: "iris",
      predictor: {
        model_name: "iris",
        model_version: 3,
        resources: { requests: { memory: 256 }, limits: { cores: 1.5 } },
      },
    });
  });
});

describe("flatten", () => {
  it("gives every leaf of a spec by its path (the inverse of buildSpec)", () => {
    const spec = { name: "a", predictor: { model_version: 2, resources: { limits: { memory: 512 } }, scaling: null } };
    expect([...flatten(spec)]).toEqual([
      ["name", "a"],
      ["predictor.model_version", "2"],
      ["predictor.resources.limits.memory", "512"],
    ]);
  });
});

describe("placeProblems", () => {
  const fields = ["name", "predictor.resources.requests.cores", "predictor.resources.requests.memory", "transformer.script_file"];
  it("puts each problem under its field, the first field below it, or the nearest above", () => {
    const placed = placeProblems(
      [
        { field: "predictor.resources.requests.memory", message: "above the limit" },
        { field: "predictor.resources.requests", message: "never fits" },
        { field: "transformer.script_file.x", message: "deeper" },
        { field: "transformer", message: "DOCKER has no transformer" },
        { field: "", message: "general" },
      ],
      fields,
    );
    expect(placed.byField.get("predictor.resources.requests.memory")).toEqual(["above the limit"]);
    expect(placed.byField.get("predictor.resources.requests.cores")).toEqual(["never fits"]);
    expect(placed.byField.get("transformer.script_file")).toEqual(["deeper", "DOCKER has no transformer"]);
    expect(placed.general).toEqual(["general"]);
  });
  it("keeps problems no field can show in the general area, with their field", () => {
    expect(placeProblems([{ field: "serving_tool", message: "no backend" }], fields).general).toEqual([
      "serving_tool: no backend",
    ]);
  });
});

describe("withInstances", () => {
  it("changes one component's instances on a copy", () => {
    const spec = { name: "a", predictor: { model_name: "m", resources: { num_instances: 1, limits: { cores: 1 } } }, transformer: null };
    const scaled = withInstances(spec, "predictor", 3);
    expect(scaled.predictor.resources).toEqual({ num_instances: 3, limits: { cores: 1 } });
    expect(spec.predictor.resources.num_instances).toBe(1);
    expect(withInstances(spec, "transformer", 2).transformer).toBeNull();
  });
});

describe("withScalingRange", () => {
  it("changes an autoscaled component's range and leaves a fixed one alone", () => {
    const spec = { predictor: { scaling: { min_instances: 1, max_instances: 2, target: 5 } }, transformer: { scaling: null } };
    expect(withScalingRange(spec, "predictor", 0, 4).predictor.scaling).toEqual({ min_instances: 0, max_instances: 4, target: 5 });
    expect(withScalingRange(spec, "transformer", 0, 4).transformer.scaling).toBeNull();
    expect(spec.predictor.scaling.max_instances).toBe(2);
  });
});
