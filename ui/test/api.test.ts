import { describe, expect, it } from "vitest";
import { Api, ApiError, LineSplitter, normalizeField, parseError } from "../src/api";
import { Session } from "../src/session";

class MemoryStorage implements Storage {
  private items = new Map<string, string>();
  get length() { return this.items.size; }
  clear() { this.items.clear(); }
  getItem(k: string) { return this.items.get(k) ?? null; }
  key(i: number) { return [...this.items.keys()][i] ?? null; }
  removeItem(k: string) { this.items.delete(k); }
  setItem(k: string, v: string) { this.items.set(k, v); }
}

describe("parseError", () => {
  it("reads the error envelope and the field problems, as spec paths", () => {
    const err = parseError(422, {
      error: { code: "invalid_spec", message: "bad", details: { errors: [{ field: "spec.predictor.model_version", value: 0, message: "must be >= 1" }] } },
    });
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(422);
    expect(err.problems).toEqual([{ field: "predictor.model_version", value: 0, message: "must be >= 1" }]);
  });
  it("copes with a body that is not the envelope", () => {
    expect(parseError(502, null).message).toBe("HTTP 502");
    expect(parseError(502, { error: "no ready replica" }).message).toBe("no ready replica");
    expect(normalizeField("spec.name")).toBe("name");
    expect(normalizeField("predictor.spec")).toBe("predictor.spec");
  });
});

describe("Api", () => {
  it("sends the session's key and JSON, and raises ApiError on an error answer", async () => {
    const storage = new MemoryStorage();
    const session = new Session(storage);
    session.signIn(" k1 ");
    const seen: [string, RequestInit][] = [];
    const fake = async (url: RequestInfo | URL, init?: RequestInit) => {
      seen.push([String(url), init ?? {}]);
      if (String(url).endsWith("/missing")) {
        return new Response(JSON.stringify({ error: { code: "not_found", message: "no such deployment" } }), { status: 404 });
      }
      return new Response(JSON.stringify({ ok: true }), { status: 200 });
    };
    const api = new Api(() => session.key, fake as typeof fetch);
    expect(await api.post("/deployments", { a: 1 })).toEqual({ ok: true });
    expect(seen[0][0]).toBe("/api/v1/deployments");
    expect(seen[0][1].headers).toEqual({ Authorization: "ApiKey k1", "Content-Type": "application/json" });
    expect(seen[0][1].body).toBe('{"a":1}');
    await expect(api.get("/missing")).rejects.toMatchObject({ status: 404, message: "no such deployment" });
    session.signOut();
    expect(storage.length).toBe(0);
    expect(api.headers()).toEqual({});
  });

  it("streams NDJSON lines to the callback", async () => {
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        const enc = new TextEncoder();
        c.enqueue(enc.encode('{"replica":"r1","line":"a"}\n{"replica":"r1",'));
        c.enqueue(enc.encode('"line":"b"}\n'));
        c.close();
      },
    });
    const api = new Api(() => "k", (async () => new Response(body, { status: 200 })) as typeof fetch);
    const lines: unknown[] = [];
    await api.stream("/x", (v) => lines.push(v), new AbortController().signal);
    expect(lines).toEqual([{ replica: "r1", line: "a" }, { replica: "r1", line: "b" }]);
  });
});

describe("LineSplitter", () => {
  it("holds a partial line until its end arrives", () => {
    const s = new LineSplitter();
    expect(s.push("a\nb")).toEqual(["a"]);
    expect(s.push("c\n\n")).toEqual(["bc"]);
  });
});
