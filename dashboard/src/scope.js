// The scope panel: single, continuous (panel.js) and stop; a live plot of
// both channels with autoscale and a cursor readout. Durations above
// 0.1 s use the service's rolling mode instead of repeated singles: its
// 20 traces a second are what a slow timebase needs.

import { Plot, downloadCSV, downloadPNG } from "./plot.js";
import { FieldError } from "./form.js";
import { AcquisitionPanel } from "./panel.js";
import { $, RateMeter, colored, origin } from "./util.js";
import { si } from "./si.js";

/** Durations above this are the service's rolling mode (docs/scope.md). */
const ROLLING = 0.1;

export class ScopePanel extends AcquisitionPanel {
  constructor(app) {
    super(app, "scope", ["scope"]);
    Object.assign(this.st, { frames: 0, traces: 0, fps: 0, trace: null });
    this.meter = new RateMeter(1000);
    this.x = null;
    this.plot = new Plot($("#scope-plot"), {
      title: () => this.title(),
      x: { unit: "s", label: "time" },
      // Autoscale off: the inputs' full range.
      y: { unit: "V", label: "voltage", minSpan: 2e-3, fixed: () => (this.form.autoscale.checked ? null : [-1, 1]) },
      series: [
        { label: "ch1", color: "--ch1" },
        { label: "ch2", color: "--ch2" },
      ],
      onCursor: (i) => this.readout(i),
    });
    // Axes before the first trace: the default timebase, 16384 samples of 8 ns.
    this.plot.setData([new Float64Array(0), new Float64Array(0), new Float64Array(0)], [0, 16384 * 8e-9]);
    this.form.autoscale.addEventListener("change", () => this.plot.render());
    this.readout(null);
    setInterval(() => this.status(), 250);
  }

  acquire(board, s, options) {
    return board.scope.single(s, options);
  }

  /** Durations above 0.1 s: the service's rolling mode, 20 traces a second. */
  continuous() {
    return super.continuous(async (board, s, signal) => {
      // A decimation's duration: 16384 samples of 8 ns x decimation.
      const duration = s.duration ?? (s.decimation ?? 1) * 16384 * 8e-9;
      if (duration <= ROLLING) return this.loop(board, s, signal);
      for await (const t of board.scope.stream(s, { signal })) this.show(t, "rolling");
    });
  }

  /** Stops this page's acquisitions (and the board's rolling mode). */
  async stop() {
    const rolling = this.st.source === "rolling" && this.st.mode === "continuous";
    super.stop();
    if (rolling) await this.app.board().scope.stop().catch((err) => this.fail(err));
  }

  /** Shows trace t (a reply, a continuous trace, or a done event). */
  show(t, source) {
    this.st.trace = t;
    this.st.source = source;
    this.st.traces++;
    this.frame.request();
  }

  draw() {
    const t = this.st.trace;
    if (!t) return;
    const n = t.ch1?.length ?? 0;
    if (!this.x || this.x.length !== n || this.x.t0 !== t.t0 || this.x.dt !== t.dt) {
      this.x = new Float64Array(n);
      for (let i = 0; i < n; i++) this.x[i] = t.t0 + i * t.dt;
      this.x.t0 = t.t0;
      this.x.dt = t.dt;
    }
    this.plot.spec.series[0].label = `ch1 · ${t.settings?.input1 ?? "in1"}`;
    this.plot.spec.series[1].label = `ch2 · ${t.settings?.input2 ?? "in2"}`;
    this.plot.setData([this.x, t.ch1, t.ch2]);
    this.st.frames++;
    this.meter.tick();
    // A single trace's line at once; a running loop's four times a second.
    if (this.st.mode !== "continuous") this.status();
  }

  readout(i) {
    const el = $("#scope-readout");
    const d = this.plot?.full;
    if (i === null || i === undefined || !d || i >= d[0].length) {
      el.textContent = "drag to zoom, double-click to reset; hover for values";
      return;
    }
    el.replaceChildren(
      `t = ${si(d[0][i], "s")}   `,
      colored("ch1", `ch1 = ${si(d[1][i], "V")}`),
      "   ",
      colored("ch2", `ch2 = ${si(d[2][i], "V")}`),
    );
  }

  status() {
    this.st.fps = this.meter.rate();
    const t = this.st.trace;
    const parts = [];
    if (t) {
      parts.push(`${t.board} · decimation ${t.settings.decimation} · ${si(t.settings.duration, "s", 3)} · ${t.settings.trigger_source}`);
      const from = origin(t, this.st.source);
      if (from) parts.push(from);
    }
    if (this.st.mode === "continuous") parts.push(`${this.st.fps.toFixed(1)} frames/s`);
    $("#scope-status").textContent = parts.join(" · ");
  }

  title() {
    const t = this.st.trace;
    if (!t) return "scope";
    const s = t.settings;
    return `scope · ${t.board} · ${si(s.duration, "s", 3)} (decimation ${s.decimation}) · trigger ${s.trigger_source}${s.trigger_source !== "immediately" ? ` ${si(s.threshold, "V")}` : ""} · ${new Date(t.ended * 1000).toISOString()}`;
  }

  export(kind) {
    const t = this.st.trace;
    if (!t) return this.fail(new FieldError("export", "nothing to export yet: take a trace"));
    const name = `scope-${t.board}-${t.id}`;
    if (kind === "png") downloadPNG(`${name}.png`, [this.plot.canvas()]);
    else downloadCSV(`${name}.csv`, { time_s: this.x, ch1_V: t.ch1, ch2_V: t.ch2 }, [`rpbus scope trace ${t.id} of board ${t.board}`, `settings ${JSON.stringify(t.settings)}`]);
  }
}
