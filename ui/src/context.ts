// What every page gets: the API client, the session, navigation, and a way to stop its timers.
import type { Api } from "./api";
import type { Session } from "./session";
import type { Route } from "./routes";

export interface Ctx {
  api: Api;
  session: Session;
  go(route: Route): void;
  /** Registers work to undo when the page is left (timers, streams, charts). */
  onLeave(cleanup: () => void): void;
  /** Repeats `fn` every `ms` until the page is left (never two at once). */
  every(ms: number, fn: () => Promise<void>): void;
}
