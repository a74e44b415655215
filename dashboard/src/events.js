// The event strip: the done events of every board (rp.*.<module>.done),
// this page's and every other client's. Clicking one shows it in its
// panel. The page's own continuous acquisitions are counted, not listed.
//
// A done event carries the whole result (64 KiB a scope trace, 200 KiB a
// spectrum), and a service publishes it only while someone listens. So
// the strip samples: per module it takes at most PER_WINDOW events a
// WINDOW, then stops listening until the window ends. A notebook taking
// traces as fast as the board gives them keeps its speed with a page open
// (with the simulator's bus time off, 1000 traces a second, listening to
// every event held a Go client to 0.23 of its rate), and the strip still
// shows that the board is busy. While this page runs a continuous loop it
// stops listening to that loop's modules altogether.

import { decode } from "../../clients/js/src/codec.js";
import { errorFromReply } from "../../clients/js/src/errors.js";
import { si } from "./si.js";

const KEEP = 60;
/** The modules whose done events the strip follows. */
const MODULES = ["scope", "na", "specan"];
/** At most PER_WINDOW events per module every WINDOW ms. */
const PER_WINDOW = 3;
const WINDOW = 1000;

export class EventStrip {
  constructor(app) {
    this.app = app;
    this.list = document.querySelector("#events");
    this.st = app.state.events = { seen: 0, own: 0, shown: [], paused: [], sampled: {} };
    this.note = document.querySelector("#events-note");
    this.pauses = new Map();
    this.subs = new Set();
    this.generation = 0;
    this.listen();
  }

  /** Stops listening to modules' done events while reason lasts. */
  pause(reason, modules) {
    this.pauses.set(reason, modules);
    this.listen();
  }

  resume(reason) {
    if (this.pauses.delete(reason)) this.listen();
  }

  /** Listens to the done events of every module nothing pauses. */
  listen() {
    const paused = new Set([...this.pauses.values()].flat());
    const key = [...paused].sort().join();
    if (this.generation > 0 && key === this.key) return;
    this.key = key;
    const generation = ++this.generation;
    for (const s of this.subs) s.unsubscribe();
    this.subs.clear();
    for (const m of MODULES) if (!paused.has(m)) this.follow(m, generation);
    this.st.paused = [...paused];
    this.note.textContent = paused.size === 0 ? "" : `${[...paused].join(", ")} events paused while this page runs continuous`;
  }

  /** Takes module's done events, PER_WINDOW a WINDOW, until listen() starts anew. */
  async follow(module, generation) {
    const subject = `rp.*.${module}.done`;
    while (generation === this.generation && !this.app.rp.nc.isClosed()) {
      const start = performance.now();
      const sub = this.app.rp.nc.subscribe(subject, { max: PER_WINDOW });
      this.subs.add(sub);
      let n = 0;
      for await (const m of sub) {
        n++;
        this.take(m);
      }
      this.subs.delete(sub);
      // Fewer than PER_WINDOW: unsubscribed by listen(), or the connection closed.
      if (n < PER_WINDOW) return;
      const rest = WINDOW - (performance.now() - start);
      this.st.sampled[module] = (this.st.sampled[module] ?? 0) + 1;
      if (rest > 0) await new Promise((r) => setTimeout(r, rest));
    }
  }

  take(m) {
    this.st.seen++;
    const [, board, module] = m.subject.split(".");
    let ev;
    try {
      ev = decode(m.data) ?? {};
    } catch {
      return;
    }
    const err = errorFromReply(m, m.subject);
    if (this.app.ownIds.has(ev.id)) {
      this.st.own++;
      return;
    }
    this.add({ board, module, ev, err });
  }

  add({ board, module, ev, err }) {
    const at = new Date((ev.ended ?? Date.now() / 1000) * 1000);
    const entry = { id: ev.id, board, module, failed: !!err, at: at.toISOString(), summary: summary(module, ev) };
    this.st.shown.unshift(entry);
    this.st.shown.length = Math.min(this.st.shown.length, KEEP);
    const li = document.createElement("li");
    li.className = `${module}${err ? " failed" : ""}`;
    li.dataset.id = ev.id ?? "";
    const b = document.createElement("button");
    b.type = "button";
    b.title = err ? `${err.code}: ${err.message}` : `${module} ${ev.id} on ${board}: click to show`;
    const head = document.createElement("span");
    head.textContent = `${at.toLocaleTimeString([], { hour12: false })} ${board} ${module}`;
    const small = document.createElement("small");
    small.textContent = err ? `failed ${err.code}` : entry.summary;
    b.append(head, small);
    b.addEventListener("click", () => this.open(li, module, ev, err));
    li.append(b);
    this.list.prepend(li);
    while (this.list.children.length > KEEP) this.list.lastElementChild.remove();
  }

  open(li, module, ev, err) {
    const panel = this.app.panels[module];
    if (!panel) return;
    for (const e of this.list.querySelectorAll(".shown")) e.classList.remove("shown");
    li.classList.add("shown");
    this.app.showTab(module);
    panel.halt?.();
    panel.setMode?.("idle");
    if (err) {
      panel.error.textContent = `${err.code}: ${err.message} (event ${ev.id ?? ""})`;
      panel.error.hidden = false;
      return;
    }
    panel.error.hidden = true;
    panel.show(ev, "event");
    this.app.state.shownEvent = ev.id;
  }
}

function summary(module, ev) {
  const s = ev.settings ?? {};
  if (module === "scope") return `${si(s.duration, "s", 3)} · ${s.input1}/${s.input2}`;
  if (module === "na") return `${si(s.start_freq, "Hz", 3)}–${si(s.stop_freq, "Hz", 3)} · ${ev.frequencies?.length ?? 0} pts`;
  if (module === "specan") return `span ${si(s.span, "Hz", 3)} · ${s.window}`;
  return ev.id ?? "";
}
