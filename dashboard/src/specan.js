// The spectrum analyzer panel: single and continuous spectra of both
// channels with a marker on channel 1's peak (frequency and level).
// Continuous repeats singles, two in flight, as the scope panel does.

import { Plot, downloadCSV, downloadPNG } from "./plot.js";
import { FieldError, clearErrors, readSettings, showError } from "./form.js";
import { $, FrameScheduler, RateMeter, colored, isCancel, newId } from "./util.js";
import { fixed, si } from "./si.js";

const WORKERS = 2;

/** The unit as printed: dB(Vpk^2) -> dB(Vpk²). */
function pretty(unit) {
  return unit.replaceAll("^2", "²").replace("sqrt(Hz)", "√Hz");
}

/** A level in its unit, with a prefix where that reads well. */
export function level(v, unit) {
  if (unit.startsWith("dB")) return `${fixed(v, 2)} ${pretty(unit)}`;
  if (unit.includes("^2")) return `${v.toExponential(3)} ${pretty(unit)}`;
  return si(v, pretty(unit));
}

export class SpecanPanel {
  constructor(app) {
    this.app = app;
    this.root = $("#specan");
    this.form = $("#specan-form");
    this.error = $("p.error", this.root);
    this.st = app.state.specan = { mode: "idle", updates: 0, ups: 0, spectrum: null, peak: null, source: "" };
    this.meter = new RateMeter(2000);
    this.frame = new FrameScheduler(() => this.draw());
    this.unit = this.form.unit.value;
    this.plot = this.makePlot();
    this.form.addEventListener("click", (e) => {
      const act = e.target.dataset?.act;
      if (act) this[act]();
    });
    this.form.addEventListener("submit", (e) => e.preventDefault());
    for (const b of this.root.querySelectorAll("[data-export]")) b.addEventListener("click", () => this.export(b.dataset.export));
    this.readout(null);
    setInterval(() => this.status(), 250);
  }

  makePlot() {
    const u = this.unit;
    const db = u.startsWith("dB");
    return new Plot($("#specan-plot"), {
      title: () => this.title(),
      x: { unit: "Hz", label: "frequency" },
      y: db ? { unit: "dB", ticks: "plain", label: pretty(u) } : { unit: u.includes("^2") ? "" : "V", label: pretty(u), ticks: u.includes("^2") ? "exp" : "si" },
      series: [
        { label: "ch1", color: "--ch1" },
        { label: "ch2", color: "--ch2" },
      ],
      onCursor: (i) => this.readout(i),
      marker: () => this.st.peak && { x: this.st.peak.frequency, y: this.st.peak.level, text: `${si(this.st.peak.frequency, "Hz", 5)}, ${level(this.st.peak.level, this.st.peak.unit)}` },
    });
  }

  setBoard() {
    this.stop();
  }

  fail(err) {
    if (isCancel(err)) return;
    this.st.lastError = err.message;
    showError(this.form, this.error, err);
  }

  settings() {
    clearErrors(this.form);
    this.error.hidden = true;
    return readSettings(this.form);
  }

  async single() {
    this.halt();
    let s;
    try {
      s = this.settings();
    } catch (err) {
      return this.fail(err);
    }
    this.setMode("single");
    try {
      this.show(await this.app.board().specan.single(s, { signal: this.ctl.signal }), "single");
    } catch (err) {
      this.fail(err);
    } finally {
      if (this.st.mode === "single") this.setMode("idle");
    }
  }

  async continuous() {
    this.halt();
    let s;
    try {
      s = this.settings();
    } catch (err) {
      return this.fail(err);
    }
    const signal = this.ctl.signal;
    const board = this.app.board();
    this.setMode("continuous");
    // A spectrum's done event and the scope traces it is made of.
    this.app.strip.pause("specan", ["specan", "scope"]);
    const worker = async () => {
      while (!signal.aborted) {
        const id = newId("live");
        this.app.markOwn(id);
        const sp = await board.specan.single({ ...s, id }, { signal });
        // Ask for the next spectrum at once unless the last one is still undrawn.
        const behind = this.frame.pending;
        this.show(sp, "continuous");
        if (behind) await this.frame.drawn();
      }
    };
    try {
      await Promise.all(Array.from({ length: WORKERS }, worker));
    } catch (err) {
      if (!signal.aborted) {
        this.ctl.abort();
        this.fail(err);
      }
    } finally {
      if (this.ctl.signal === signal) this.setMode("idle");
      if (this.st.mode !== "continuous") this.app.strip.resume("specan");
    }
  }

  stop() {
    this.halt();
    this.setMode("idle");
  }

  halt() {
    this.ctl?.abort();
    this.ctl = new AbortController();
  }

  setMode(mode) {
    this.st.mode = mode;
    for (const b of this.form.querySelectorAll("[data-act]")) b.classList.toggle("running", b.dataset.act === mode);
  }

  show(sp, source) {
    this.st.spectrum = sp;
    this.st.source = source;
    this.st.updates++;
    this.meter.tick();
    this.frame.request();
  }

  draw() {
    const sp = this.st.spectrum;
    if (!sp) return;
    const unit = sp.settings.unit;
    if (unit !== this.unit) {
      this.unit = unit;
      this.plot.destroy();
      this.plot = this.makePlot();
    }
    this.st.peak = peakOf(sp);
    this.plot.spec.series[0].label = `ch1 · ${sp.settings.input1}`;
    this.plot.spec.series[1].label = `ch2 · ${sp.settings.input2}`;
    this.plot.setData([sp.frequencies, sp.ch1, sp.ch2]);
  }

  readout(i) {
    const el = $("#specan-readout");
    const d = this.plot?.full;
    const sp = this.st.spectrum;
    if (i === null || i === undefined || !d || !sp || i >= d[0].length) {
      const p = this.st.peak;
      el.textContent = p ? `peak ch1: ${si(p.frequency, "Hz", 5)}, ${level(p.level, p.unit)}` : "hover for values";
      return;
    }
    const u = sp.settings.unit;
    el.replaceChildren(`f = ${si(d[0][i], "Hz", 5)}   `, colored("ch1", `ch1 = ${level(d[1][i], u)}`), "   ", colored("ch2", `ch2 = ${level(d[2][i], u)}`));
  }

  status() {
    this.st.ups = this.meter.rate();
    const sp = this.st.spectrum;
    const parts = [];
    if (sp) parts.push(`${sp.board} · span ${si(sp.settings.span, "Hz", 4)} · rbw ${si(sp.rbw, "Hz", 4)} · ${sp.settings.window} · ${sp.traces} trace${sp.traces === 1 ? "" : "s"}`);
    if (this.st.source === "event") parts.push(`event ${sp.id}`);
    if (this.st.mode === "continuous") parts.push(`${this.st.ups.toFixed(1)} spectra/s`);
    $("#specan-status").textContent = parts.join(" · ");
    if (!this.plot.u.cursor.idx && this.st.peak) this.readout(null);
  }

  title() {
    const sp = this.st.spectrum;
    if (!sp) return "spectrum";
    const s = sp.settings;
    return `spectrum · ${sp.board} · span ${si(s.span, "Hz", 4)} · rbw ${si(sp.rbw, "Hz", 4)} · ${s.window} · ${sp.traces} averaged · ${new Date(sp.ended * 1000).toISOString()}`;
  }

  export(kind) {
    const sp = this.st.spectrum;
    if (!sp) return this.fail(new FieldError("export", "nothing to export yet: take a spectrum"));
    const name = `specan-${sp.board}-${sp.id}`;
    if (kind === "png") return downloadPNG(`${name}.png`, [this.plot.canvas()]);
    const u = sp.settings.unit;
    downloadCSV(`${name}.csv`, { frequency_Hz: sp.frequencies, [`ch1_${u}`]: sp.ch1, [`ch2_${u}`]: sp.ch2 }, [`rpbus spectrum ${sp.id} of board ${sp.board}`, `settings ${JSON.stringify(sp.settings)}`, `rbw ${sp.rbw} Hz, enbw ${sp.enbw} Hz`]);
  }
}

/** Channel 1's largest bin above the lowest few (DC and the window's skirt around it). */
function peakOf(sp) {
  const f = sp.frequencies;
  const y = sp.ch1;
  const skip = Math.max(2, Math.ceil((3 * (sp.rbw || 0)) / (f[1] - f[0] || 1)));
  let best = -1;
  for (let i = skip; i < y.length; i++) if (best < 0 || y[i] > y[best]) best = i;
  if (best < 0) return null;
  return { frequency: f[best], level: y[best], unit: sp.settings.unit };
}
