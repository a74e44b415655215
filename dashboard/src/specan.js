// The spectrum analyzer panel: single and continuous (panel.js) spectra
// of both channels with a marker on channel 1's peak (frequency and level).

import { Plot, downloadCSV, downloadPNG } from "./plot.js";
import { FieldError } from "./form.js";
import { AcquisitionPanel } from "./panel.js";
import { $, RateMeter, colored, origin } from "./util.js";
import { fixed, si } from "./si.js";

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

export class SpecanPanel extends AcquisitionPanel {
  constructor(app) {
    // A spectrum's done event, and the scope traces it is made of.
    super(app, "specan", ["specan", "scope"]);
    Object.assign(this.st, { updates: 0, ups: 0, spectrum: null, peak: null });
    this.meter = new RateMeter(2000);
    this.unit = this.form.unit.value;
    this.plot = this.makePlot();
    // Axes before the first spectrum: the default span's 0 to 7.8125 MHz.
    this.plot.setData([new Float64Array(0), new Float64Array(0), new Float64Array(0)], [0, 125e6 / 8 / 2]);
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

  acquire(board, s, options) {
    return board.specan.single(s, options);
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
    // A single result's line at once; a running loop's four times a second.
    if (this.st.mode !== "continuous") this.status();
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
    // PyRPL's span is the sample rate: the spectrum shows 0 to span/2.
    if (sp) parts.push(`${sp.board} · span ${si(sp.settings.span, "Hz", 4)} (0 to ${si(sp.settings.span / 2, "Hz", 4)}) · rbw ${si(sp.rbw, "Hz", 4)} · ${sp.settings.window} · ${sp.traces} trace${sp.traces === 1 ? "" : "s"}`);
    const from = sp && origin(sp, this.st.source);
    if (from) parts.push(from);
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
