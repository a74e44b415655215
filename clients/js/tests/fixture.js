// Test fixture: a real `rpbus up` (embedded NATS, simulated board "sim",
// every instrument service) started from the repository's binary, which is
// built first when missing or older than the Go sources.

import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, renameSync, rmSync, statSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const rpbusBin = join(repoRoot, ".tools", "bin", "rpbus");

/** Seconds `rpbus up` gets to print its banner, and to exit after SIGINT. */
const START_TIMEOUT = 120;
const STOP_TIMEOUT = 15;

const SKIP_DIRS = new Set([".git", "node_modules", ".tools", ".venv", "clients", "out", "deploy"]);

/** Newest modification time (ms) of the Go sources that make the binary. */
function newestGoSource(dir = repoRoot, depth = 0) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name) && !e.name.startsWith(".") && depth < 12) newest = Math.max(newest, newestGoSource(join(dir, e.name), depth + 1));
    } else if (e.name.endsWith(".go") || (depth === 0 && (e.name === "go.mod" || e.name === "go.sum"))) {
      newest = Math.max(newest, statSync(join(dir, e.name)).mtimeMs);
    }
  }
  return newest;
}

/** Builds .tools/bin/rpbus unless it is newer than every Go source. */
export function ensureBinary() {
  let binTime = 0;
  try {
    binTime = statSync(rpbusBin).mtimeMs;
  } catch {
    // missing
  }
  if (binTime >= newestGoSource()) return rpbusBin;
  mkdirSync(dirname(rpbusBin), { recursive: true });
  // Build beside it and rename, so parallel test files never run half a binary.
  const tmp = `${rpbusBin}.build-${process.pid}`;
  const r = spawnSync("go", ["build", "-o", tmp, "./cmd/rpbus"], { cwd: repoRoot, stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) throw new Error(`go build ./cmd/rpbus failed (${r.error?.message ?? `exit ${r.status}`})`);
  renameSync(tmp, rpbusBin);
  return rpbusBin;
}

/**
 * Starts `rpbus up --listen 127.0.0.1:0` and resolves once it prints its
 * NATS URL. stop() sends SIGINT and waits for the exit (SIGKILL after
 * STOP_TIMEOUT s).
 * @returns {Promise<{url: string, banner: string, stop: () => Promise<number|null>}>}
 */
export async function startRpbus(extraArgs = []) {
  const bin = ensureBinary();
  const data = mkdtempSync(join(tmpdir(), "rpbus-js-"));
  const proc = spawn(bin, ["up", "--listen", "127.0.0.1:0", "--data", data, ...extraArgs], { stdio: ["ignore", "pipe", "pipe"] });
  const killOnExit = () => proc.kill("SIGKILL");
  process.once("exit", killOnExit);
  let stdout = "";
  let stderr = "";
  const exited = new Promise((res) => proc.once("exit", (code, sig) => res(code ?? sig)));
  const url = await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`rpbus up printed no URL in ${START_TIMEOUT} s:\n${stdout}${stderr}`)), START_TIMEOUT * 1000);
    proc.stdout.on("data", (b) => {
      stdout += b;
      const m = /^rpbus up: NATS listening on (\S+)/m.exec(stdout);
      if (m) {
        clearTimeout(timer);
        res(m[1]);
      }
    });
    proc.stderr.on("data", (b) => (stderr += b));
    proc.once("error", (err) => {
      clearTimeout(timer);
      rej(err);
    });
    exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`rpbus up exited (${code}) before listening:\n${stdout}${stderr}`));
    });
  });
  return {
    url,
    banner: stdout,
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
      await exited;
      process.removeListener("exit", killOnExit);
      rmSync(data, { recursive: true, force: true });
      return code;
    },
  };
}

/** Polls cond until it returns a truthy value or timeout s pass (bounded count). */
export async function waitFor(timeout, what, cond, interval = 0.01) {
  const deadline = Date.now() + timeout * 1000;
  for (let i = 0; i < 1e5; i++) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, interval * 1000));
  }
  throw new Error(`timed out after ${timeout} s waiting for ${what}`);
}
