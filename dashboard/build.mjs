// Builds the page into dist/ (committed; the Go package embeds it):
// src/main.js and everything it imports, the rpbus client's browser build
// included, as one script and one stylesheet; src/index.html as is.
// `node build.mjs --check` builds into a temporary folder and fails when
// it differs from dist/ (CI: the committed bundle is a fresh build).

import * as esbuild from "esbuild";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const check = process.argv.includes("--check");
const out = check ? mkdtempSync(join(tmpdir(), "rpbus-dashboard-")) : join(here, "dist");

if (!check) rmSync(out, { recursive: true, force: true });
await esbuild.build({
  entryPoints: { app: join(here, "src", "main.js") },
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["chrome111", "firefox115", "safari16.4"],
  minify: true,
  legalComments: "eof",
  charset: "utf8",
  outdir: out,
  logLevel: "warning",
});
copyFileSync(join(here, "src", "index.html"), join(out, "index.html"));

if (check) {
  const dist = join(here, "dist");
  const names = (d) => readdirSync(d).sort();
  const differ = [];
  const all = new Set([...names(out), ...names(dist)]);
  for (const n of all) {
    let a, b;
    try {
      a = readFileSync(join(out, n));
      b = readFileSync(join(dist, n));
    } catch {
      differ.push(`${n}: only in ${a ? "the fresh build" : "dist/"}`);
      continue;
    }
    if (!a.equals(b)) differ.push(`${n}: differs`);
  }
  rmSync(out, { recursive: true, force: true });
  if (differ.length > 0) {
    console.error(`dashboard/dist is not a fresh build of dashboard/src (run npm run build in dashboard/ and commit dist/):\n  ${differ.join("\n  ")}`);
    process.exit(1);
  }
  console.log("dashboard/dist matches a fresh build");
}
