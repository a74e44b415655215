// The dashboard page: connects to NATS over WebSocket with the rpbus
// JavaScript client (its browser build), finds the boards, and wires the
// panels. window.rpdash.state is what the page shows, for tests and for
// a curious user's console.

import "./style.css";
import { connect } from "../../clients/js/src/index.js";
import { restyleAll } from "./plot.js";
import { ScopePanel } from "./scope.js";
import { NAPanel } from "./na.js";
import { SpecanPanel } from "./specan.js";
import { GeneratorForm } from "./asg.js";
import { EventStrip } from "./events.js";
import { CurvesPanel } from "./curves.js";
import { $, SIGNALS } from "./util.js";

/** Seconds between two looks for bridges on the bus. */
const DISCOVER_EVERY = 5;


const state = { connected: false, boards: [], board: "", nats: [], ready: false };
const app = { state, panels: {}, rp: null, ownIds: new Set() };
window.rpdash = app;

/** Remembers ids of this page's own repeated acquisitions (the strip skips them). */
app.markOwn = (id) => {
  app.ownIds.add(id);
  if (app.ownIds.size > 2000) app.ownIds.delete(app.ownIds.values().next().value);
};

app.board = () => app.rp.board(state.board);

/** One of this page's acquisitions was stored as curve id: the curves list shows it. */
app.saved = () => app.panels.curves?.saved();

function setupTheme() {
  const saved = localStorage.getItem("rpbus-theme");
  const dark = matchMedia("(prefers-color-scheme: dark)").matches;
  document.documentElement.dataset.theme = saved ?? (dark ? "dark" : "light");
  $("#theme").addEventListener("click", () => {
    const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
    document.documentElement.dataset.theme = next;
    localStorage.setItem("rpbus-theme", next);
    restyleAll();
  });
}

function setupTabs() {
  for (const tab of document.querySelectorAll("nav [data-tab]")) tab.addEventListener("click", () => showTab(tab.dataset.tab));
}

/** Brings panel name (scope, na, specan, curves) to the front. */
function showTab(name) {
  for (const t of document.querySelectorAll("nav [data-tab]")) t.setAttribute("aria-selected", String(t.dataset.tab === name));
  for (const p of document.querySelectorAll("[data-panel]")) p.hidden = p.dataset.panel !== name;
  state.tab = name;
  if (name === "curves") app.panels.curves?.list();
}
app.showTab = showTab;

function fillSignals() {
  for (const sel of document.querySelectorAll("select.signals")) {
    for (const s of SIGNALS) sel.add(new Option(s, s, false, s === sel.dataset.default));
  }
}

function setConn(text, ok) {
  const el = $("#conn");
  el.textContent = text;
  el.className = `conn ${ok ? "ok" : "bad"}`;
}

/** Asks for a user and password (the server wants them): resolves {user, password}. */
function askLogin(why) {
  const dlg = $("#login");
  $("#login-why").textContent = why;
  dlg.showModal();
  return new Promise((resolve) => {
    dlg.addEventListener(
      "close",
      () => {
        const f = dlg.querySelector("form");
        resolve({ user: f.user.value, password: f.password.value });
      },
      { once: true },
    );
  });
}

async function open(config) {
  let creds = {};
  const saved = sessionStorage.getItem("rpbus-login");
  if (config.auth) creds = saved ? JSON.parse(saved) : await askLogin("The NATS server asks for a user and password (deploy's accounts: operator for control, observer to watch).");
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      const rp = await connect(config.nats, { ...creds, timeout: 5, maxReconnectAttempts: -1 });
      if (config.auth) sessionStorage.setItem("rpbus-login", JSON.stringify(creds));
      return rp;
    } catch (err) {
      if (!/authorization/i.test(err.message)) throw err;
      sessionStorage.removeItem("rpbus-login");
      creds = await askLogin(err.message);
    }
  }
  throw new Error("too many failed logins");
}

/** The boards whose bridges answer micro's $SRV.INFO hwbridge. */
async function discoverBoards(nc) {
  const boards = new Set();
  try {
    const replies = await nc.requestMany("$SRV.INFO.hwbridge", "", { strategy: "timer", maxWait: 400 });
    for await (const m of replies) {
      if (!m.data?.length) continue;
      try {
        const info = JSON.parse(new TextDecoder().decode(m.data));
        if (info.metadata?.board) boards.add(info.metadata.board);
      } catch {
        // a reply that is not micro's INFO: not a bridge
      }
    }
  } catch {
    // no responders: no bridge yet
  }
  return [...boards].sort();
}

function fillBoards(boards) {
  const sel = $("#board");
  const known = new Set(boards);
  if (state.board && !known.has(state.board)) boards = [...boards, state.board];
  const wanted = boards.map((b) => (known.has(b) ? b : `${b} (gone)`));
  const have = Array.from(sel.options, (o) => o.text);
  if (wanted.join() !== have.join()) {
    sel.replaceChildren(...boards.map((b, i) => new Option(wanted[i], b, false, b === state.board)));
  }
  state.boards = boards.filter((b) => known.has(b));
  app.panels.curves?.fillBoards();
}

async function watchBoards() {
  const nc = app.rp.nc;
  for (;;) {
    const boards = await discoverBoards(nc);
    if (!state.board && boards.length > 0) {
      selectBoard(new URLSearchParams(location.search).get("board") ?? (boards.includes("sim") ? "sim" : boards[0]));
    }
    fillBoards(boards);
    if (nc.isClosed()) return;
    await new Promise((r) => setTimeout(r, DISCOVER_EVERY * 1000));
  }
}

function selectBoard(name) {
  state.board = name;
  $("#board").value = name;
  for (const p of Object.values(app.panels)) p.setBoard?.(name);
}

async function main() {
  setupTheme();
  setupTabs();
  fillSignals();
  const config = await (await fetch("config.json")).json();
  state.nats = config.nats;
  setConn(`connecting to ${config.nats.join(", ")}…`, false);
  try {
    app.rp = await open(config);
  } catch (err) {
    setConn(err.message, false);
    return;
  }
  state.connected = true;
  setConn(`NATS ${config.nats.join(", ")}`, true);
  (async () => {
    for await (const s of app.rp.nc.status()) {
      if (s.type === "disconnect") setConn("disconnected: reconnecting…", false);
      if (s.type === "reconnect") setConn(`NATS ${config.nats.join(", ")}`, true);
    }
  })();
  app.panels.scope = new ScopePanel(app);
  app.panels.na = new NAPanel(app);
  app.panels.specan = new SpecanPanel(app);
  app.panels.asg0 = new GeneratorForm(app, "asg0");
  app.panels.asg1 = new GeneratorForm(app, "asg1");
  app.panels.curves = new CurvesPanel(app);
  app.strip = new EventStrip(app);
  $("#board").addEventListener("change", (e) => selectBoard(e.target.value));
  state.ready = true;
  watchBoards();
}

main();
