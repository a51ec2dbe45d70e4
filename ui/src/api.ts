// The only place the UI talks HTTP: the public REST API under /api/v1, with the session's key.
import type { FieldProblem } from "./types";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string,
    readonly problems: FieldProblem[],
  ) {
    super(message);
  }
}

/** An error answer's body (`{"error": {"code", "message", "details": {"errors": [...]}}}`). */
export function parseError(status: number, body: unknown): ApiError {
  const raw = (body as { error?: unknown })?.error;
  if (typeof raw === "string") return new ApiError(status, raw, "", []); // the gateway's shape
  const err = raw as { code?: string; message?: string; details?: unknown } | undefined;
  const details = (err?.details ?? {}) as { errors?: FieldProblem[] };
  const problems = (details.errors ?? []).map((p) => ({ ...p, field: normalizeField(p.field) }));
  return new ApiError(status, err?.message ?? `HTTP ${status}`, err?.code ?? "", problems);
}

/** Field paths of a request body's validation (`spec.predictor...`) as the spec's own paths. */
export function normalizeField(field: string): string {
  return field.replace(/^spec\./, "");
}

export type Fetch = typeof fetch;

export class Api {
  constructor(
    private readonly key: () => string | null,
    private readonly fetcher: Fetch = (...args) => fetch(...args),
    private readonly base = "/api/v1",
  ) {}

  headers(extra: Record<string, string> = {}): Record<string, string> {
    const key = this.key();
    return { ...(key ? { Authorization: `ApiKey ${key}` } : {}), ...extra };
  }

  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const init: RequestInit = { method, headers: this.headers(), signal };
    if (body instanceof FormData) {
      init.body = body;
    } else if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = this.headers({ "Content-Type": "application/json" });
    }
    const answer = await this.fetcher(this.base + path, init);
    if (answer.status === 204) return undefined as T;
    const text = await answer.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    if (!answer.ok) throw parseError(answer.status, parsed);
    return parsed as T;
  }

  get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.request<T>("GET", path, undefined, signal);
  }
  post<T>(path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    return this.request<T>("POST", path, body, signal);
  }
  put<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>("PUT", path, body);
  }
  delete(path: string): Promise<void> {
    return this.request<void>("DELETE", path);
  }

  /** A streaming GET (NDJSON): calls `onLine` with each parsed object until done or aborted. */
  async stream(path: string, onLine: (value: unknown) => void, signal: AbortSignal): Promise<void> {
    const answer = await this.fetcher(this.base + path, { headers: this.headers(), signal });
    if (!answer.ok || !answer.body) {
      throw parseError(answer.status, await answer.json().catch(() => null));
    }
    const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
    const splitter = new LineSplitter();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const line of splitter.push(value)) onLine(JSON.parse(line));
    }
  }
}

/** Splits a text stream into complete lines (a partial last line waits for the next chunk). */
export class LineSplitter {
  private rest = "";

  push(chunk: string): string[] {
    const parts = (this.rest + chunk).split("\n");
    this.rest = parts.pop() ?? "";
    return parts.filter((p) => p.trim() !== "");
  }
}

export const enc = encodeURIComponent;
