// The curves panel: the curve store (rp.curves.*, services/curves) as a
// table. Filters (board, instrument, name prefix, tag) go to
// rp.curves.list as they are; a row opens in the editor, where the
// curve's name, tags, note and keep are changed with rp.curves.update and
// the curve deleted with rp.curves.delete (a second click confirms). View
// fetches the stored trace (rp.curves.get) and shows it in its
// instrument's panel: the scope's trace plot, the network analyzer's Bode
// plot, the spectrum, with their cursor and exports.

import { clearErrors, readSettings, showError, splitList } from "./form.js";
import { $, isCancel } from "./util.js";
import { si } from "./si.js";

/** Rows per page of rp.curves.list; More asks for the next. */
const PAGE = 50;

export class CurvesPanel {
  constructor(app) {
    this.app = app;
    this.root = $("#curves");
    this.form = $("#curves-form");
    this.edit = $("#curve-edit");
    this.error = $("p.error", this.root);
    this.body = $("#curves-table tbody");
    this.listing = 0; // counts lists, so that only the newest one shows
    this.st = app.state.curves = { list: [], next: "", store: null, selected: "", lists: 0, query: {}, lastError: "" };
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.list();
    });
    this.form.addEventListener("change", () => this.list());
    $("#curves-more").addEventListener("click", () => this.list({ more: true }));
    this.edit.addEventListener("submit", (e) => e.preventDefault());
    this.edit.addEventListener("click", (e) => {
      const act = e.target.dataset?.act;
      if (act) this[act]();
    });
    this.body.addEventListener("click", (e) => {
      const tr = e.target.closest("tr[data-id]");
      if (tr) this.select(tr.dataset.id);
    });
    this.body.addEventListener("dblclick", (e) => {
      const tr = e.target.closest("tr[data-id]");
      if (tr) this.select(tr.dataset.id).then(() => this.view());
    });
    this.select("");
  }

  /** The board filter offers every bridge on the bus. */
  fillBoards() {
    const sel = this.form.elements.namedItem("board");
    const want = ["", ...this.app.state.boards];
    if (Array.from(sel.options, (o) => o.value).join() === want.join()) return;
    const current = sel.value;
    sel.replaceChildren(...want.map((b) => new Option(b || "any", b, false, b === current)));
  }

  fail(err) {
    if (isCancel(err)) return;
    this.st.lastError = err.message;
    showError(this.form, this.error, err);
  }

  clear() {
    clearErrors(this.form);
    clearErrors(this.edit);
    this.error.hidden = true;
  }

  /** Lists the curves the filters match, newest first; more: the next page. */
  async list({ more = false } = {}) {
    this.clear();
    let q;
    try {
      q = readSettings(this.form);
    } catch (err) {
      return this.fail(err);
    }
    const cursor = more ? this.st.next : undefined;
    if (more && !cursor) return;
    const n = ++this.listing;
    try {
      const page = await this.app.rp.curves.list({ ...q, limit: PAGE, cursor });
      if (n !== this.listing) return; // a newer list won
      this.st.list = more ? [...this.st.list, ...page.curves] : page.curves;
      this.st.next = page.next ?? "";
      this.st.store = page.store;
      this.st.query = q;
      this.st.lists++;
      this.render();
    } catch (err) {
      this.fail(err);
    }
  }

  render() {
    const rows = this.st.list.map((c) => {
      const tr = document.createElement("tr");
      tr.dataset.id = c.id;
      tr.className = c.id === this.st.selected ? "selected" : "";
      const cells = [
        // ISO order, local time: sorts and reads the same everywhere.
        new Date((c.saved ?? c.ended) * 1000).toLocaleString("sv-SE"),
        c.instrument,
        c.board,
        c.name ?? "",
        (c.tags ?? []).join(", "),
        describe(c),
        c.keep ? "keep" : "",
      ];
      for (const [i, text] of cells.entries()) {
        const td = document.createElement("td");
        td.textContent = text;
        if (i === 1) td.className = `inst ${c.instrument}`;
        tr.append(td);
      }
      return tr;
    });
    this.body.replaceChildren(...rows);
    $("#curves-more").hidden = !this.st.next;
    const s = this.st.store;
    $("#curves-status").textContent = s
      ? `${this.st.list.length} shown${this.st.next ? " (more)" : ""} · the store: ${s.curves} curves, ${s.kept} kept, ${bytes(s.bytes)} of ${bytes(s.max_bytes)}`
      : "";
    if (this.st.selected && !this.st.list.some((c) => c.id === this.st.selected)) this.select("");
  }

  /** Opens curve id (or nothing, for "") in the editor. */
  async select(id) {
    this.st.selected = id;
    for (const tr of this.body.querySelectorAll("tr")) tr.classList.toggle("selected", tr.dataset.id === id);
    const c = this.st.list.find((x) => x.id === id);
    const f = this.edit.elements;
    this.edit.dataset.confirm = "";
    this.edit.querySelector("[data-act=remove]").textContent = "Delete";
    for (const el of this.edit.querySelectorAll("input, textarea, button")) el.disabled = !c;
    f.namedItem("curve_id").value = c?.id ?? "";
    f.namedItem("name").value = c?.name ?? "";
    f.namedItem("tags").value = (c?.tags ?? []).join(", ");
    f.namedItem("note").value = c?.note ?? "";
    f.namedItem("keep").checked = c?.keep ?? false;
    $("#curve-info").textContent = c ? info(c) : "select a curve: click a row (double-click to view it)";
  }

  /** Fetches the selected curve and shows it in its instrument's panel. */
  async view() {
    const id = this.st.selected;
    if (!id) return;
    this.clear();
    try {
      const t = await this.app.rp.curves.get(id);
      const panel = this.app.panels[t.meta.instrument];
      if (!panel) throw new Error(`curve ${id}: no panel shows ${t.meta.instrument} curves`);
      panel.halt?.();
      panel.setMode?.("idle");
      panel.error.hidden = true;
      this.app.showTab(t.meta.instrument);
      panel.show(t, "curve");
    } catch (err) {
      this.fail(err);
    }
  }

  /** Saves the editor's name, tags, note and keep. */
  async update() {
    const id = this.st.selected;
    if (!id) return;
    this.clear();
    const f = this.edit.elements;
    try {
      const c = await this.app.rp.curves.update(id, {
        name: f.namedItem("name").value.trim(),
        tags: splitList(f.namedItem("tags").value),
        note: f.namedItem("note").value,
        keep: f.namedItem("keep").checked,
      });
      this.st.list = this.st.list.map((x) => (x.id === id ? c : x));
      this.render();
      this.select(id);
      $("#curve-info").textContent = `${info(c)} · updated`;
    } catch (err) {
      // The store names the field: name, tags[2], note.
      showError(this.edit, this.error, err);
      this.st.lastError = err.message;
    }
  }

  /** Deletes the selected curve: the first click asks, the second deletes. */
  async remove() {
    const id = this.st.selected;
    if (!id) return;
    const button = this.edit.querySelector("[data-act=remove]");
    if (this.edit.dataset.confirm !== id) {
      this.edit.dataset.confirm = id;
      button.textContent = "Delete: sure?";
      return;
    }
    this.clear();
    try {
      await this.app.rp.curves.delete(id);
      this.st.list = this.st.list.filter((x) => x.id !== id);
      this.select("");
      this.list();
    } catch (err) {
      this.fail(err);
    }
  }

  /** A curve was saved by one of this page's acquisitions. */
  saved() {
    this.list();
  }
}

/** A curve's size in one cell: samples and what they span. */
function describe(c) {
  const s = c.settings ?? {};
  if (c.instrument === "scope") return `${si(s.duration, "s", 3)} · ${s.input1 ?? ""}/${s.input2 ?? ""}`;
  if (c.instrument === "na") return `${si(s.start_freq, "Hz", 3)}–${si(s.stop_freq, "Hz", 3)} · ${s.points ?? ""} pts`;
  if (c.instrument === "specan") return `span ${si(s.span, "Hz", 3)} · ${s.window ?? ""}`;
  return "";
}

function info(c) {
  const when = c.ended ? new Date(c.ended * 1000).toISOString() : "";
  return `${c.instrument} on ${c.board} · acquisition ${c.acquisition} · ${when} · ${bytes(c.bytes)}`;
}

/** A size in binary units, as --curves-max-bytes takes them: 64 KiB, 512 MiB. */
function bytes(n) {
  if (!Number.isFinite(n)) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : +n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)} ${units[i]}`;
}
