// A generator's form: shows the board's current setting (a setup with no
// fields changes nothing and answers the whole state) and applies edits.

import { clearErrors, readSettings, showError } from "./form.js";
import { si } from "./si.js";

const WAVEFORMS = ["sin", "cos", "ramp", "halframp", "square", "dc", "noise"];
const OUTPUTS = ["off", "out1", "out2", "both"];

/** One labelled field with its error slot. */
function field(label, control) {
  return `<label><span>${label}</span>${control}<small class="field-error" hidden></small></label>`;
}

const options = (list) => list.map((v) => `<option>${v}</option>`).join("");

/** The form's fields; the board's state fills them in. */
function formHTML(name) {
  return `<h3><span class="swatch" style="background: var(--${name})"></span>${name}</h3>
    ${field("waveform", `<select name="waveform">${options(WAVEFORMS)}</select>`)}
    ${field("frequency", '<input name="frequency" data-kind="number" title="Hz: 1.5M, 200k">')}
    ${field("amplitude", '<input name="amplitude" data-kind="number" title="V">')}
    ${field("offset", '<input name="offset" data-kind="number" title="V">')}
    ${field("output", `<select name="output_direct">${options(OUTPUTS)}</select>`)}
    <div class="row"><button type="submit">Apply</button><span class="state"></span></div>
    <p class="error" hidden></p>`;
}

export class GeneratorForm {
  constructor(app, name) {
    this.app = app;
    this.name = name;
    this.form = document.querySelector(`form[data-asg="${name}"]`);
    this.form.innerHTML = formHTML(name);
    this.error = this.form.querySelector("p.error");
    this.stateEl = this.form.querySelector(".state");
    this.st = app.state[name] = { applied: null };
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.apply();
    });
  }

  async setBoard() {
    try {
      this.fill(await this.app.board()[this.name].setup({}));
    } catch (err) {
      this.fail(err);
    }
  }

  fail(err) {
    this.stateEl.textContent = "";
    showError(this.form, this.error, err);
  }

  async apply() {
    clearErrors(this.form);
    this.error.hidden = true;
    try {
      const s = readSettings(this.form);
      this.fill(await this.app.board()[this.name].setup(s));
    } catch (err) {
      this.fail(err);
    }
  }

  /** Shows the generator's state as the board applied it. */
  fill(g) {
    this.st.applied = g;
    const f = this.form;
    f.waveform.value = g.waveform;
    f.frequency.value = si(g.frequency, "", 7).replace(" ", "");
    f.amplitude.value = String(+g.amplitude.toFixed(4));
    f.offset.value = String(+g.offset.toFixed(4));
    f.output_direct.value = g.output_direct;
    this.stateEl.textContent = g.output_direct === "off" ? "output off" : `on ${g.output_direct}: ${si(g.frequency, "Hz", 5)}, ${si(g.amplitude, "V", 3)}`;
  }
}
