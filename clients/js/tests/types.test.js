// The declarations in src/index.d.ts: they compile against a typed use of
// the client, and they name exactly what src/index.js exports.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as rpbus from "../src/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

test("index.d.ts (with what it re-exports) declares every export of index.js and nothing else", () => {
  // index.d.ts and the declaration files it re-exports (export * from "./x.js").
  let dts = readFileSync(join(root, "src", "index.d.ts"), "utf8");
  for (const m of dts.matchAll(/^export \* from "\.\/(\w+)\.js";/gm)) dts += readFileSync(join(root, "src", `${m[1]}.d.ts`), "utf8");
  const declared = new Set([...dts.matchAll(/^export (?:declare )?(?:function|class|const) (\w+)/gm)].map((m) => m[1]));
  assert.deepEqual([...declared].sort(), Object.keys(rpbus).sort());
});

test("a typed use of the client compiles with tsc --strict", { timeout: 120_000 }, () => {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  const r = spawnSync(process.execPath, [tsc, "--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--skipLibCheck", join("tests", "types-usage.ts")], { cwd: root, encoding: "utf8" });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

// A project that installed the package imports it by name, as ESM, and
// gets its types: the package.json's exports and types hold.
test("importable by name as ESM, with its types", { timeout: 120_000 }, async () => {
  const { mkdtempSync, mkdirSync, symlinkSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(join(tmpdir(), "rpbus-consumer-"));
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(root, join(dir, "node_modules", "rpbus"), "dir");
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
  writeFileSync(join(dir, "use.mjs"), 'import { connect, RpbusError, CONNECT_TIMEOUT } from "rpbus";\nconsole.log(typeof connect, typeof RpbusError, CONNECT_TIMEOUT);\n');
  const run = spawnSync(process.execPath, ["use.mjs"], { cwd: dir, encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout.trim(), "function function 2");
  writeFileSync(join(dir, "use.ts"), 'import { connect, type Spectrum } from "rpbus";\nexport async function f(): Promise<number> { const rp = await connect("nats://127.0.0.1:4222", { user: "a", password: "b" }); const s: Spectrum = await rp.board("sim").specan.single({ rbw: 449 }); return s.rbw; }\n');
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  const r = spawnSync(process.execPath, [tsc, "--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--skipLibCheck", "use.ts"], { cwd: dir, encoding: "utf8" });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
