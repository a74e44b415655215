// A generator's form: shows the board's current setting (a setup with no
// fields changes nothing and answers the whole state) and applies edits.

import { clearErrors, readSettings, showError } from "./form.js";
import { si } from "./si.js";

export class GeneratorForm {
  constructor(app, name) {
    this.app = app;
    this.name = name;
    this.form = document.querySelector(`form[data-asg="${name}"]`);
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
