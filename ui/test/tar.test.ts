import { describe, expect, it } from "vitest";
import { curlSnippet, sdkSnippet } from "../src/pages/predict";
import { gzip, header, relativePath, splitName, tar } from "../src/tar";

const dec = new TextDecoder();
const field = (h: Uint8Array, at: number, len: number) => dec.decode(h.subarray(at, at + len)).replace(/\0.*$/s, "");

describe("tar", () => {
  it("writes ustar headers with a valid checksum", () => {
    const h = header("model/predictor.py", 10, 1700000000);
    expect(field(h, 0, 100)).toBe("model/predictor.py");
    expect(parseInt(field(h, 124, 12), 8)).toBe(10);
    expect(field(h, 257, 6)).toBe("ustar");
    const stored = parseInt(field(h, 148, 8), 8);
    const copy = h.slice();
    copy.fill(0x20, 148, 156);
    expect(stored).toBe(copy.reduce((a, b) => a + b, 0));
  });
  it("pads data to blocks and ends with two empty blocks", () => {
    const out = tar([{ path: "a.txt", data: new TextEncoder().encode("hello") }]);
    expect(out.length).toBe(512 + 512 + 1024);
    expect(dec.decode(out.subarray(512, 517))).toBe("hello");
    expect(out.subarray(1024).every((b) => b === 0)).toBe(true);
  });
  it("splits long paths into prefix and name, and refuses what cannot fit", () => {
    const long = `${"d".repeat(120)}/file.py`;
    expect(splitName(long)).toEqual(["d".repeat(120), "file.py"]);
    expect(() => splitName("x".repeat(300))).toThrow(/too long/);
  });
  it("drops the picked folder's own name", () => {
    expect(relativePath("iris/sub/model.joblib")).toBe("sub/model.joblib");
    expect(relativePath("model.joblib")).toBe("model.joblib");
  });
  it("gzips (round trip)", async () => {
    const data = tar([{ path: "a", data: new Uint8Array([1, 2, 3]) }]);
    const blob = await gzip(data);
    const back = new Uint8Array(await new Response(blob.stream().pipeThrough(new DecompressionStream("gzip"))).arrayBuffer());
    expect(back).toEqual(data);
  });
});

describe("snippets", () => {
  it("quote the body for the shell and never hold the key", () => {
    const curl = curlSnippet("http://h/v1/models/m:predict", `{"instances": [["it's"]]}`);
    expect(curl).toContain(`-d '{"instances":[["it'\\''s"]]}'`);
    expect(curl).toContain("$SHIPYARD_API_KEY");
    const sdk = sdkSnippet("http://h", "m", '{"instances": [[1, 2]]}');
    expect(sdk).toContain('get_deployment("m")');
    expect(sdk).toContain("predict(inputs=[[1,2]])");
  });
});
