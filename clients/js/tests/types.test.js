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
