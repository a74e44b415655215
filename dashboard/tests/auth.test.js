// Beyond loopback: `rpbus up` serves the page and its WebSocket listener
// on every interface only for a server that asks for credentials, here
// deploy's example accounts. The browser talks to 127.0.0.1 only.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { browserOrSkip, ensureBinary, launchBrowser, openPage, repoRoot, startUp } from "./fixture.js";

const browserInfo = browserOrSkip();
const T = { timeout: 120_000, skip: browserInfo.skip };
// rpbus up's services log in as one user; deploy's accounts split them
// into hwbridge and instruments, so the test adds one that may do both.
const SERVICES = { user: "rpbus-up", password: "rpbus-up-password" };

let dir;
let conf;
let browser;

before(async () => {
  if (browserInfo.skip) return;
  dir = mkdtempSync(join(tmpdir(), "rpbus-dash-auth-"));
  const accounts = readFileSync(join(repoRoot, "deploy", "nats", "accounts.example.conf"), "utf8");
  const withServices = accounts.replace(/^(\s*)users: \[\n/m, `$1users: [\n$1  { user: ${SERVICES.user}, password: ${SERVICES.password} }\n`);
  assert.notEqual(withServices, accounts);
  writeFileSync(join(dir, "accounts.conf"), withServices);
  conf = join(dir, "nats.conf");
  writeFileSync(conf, "include accounts.conf\n");
  browser = await launchBrowser(browserInfo.path);
});

after(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("rpbus up refuses to serve the page beyond loopback on a server that lets anyone in", T, () => {
  for (const args of [["--http", "0.0.0.0:0"], ["--ws", "0.0.0.0:0"]]) {
    const r = spawnSync(ensureBinary(), ["up", "--listen", "127.0.0.1:0", "--data", "", ...args], { encoding: "utf8", timeout: 60_000 });
    assert.notEqual(r.status, 0, `${args}: ${r.stdout}`);
    assert.match(r.stderr, /beyond loopback.*(authorization|accounts)/, args.join(" "));
  }
});

test("beyond loopback the WebSocket listener refuses anonymous clients and the page asks for a login", T, async () => {
  const up = await startUp(["--http", "0.0.0.0:0", "--nats-config", conf, "--user", SERVICES.user, "--password", SERVICES.password]);
  try {
    const p = await openPage(browser, up.page, { waitBoard: null });
    const login = p.page.locator("dialog#login");
    await login.waitFor({ state: "visible" });
    // An anonymous client, as any browser could open one: NATS's own answer.
    const answer = await p.page.evaluate(
      (url) =>
        new Promise((resolve) => {
          const ws = new WebSocket(url);
          ws.binaryType = "arraybuffer";
          let got = "";
          ws.onmessage = (e) => {
            got += new TextDecoder().decode(e.data);
            if (got.includes("INFO") && !got.includes("CONNECT_SENT")) {
              got += "CONNECT_SENT";
              ws.send(new TextEncoder().encode('CONNECT {"verbose":false,"pedantic":false,"protocol":1}\r\nPING\r\n'));
            }
            if (/-ERR|PONG/.test(got)) resolve(got);
          };
          ws.onclose = () => resolve(got + " closed");
          setTimeout(() => resolve(got + " (no answer)"), 5000);
        }),
      up.ws,
    );
    assert.match(answer, /-ERR 'Authorization Violation'/);
    assert.doesNotMatch(answer, /PONG/);
    // A wrong password: asked again, with the reason.
    await login.locator("[name=user]").fill("operator");
    await login.locator("[name=password]").fill("wrong");
    await login.locator("button").click();
    await p.page.waitForFunction(() => /authorization/i.test(document.querySelector("#login-why").textContent) && document.querySelector("#login").open);
    // Deploy's example operator drives the board.
    await login.locator("[name=password]").fill("example-operator-password");
    await login.locator("button").click();
    await p.page.waitForFunction(() => window.rpdash.state.board === "sim" && window.rpdash.state.ready);
    await p.page.click("#scope [data-act=single]");
    await p.page.waitForFunction(() => window.rpdash.state.scope.frames >= 1);
    // The wrong password's refusal is the only console error: nats.js logs none.
    assert.deepEqual(
      p.errors.filter((e) => !/Authorization/i.test(e)),
      [],
    );
    await p.context.close();
  } finally {
    assert.equal(await up.stop(), 0, up.stderr());
  }
});
