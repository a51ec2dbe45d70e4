// Live usage charts (uPlot): one chart per instance and metric, the measured value against its
// request and limit lines, OOM kills marked as red vertical lines. `update` swaps the data.
import uPlot from "uplot";
import { columns, padded, xRange, yMax, type ChartColumns, type Metric } from "./chart-data";
import { h } from "./dom";
import type { ReplicaUsageOut, UsageEventOut } from "./types";

function oomMarks(ooms: () => number[]): uPlot.Plugin {
  return {
    hooks: {
      draw: (u: uPlot) => {
        const ctx = u.ctx;
        ctx.save();
        ctx.strokeStyle = "#c62828";
        ctx.lineWidth = 2;
        for (const at of ooms()) {
          const x = u.valToPos(at, "x", true);
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
        }
        ctx.restore();
      },
    },
  };
}

function label(what: string, value: number | null, unit: string): string {
  return value === null ? `${what} (none)` : `${what} ${value} ${unit}`;
}

export class UsageChart {
  readonly element: HTMLElement;
  private plot: uPlot | null = null;
  private resize: ResizeObserver | null = null;
  private current: ChartColumns;
  private readonly caption: HTMLElement;

  constructor(
    private readonly replica: string,
    private readonly metric: Metric,
    usage: ReplicaUsageOut,
    events: UsageEventOut[],
  ) {
    this.current = columns(usage, metric, events);
    const title = metric === "cpu" ? "CPU (cores)" : "Memory (MiB)";
    this.caption = h("p", { class: "chart-caption" });
    this.element = h("figure", { class: "chart", "data-metric": metric, "data-replica": replica, role: "group", "aria-label": `${title} of ${replica}` },
      h("figcaption", {}, title), this.caption);
  }

  /** Draws into the element (call once it is in the document, so it has a width). */
  mount(): void {
    const c = this.current;
    const width = this.width();
    const unit = c.unit;
    const opts: uPlot.Options = {
      width,
      height: 180,
      scales: { x: { time: true, range: () => xRange(this.current.xs) }, y: { range: () => [0, yMax(this.current)] } },
      axes: [{}, { size: 56, values: (_u, ticks) => ticks.map((t) => (unit === "MiB" ? `${Math.round(t)}` : t.toFixed(2))) }],
      series: [
        {},
        { label: `${this.metric === "cpu" ? "cores used" : "MiB resident"}`, stroke: "#1565c0", width: 2, fill: "rgba(21,101,192,0.08)" },
        { label: label("request", c.requestValue, unit), stroke: "#2e7d32", dash: [6, 4], width: 1.5, points: { show: false } },
        { label: label("limit", c.limitValue, unit), stroke: "#c62828", dash: [2, 3], width: 1.5, points: { show: false } },
      ],
      plugins: [oomMarks(() => this.current.ooms)],
      legend: { live: false },
    };
    this.plot = new uPlot(opts, this.data(), this.element);
    this.resize = new ResizeObserver(() => {
      const w = this.width();
      if (this.plot && Math.abs(this.plot.width - w) > 4) this.plot.setSize({ width: w, height: 180 });
    });
    this.resize.observe(this.element);
    this.describe();
  }

  private width(): number {
    return Math.max(240, Math.floor(this.element.getBoundingClientRect().width) - 4);
  }

  update(usage: ReplicaUsageOut, events: UsageEventOut[]): void {
    this.current = columns(usage, this.metric, events);
    if (this.plot) {
      this.plot.setData(this.data());
    }
    this.describe();
  }

  private data(): uPlot.AlignedData {
    return padded(this.current) as uPlot.AlignedData;
  }

  private describe(): void {
    const c = this.current;
    const last = c.used.length ? c.used[c.used.length - 1] : null;
    const now = last === null ? "no sample yet" : `now ${c.unit === "MiB" ? Math.round(last) : last.toFixed(2)} ${c.unit}`;
    this.element.dataset.limit = c.limitValue === null ? "" : String(c.limitValue);
    this.element.dataset.request = c.requestValue === null ? "" : String(c.requestValue);
    this.element.dataset.samples = String(c.xs.length);
    this.element.dataset.ooms = String(c.ooms.length);
    this.caption.textContent = `${now}; ${label("request", c.requestValue, c.unit)}; ${label("limit", c.limitValue, c.unit)}${c.ooms.length ? `; ${c.ooms.length} OOM kill(s) marked in red` : ""}`;
  }

  destroy(): void {
    this.resize?.disconnect();
    this.plot?.destroy();
    this.plot = null;
  }

  get id(): string {
    return `${this.replica}/${this.metric}`;
  }
}
