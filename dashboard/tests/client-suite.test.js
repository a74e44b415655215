// The JavaScript client's own tests (clients/js/tests), run in Chromium
// over the browser transport (NATS WebSocket), against one `rpbus up`:
// one API, one suite, both transports. esbuild bundles each test file for
// the browser with node:test, node:assert/strict and the fixture replaced
// by page versions (tests/browser/); the suite's files that need Node
// itself (processes, files, TCP) stay Node's.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import * as esbuild from "esbuild";
import { browserOrSkip, launchBrowser, repoRoot, startUp } from "./fixture.js";

const browserInfo = browserOrSkip();
const FILES = ["codec", "scope", "na", "specan", "hw"];
const clientTests = join(repoRoot, "clients", "js", "tests");
const shims = join(repoRoot, "dashboard", "tests", "browser");

let up;
let browser;

before(async () => {
  if (browserInfo.skip) return;
  up = await startUp();
  browser = await launchBrowser(browserInfo.path);
});

after(async () => {
  await browser?.close();
  if (up) assert.equal(await up.stop(), 0, up.stderr());
});

/** The test file bundled for a page, its run() results on window.SUITE. */
async function bundle(file) {
  const replace = {
    "node:test": join(shims, "runner.js"),
    "node:assert/strict": join(shims, "assert.js"),
    "./fixture.js": join(shims, "fixture.js"),
    "@nats-io/transport-node": join(shims, "transport-node.js"),
  };
  const out = await esbuild.build({
    stdin: {
      contents: `import "./${file}.test.js"; import { run } from "node:test"; window.SUITE = run();`,
      resolveDir: clientTests,
    },
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    nodePaths: [join(repoRoot, "clients", "js", "node_modules")],
    define: { "process.pid": "4242" },
    logLevel: "silent",
    plugins: [
      {
        name: "page-versions",
        setup(b) {
          b.onResolve({ filter: /^(node:test|node:assert\/strict|\.\/fixture\.js|@nats-io\/transport-node)$/ }, (args) => ({ path: replace[args.path] }));
        },
      },
    ],
  });
  return out.outputFiles[0].text;
}

for (const file of FILES) {
  test(`clients/js/tests/${file}.test.js in Chromium over WebSocket`, { timeout: 300_000, skip: browserInfo.skip }, async (t) => {
    const code = await bundle(file);
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.setContent("<!doctype html><title>rpbus client tests</title>");
    await page.evaluate((ws) => {
      window.RPBUS_WS = ws;
      // Node's, which a test uses to let pending callbacks run.
      window.setImmediate = (fn, ...args) => setTimeout(fn, 0, ...args);
    }, up.ws);
    const pageErrors = [];
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    await page.addScriptTag({ content: code, type: "module" });
    // An inline module runs in a task of its own, maybe after
    // addScriptTag returns: wait for it to set SUITE before awaiting it.
    await page
      .waitForFunction(() => window.SUITE !== undefined, null, { timeout: 60_000 })
      .catch((e) => {
        throw new Error(`${file}.test.js never started in the page: ${e.message}; page errors: ${pageErrors.join("; ") || "none"}`);
      });
    const results = await page.evaluate(() => window.SUITE, null, { timeout: 280_000 });
    await context.close();
    assert.ok(results.length > 0, "no test ran");
    for (const r of results) {
      await t.test(r.name, { skip: r.skipped }, () => {
        if (!r.skipped && !r.ok) throw new Error(r.error);
      });
    }
  });
}
