// The event strip: the done events of every board (rp.*.*.done), this
// page's and every other client's. Clicking one shows it in its panel.
// The page's own continuous acquisitions are counted, not listed.
//
// A done event carries the whole result (64 KiB a scope trace, 200 KiB a
// spectrum), so while this page runs a continuous loop the strip stops
// listening to that loop's modules: the loop's own events (and the scope
// traces a spectrum is made of) would triple what the page receives, and
// make the scope service publish events nobody else may want.

import { decode } from "../../clients/js/src/codec.js";
import { errorFromReply } from "../../clients/js/src/errors.js";
import { si } from "./si.js";

const KEEP = 60;
/** The modules whose done events the strip can listen to one by one. */
const MODULES = ["scope", "na", "specan"];

export class EventStrip {
  constructor(app) {
    this.app = app;
    this.list = document.querySelector("#events");
    this.st = app.state.events = { seen: 0, own: 0, shown: [], paused: [] };
    this.note = document.querySelector("#events-note");
    this.pauses = new Map();
    this.subs = [];
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

  /** Subscribes to every done event, or to the modules nothing pauses. */
  listen() {
    const paused = new Set([...this.pauses.values()].flat());
    const key = [...paused].sort().join();
    if (this.subs.length > 0 && key === this.key) return;
    this.key = key;
    for (const s of this.subs) s.unsubscribe();
    const subjects = paused.size === 0 ? ["rp.*.*.done"] : MODULES.filter((m) => !paused.has(m)).map((m) => `rp.*.${m}.done`);
    this.subs = subjects.map((subject) => this.app.rp.nc.subscribe(subject));
    for (const sub of this.subs) this.run(sub);
    this.st.paused = [...paused];
    this.note.textContent = paused.size === 0 ? "" : `${[...paused].join(", ")} events paused while this page runs continuous`;
  }

  async run(sub) {
    for await (const m of sub) {
      this.st.seen++;
      const [, board, module] = m.subject.split(".");
      let ev;
      try {
        ev = decode(m.data) ?? {};
      } catch {
        continue;
      }
      const err = errorFromReply(m, m.subject);
      if (this.app.ownIds.has(ev.id)) {
        this.st.own++;
        continue;
      }
      this.add({ board, module, ev, err });
    }
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
