// What the scope and spectrum panels share: a settings form whose buttons
// name methods (data-act), field errors, Single, and Continuous as a loop
// of singles.
//
// Continuous repeats singles, two in flight; a worker whose result arrives
// while the last one is still undrawn waits for the next frame before it
// asks again, so the page takes about as many results as it can show
// (the scope service's own continuous mode publishes every trace, up to
// 150 a second at decimation 1 on a board, more than a page draws).
// While it runs, the event strip stops listening to the panel's modules:
// the loop's own done events would double what the page receives. Save
// (the curve store) applies to Single only.

import { clearErrors, readSettings, showError, withoutSave } from "./form.js";
import { $, FrameScheduler, isCancel, newId } from "./util.js";

const WORKERS = 2;

export class AcquisitionPanel {
  /**
   * @param {object} app
   * @param {string} id the panel's element id; its form is #<id>-form
   * @param {string[]} modules whose done events a continuous loop makes
   */
  constructor(app, id, modules) {
    this.app = app;
    this.id = id;
    this.modules = modules;
    this.root = $(`#${id}`);
    this.form = $(`#${id}-form`);
    this.error = $("p.error", this.root);
    this.st = app.state[id] = { mode: "idle", source: "", errors: 0 };
    this.frame = new FrameScheduler(() => this.draw());
    this.form.addEventListener("click", (e) => {
      const act = e.target.dataset?.act;
      if (act) this[act]();
    });
    this.form.addEventListener("submit", (e) => e.preventDefault());
    for (const b of this.root.querySelectorAll("[data-export]")) b.addEventListener("click", () => this.export(b.dataset.export));
  }

  setBoard() {
    this.stop();
  }

  fail(err) {
    if (isCancel(err)) return;
    this.st.errors++;
    this.st.lastError = err.message;
    showError(this.form, this.error, err);
  }

  /** Ends what runs and reads the form: the settings, or null after showing why not. */
  begin() {
    this.halt();
    clearErrors(this.form);
    this.error.hidden = true;
    try {
      return readSettings(this.form);
    } catch (err) {
      this.fail(err);
      return null;
    }
  }

  /** One acquisition: acquire(board, settings, options) resolves to what show() takes. */
  async single() {
    const s = this.begin();
    if (!s) return;
    this.setMode("single");
    try {
      const r = await this.acquire(this.app.board(), s, { signal: this.ctl.signal });
      this.show(r, "single");
      if (r.curve) this.app.saved();
    } catch (err) {
      this.fail(err);
    } finally {
      if (this.st.mode === "single") this.setMode("idle");
    }
  }

  /** Continuous: body(board, settings, signal) runs until stopped; by default the loop of singles. */
  async continuous(body = (board, s, signal) => this.loop(board, s, signal)) {
    const read = this.begin();
    if (!read) return;
    // Save is for a single: a loop of singles would store every frame.
    const s = withoutSave(read);
    const signal = this.ctl.signal;
    this.setMode("continuous");
    this.app.strip.pause(this.id, this.modules);
    try {
      await body(this.app.board(), s, signal);
    } catch (err) {
      if (!signal.aborted) {
        this.ctl.abort();
        this.fail(err);
      }
    } finally {
      if (this.ctl.signal === signal) this.setMode("idle");
      if (this.st.mode !== "continuous") this.app.strip.resume(this.id);
    }
  }

  async loop(board, s, signal) {
    const worker = async () => {
      while (!signal.aborted) {
        const id = newId("live");
        this.app.markOwn(id);
        const r = await this.acquire(board, { ...s, id }, { signal });
        // Ask for the next at once unless the last one is still undrawn.
        const behind = this.frame.pending;
        this.show(r, "continuous");
        if (behind) await this.frame.drawn();
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, worker));
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
}
