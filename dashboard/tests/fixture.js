// Test fixture: a real `rpbus up` with its dashboard on random ports of
// 127.0.0.1, and Debian's Chromium driven by playwright-core. A missing
// browser fails the tests unless RPBUS_TEST_NO_BROWSER=1 says to skip them.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { ensureBinary as ensureGoBinary, rpbusBin } from "../../clients/js/tests/fixture.js";
import { connect } from "../../clients/js/src/index.js";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** Where the test run writes its screenshots and measured figures. */
export const outDir = process.env.RPBUS_DASHBOARD_OUT ?? join(repoRoot, "out", "dashboard");

const START_TIMEOUT = 120; // s, for `rpbus up` to print its banner
const STOP_TIMEOUT = 15; // s, to exit after SIGINT

/**
 * The rpbus binary, built anew when it is older than the Go sources or
 * than dist/: the binary embeds the page, so a fresh `npm run build`
 * needs a fresh binary too.
 */
export function ensureBinary() {
  const bin = ensureGoBinary();
  const dist = join(repoRoot, "dashboard", "dist");
  const newest = Math.max(...readdirSync(dist).map((n) => statSync(join(dist, n)).mtimeMs));
  if (statSync(bin).mtimeMs >= newest) return bin;
  const tmp = `${rpbusBin}.build-${process.pid}`;
  const r = spawnSync("go", ["build", "-o", tmp, "./cmd/rpbus"], { cwd: repoRoot, stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) throw new Error(`go build ./cmd/rpbus failed (${r.error?.message ?? `exit ${r.status}`})`);
  renameSync(tmp, rpbusBin);
  return rpbusBin;
}

/** The Chromium to drive: RPBUS_CHROMIUM, else Debian's. */
export function chromiumPath() {
  for (const p of [process.env.RPBUS_CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    if (p && existsSync(p)) return p;
  }
  return null;
}

/** Skips (with the reason) only when RPBUS_TEST_NO_BROWSER=1; else a missing browser fails. */
export function browserOrSkip() {
  const path = chromiumPath();
  if (path) return { path };
  const why = "no Chromium (/usr/bin/chromium): scripts/setup installs Debian's chromium; RPBUS_TEST_NO_BROWSER=1 skips the browser tests";
  if (process.env.RPBUS_TEST_NO_BROWSER === "1") return { skip: why };
  throw new Error(why);
}

export async function launchBrowser(path) {
  return chromium.launch({ executablePath: path, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
}

/**
 * Starts `rpbus up` with its dashboard; resolves with the NATS URL, the
 * page's URL and stop().
 */
export async function startUp(extraArgs = []) {
  const bin = ensureBinary();
  const data = mkdtempSync(join(tmpdir(), "rpbus-dash-"));
  // A JetStream store of its own: the curve store runs, as under a plain `rpbus up`.
  const args = ["up", "--listen", "127.0.0.1:0", "--data", data, "--http", "127.0.0.1:0", ...extraArgs];
  const proc = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  const killOnExit = () => proc.kill("SIGKILL");
  process.once("exit", killOnExit);
  let stdout = "";
  let stderr = "";
  const exited = new Promise((res) => proc.once("exit", (code, sig) => res(code ?? sig)));
  const urls = await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`rpbus up printed no dashboard URL in ${START_TIMEOUT} s:\n${stdout}${stderr}`)), START_TIMEOUT * 1000);
    proc.stdout.on("data", (b) => {
      stdout += b;
      const nats = /^rpbus up: NATS listening on (\S+)/m.exec(stdout);
      const page = /^Dashboard: (\S+) \(NATS over WebSocket on (\S+)\)/m.exec(stdout);
      if (nats && page) {
        clearTimeout(timer);
        // A listener on every interface is printed with the host's name:
        // the tests reach it on loopback only.
        const loopback = (u) => u.replace(/\/\/[^/:]+:/, "//127.0.0.1:");
        res({ nats: nats[1], page: loopback(page[1]), ws: loopback(page[2]) });
      }
    });
    proc.stderr.on("data", (b) => (stderr += b));
    exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`rpbus up exited (${code}) before serving the dashboard:\n${stdout}${stderr}`));
    });
  });
  return {
    ...urls,
    banner: () => stdout,
    stderr: () => stderr,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGINT");
      let timer;
      const code = await Promise.race([
        exited,
        new Promise((res) => {
          timer = setTimeout(() => {
            proc.kill("SIGKILL");
            res("killed");
          }, STOP_TIMEOUT * 1000);
        }),
      ]);
      clearTimeout(timer);
      process.removeListener("exit", killOnExit);
      rmSync(data, { recursive: true, force: true });
      return code;
    },
  };
}

/**
 * A benchmark's `rpbus up` and browser: { up, browser, bus }. The
 * simulated board must charge the Zynq's bus time (the default): figures
 * without it hold for no real board, so a bench refuses to run then.
 */
export async function startBench() {
  const info = browserOrSkip();
  if (info.skip) throw new Error(info.skip);
  const up = await startUp();
  const rp = await connect(up.nats);
  const model = (await rp.board("sim").info()).sim_model ?? {};
  await rp.close();
  if (!(model.bus_read > 0 && model.bus_write > 0)) {
    await up.stop();
    throw new Error(`the simulated board's bus time is off (bus_read ${model.bus_read}, bus_write ${model.bus_write}): its figures would hold for no real board`);
  }
  const browser = await launchBrowser(info.path);
  return { up, browser, bus: { bus_read_s: model.bus_read, bus_write_s: model.bus_write } };
}

/**
 * A page of the dashboard at 1280x800 whose console errors and uncaught
 * exceptions are collected in errors.
 */
export async function openPage(browser, url, { theme = "light", waitBoard = "sim" } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true, colorScheme: theme });
  const page = await context.newPage();
  const errors = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`exception: ${e.message}`));
  await page.goto(url);
  if (waitBoard) await page.waitForFunction((b) => window.rpdash?.state?.board === b && window.rpdash.state.ready, waitBoard, { timeout: 15_000 });
  return { page, context, errors };
}

export async function screenshot(page, name) {
  mkdirSync(outDir, { recursive: true });
  const path = join(outDir, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** Adds figures to out/dashboard/figures.json (the run's measured rates). */
export function recordFigures(figures) {
  mkdirSync(outDir, { recursive: true });
  const path = join(outDir, "figures.json");
  let all = {};
  try {
    all = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    // first figures of this run
  }
  writeFileSync(path, JSON.stringify({ ...all, ...figures }, null, 2) + "\n");
}

/**
 * The scope panel's continuous rate over one window of `seconds`: frames
 * drawn and traces fetched a second (performance.now() in the page), and
 * the panel's mode at the end.
 */
export async function continuousRate(page, seconds) {
  const look = () => page.evaluate(() => [window.rpdash.state.scope.frames, performance.now(), window.rpdash.state.scope.mode, window.rpdash.state.scope.traces]);
  const [f0, t0, , n0] = await look();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const [f1, t1, mode, n1] = await look();
  return { frames: f1 - f0, fps: ((f1 - f0) * 1000) / (t1 - t0), tps: ((n1 - n0) * 1000) / (t1 - t0), mode };
}

/** Sets a form field by name inside a form, as a user types. */
export async function fill(page, form, name, value) {
  const el = page.locator(`${form} [name="${name}"]`);
  const tag = await el.evaluate((e) => e.tagName);
  if (tag === "SELECT") await el.selectOption(String(value));
  else if ((await el.getAttribute("type")) === "checkbox") await el.setChecked(Boolean(value));
  else await el.fill(String(value));
}
