// The network analyzer panel: a sweep with its settings, a Bode plot
// (magnitude in dB and phase in degrees over a log frequency axis) that
// fills in point by point from na.progress, the resonance marked, cancel.

import { Plot, downloadCSV, downloadPNG } from "./plot.js";
import { FieldError, clearErrors, readSettings, showError } from "./form.js";
import { $, FrameScheduler, colored, isCancel, newId, origin } from "./util.js";
import { fixed, si } from "./si.js";

const RAD = 180 / Math.PI;

export class NAPanel {
  constructor(app) {
    this.app = app;
    this.root = $("#na");
    this.form = $("#na-form");
    this.error = $("p.error", this.root);
    this.progressBar = $("#na-progress");
    this.st = app.state.na = { mode: "idle", id: "", done: 0, total: 0, progressEvents: 0, points: 0, trace: null, peak: null, source: "" };
    this.pts = { f: [], re: [], im: [] };
    this.frame = new FrameScheduler(() => this.draw());
    const color = () => (this.input() === "in2" ? "--ch2" : "--ch1");
    const x = { unit: "Hz", log: true, label: "frequency" };
    this.mag = new Plot($("#na-mag"), {
      title: () => this.title(),
      x,
      y: { unit: "dB", ticks: "plain", label: "magnitude" },
      series: [{ label: "|H|", get color() { return color(); }, points: true }],
      sync: "na",
      onCursor: (i) => this.readout(i),
      marker: () => this.st.peak && { x: this.st.peak.frequency, y: this.st.peak.db, text: `peak ${si(this.st.peak.frequency, "Hz", 5)}, ${fixed(this.st.peak.db, 2)} dB` },
    });
    this.phase = new Plot($("#na-phase"), {
      title: () => "",
      x,
      y: { unit: "°", ticks: "plain", label: "phase", range: (min, max) => phaseRange(min, max), incrs: [1, 5, 15, 30, 45, 90, 180] },
      series: [{ label: "arg H", get color() { return color(); }, points: true }],
      sync: "na",
    });
    this.form.addEventListener("click", (e) => {
      const act = e.target.dataset?.act;
      if (act) this[act]();
    });
    this.form.addEventListener("submit", (e) => e.preventDefault());
    for (const b of this.root.querySelectorAll("[data-export]")) b.addEventListener("click", () => this.export(b.dataset.export));
    this.readout(null);
  }

  input() {
    return this.st.trace?.settings?.input ?? this.form.input.value;
  }

  setBoard() {}

  fail(err) {
    if (isCancel(err)) {
      $("#na-status").textContent = "cancelled";
      return;
    }
    this.st.lastError = err.message;
    showError(this.form, this.error, err);
  }

  async run() {
    clearErrors(this.form);
    this.error.hidden = true;
    let s;
    try {
      s = readSettings(this.form);
    } catch (err) {
      return this.fail(err);
    }
    const board = this.app.board();
    const id = newId("na");
    Object.assign(this.st, { mode: "running", id, done: 0, total: s.points ?? 0, progressEvents: 0, peak: null, trace: null, source: "sweep", board: board.name });
    this.pts = { f: [], re: [], im: [] };
    this.range = [Math.min(s.start_freq ?? 1e3, s.stop_freq ?? 10e6), Math.max(s.start_freq ?? 1e3, s.stop_freq ?? 10e6)];
    this.logscale = s.logscale ?? true;
    this.frame.request();
    const progress = board.na.progress({ id });
    (async () => {
      for await (const p of progress) {
        this.st.progressEvents++;
        Object.assign(this.st, { done: p.done, total: p.total });
        if (Number.isFinite(p.frequency) && p.frequency > 0) {
          this.pts.f.push(p.frequency);
          this.pts.re.push(p.re);
          this.pts.im.push(p.im);
        }
        this.frame.request();
      }
    })();
    try {
      const t = await board.na.single({ ...s, id });
      this.show(t, "sweep");
      if (t.curve) this.app.saved();
    } catch (err) {
      this.fail(err);
    } finally {
      progress.close();
      if (this.st.id === id) this.st.mode = "idle";
    }
  }

  async cancel() {
    if (this.st.mode !== "running") return;
    try {
      await this.app.board().na.cancel(this.st.id);
    } catch (err) {
      this.fail(err);
    }
  }

  /** Shows a whole trace (a reply or a done event). */
  show(t, source) {
    this.st.trace = t;
    this.st.source = source;
    this.pts = { f: Array.from(t.frequencies), re: Array.from(t.re), im: Array.from(t.im) };
    this.st.done = this.st.total = t.frequencies.length;
    this.range = null;
    this.logscale = t.settings?.logscale ?? true;
    this.st.peak = peakOf(this.pts);
    this.frame.request();
  }

  draw() {
    const { f, re, im } = this.pts;
    const order = f.map((_, i) => i).sort((a, b) => f[a] - f[b]);
    const x = order.map((i) => f[i]);
    const db = order.map((i) => 20 * Math.log10(Math.hypot(re[i], im[i])));
    const deg = order.map((i) => Math.atan2(im[i], re[i]) * RAD);
    this.st.points = x.length;
    if (this.mag.spec.x.log !== this.logscale) {
      this.mag.spec.x = this.phase.spec.x = { ...this.mag.spec.x, log: this.logscale };
      this.mag.rebuild();
      this.phase.rebuild();
    }
    this.mag.setData([x, db], this.range);
    this.phase.setData([x, deg], this.range);
    this.progressBar.max = this.st.total || 1;
    this.progressBar.value = this.st.done;
    const t = this.st.trace;
    const from = t && origin(t, this.st.source);
    $("#na-status").textContent = t
      ? `${t.board} · ${t.iq} · ${x.length} points · rbw ${si(t.settings.rbw, "Hz", 4)} · ${si(t.hardware_time, "s", 3)} on the FPGA${from ? ` · ${from}` : ""}`
      : `${this.st.done} / ${this.st.total} points`;
    this.readout(this.mag.u.cursor.idx);
  }

  readout(i) {
    const el = $("#na-readout");
    const d = this.mag.full;
    if (i === null || i === undefined || !d || i >= d[0].length) {
      const p = this.st.peak;
      el.textContent = p ? `peak: ${si(p.frequency, "Hz", 5)}, ${fixed(p.db, 2)} dB, ${fixed(p.deg, 1)}°` : "hover for values";
      return;
    }
    const cls = this.input() === "in2" ? "ch2" : "ch1";
    el.replaceChildren(`f = ${si(d[0][i], "Hz", 5)}   `, colored(cls, `|H| = ${fixed(d[1][i], 2)} dB   arg H = ${fixed(this.phase.full[1][i], 1)}°`));
  }

  title() {
    const t = this.st.trace;
    if (!t) return "network analyzer";
    const s = t.settings;
    return `network analyzer · ${t.board} · ${s.input} / ${s.output_direct} · ${si(s.amplitude, "V")} · rbw ${si(s.rbw, "Hz", 4)} · ${new Date(t.ended * 1000).toISOString()}`;
  }

  export(kind) {
    const t = this.st.trace;
    if (!t) return this.fail(new FieldError("export", "nothing to export yet: run a sweep"));
    const name = `na-${t.board}-${t.id}`;
    if (kind === "png") return downloadPNG(`${name}.png`, [this.mag.canvas(), this.phase.canvas()]);
    const mag = Array.from(t.re, (r, i) => 20 * Math.log10(Math.hypot(r, t.im[i])));
    const deg = Array.from(t.re, (r, i) => Math.atan2(t.im[i], r) * RAD);
    downloadCSV(`${name}.csv`, { frequency_Hz: t.frequencies, re: t.re, im: t.im, magnitude_dB: mag, phase_deg: deg }, [`rpbus na trace ${t.id} of board ${t.board}`, `settings ${JSON.stringify(t.settings)}`]);
  }
}

/** The point of largest magnitude. */
function peakOf({ f, re, im }) {
  let best = -1;
  let m = -Infinity;
  for (let i = 0; i < f.length; i++) {
    const a = Math.hypot(re[i], im[i]);
    if (a > m) {
      m = a;
      best = i;
    }
  }
  if (best < 0) return null;
  return { frequency: f[best], db: 20 * Math.log10(m), deg: Math.atan2(im[best], re[best]) * RAD };
}

function phaseRange(min, max) {
  if (!Number.isFinite(min)) return [-180, 180];
  const lo = Math.floor(min / 45) * 45;
  const hi = Math.ceil(max / 45) * 45;
  return lo === hi ? [lo - 45, hi + 45] : [lo, hi];
}
