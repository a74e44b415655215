// Small things every panel uses.

export const $ = (s, root = document) => root.querySelector(s);

/** Signals an input select may choose (docs/protocol.md). */
export const SIGNALS = ["in1", "in2", "out1", "out2", "asg0", "asg1", "iq0", "iq1", "iq2", "iq2_2", "pid0", "pid1", "pid2"];

/** A fresh acquisition id (crypto.randomUUID needs a secure context). */
export function newId(prefix = "dash") {
  const b = crypto.getRandomValues(new Uint8Array(9));
  return `${prefix}-${Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("")}`;
}

/** Whether err is the 499 of an acquisition this page cancelled itself. */
export function isCancel(err) {
  return err?.code === 499;
}

/** Frames per second over a sliding window of timestamps (ms). */
export class RateMeter {
  constructor(windowMs = 1000) {
    this.windowMs = windowMs;
    this.times = [];
    this.count = 0;
  }
  tick(now = performance.now()) {
    this.count++;
    this.times.push(now);
    while (this.times.length > 0 && this.times[0] < now - this.windowMs) this.times.shift();
  }
  /** Events per second over the window. */
  rate(now = performance.now()) {
    while (this.times.length > 0 && this.times[0] < now - this.windowMs) this.times.shift();
    return (this.times.length * 1000) / this.windowMs;
  }
}

/** Runs fn at the next animation frame once, however often it is asked for. */
export class FrameScheduler {
  constructor(fn) {
    this.fn = fn;
    this.pending = false;
    this.waiters = [];
  }
  request() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.fn();
      const w = this.waiters;
      this.waiters = [];
      for (const r of w) r();
    });
  }
  /**
   * Resolves once the next requested frame has been drawn, or after
   * 250 ms: a hidden tab draws no frames, and then asks for 4 a second.
   */
  drawn() {
    return new Promise((r) => {
      const timer = setTimeout(r, 250);
      this.waiters.push(() => {
        clearTimeout(timer);
        r();
      });
    });
  }
}

/** A span of class cls (a channel's colour) holding text. */
export function colored(cls, text) {
  const s = document.createElement("span");
  s.className = cls;
  s.textContent = text;
  return s;
}

/**
 * Where a shown result came from, for a panel's status line: an event of
 * another client, a stored curve (name or id), or this page's acquisition
 * that was saved; "" for a plain acquisition.
 */
export function origin(t, source) {
  if (source === "event") return `event ${t.id}`;
  if (source === "curve") return `stored curve ${t.meta?.name ? `"${t.meta.name}"` : t.meta?.id ?? ""}`;
  if (t.curve) return `saved as curve ${t.curve}`;
  return "";
}
