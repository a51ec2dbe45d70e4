// Logs of one component: the last N lines per instance, or followed live (NDJSON stream).
import type { Ctx } from "../context";
import { enc } from "../api";
import { errorText, field, h } from "../dom";
import type { LogsOut } from "../types";

const MAX_LINES = 2000; // kept on screen while following

export function logsPanel(ctx: Ctx, name: string): HTMLElement {
  const component = h("select", { name: "log-component" }, h("option", { value: "predictor" }, "predictor"), h("option", { value: "transformer" }, "transformer"));
  const tail = h("input", { type: "number", name: "log-tail", min: 0, max: 500, value: 50, inputmode: "numeric" });
  const follow = h("input", { type: "checkbox", id: "log-follow" });
  const out = h("pre", { class: "logs", tabindex: "0", "aria-label": "Log lines", "aria-live": "off" });
  const status = h("p", { class: "hint", role: "status" });
  let abort: AbortController | null = null;

  const line = (replica: string, text: string) => `[${replica}] ${text}\n`;
  const stop = () => {
    abort?.abort();
    abort = null;
  };
  ctx.onLeave(stop);

  async function load() {
    stop();
    const params = `component=${enc(component.value)}&tail=${enc(tail.value || "50")}`;
    if (!follow.checked) {
      try {
        const logs = await ctx.api.get<LogsOut>(`/deployments/${enc(name)}/logs?${params}`);
        out.textContent = logs.lines.map((l) => line(l.replica, l.line)).join("") || "(no lines yet)";
        status.textContent = `${logs.lines.length} line(s) at ${new Date().toLocaleTimeString()}`;
      } catch (err) {
        status.textContent = errorText(err);
      }
      return;
    }
    const mine = new AbortController();
    abort = mine;
    out.textContent = "";
    status.textContent = "Following: new lines appear as they are written.";
    try {
      await ctx.api.stream(`/deployments/${enc(name)}/logs/follow?${params}`, (value) => {
        const v = value as { replica: string; line: string };
        out.append(line(v.replica, v.line));
        while (out.childNodes.length > MAX_LINES) out.firstChild?.remove();
        out.scrollTop = out.scrollHeight;
      }, mine.signal);
      if (abort === mine) status.textContent = "The follow ended (15 minutes at most): tick Follow again to go on.";
    } catch (err) {
      if (!mine.signal.aborted) status.textContent = `Follow stopped: ${errorText(err)}`;
    }
  }

  const refresh = h("button", { type: "button", onclick: () => void load() }, "Refresh");
  for (const el of [component, tail, follow]) el.addEventListener("change", () => void load());
  void load();
  const panel = h("div", { class: "logs-panel" },
    h("div", { class: "inline" }, field("Component", component), field("Lines per instance", tail),
      h("label", { for: "log-follow", class: "check" }, follow, " Follow"), refresh),
    status, out);
  return panel;
}
