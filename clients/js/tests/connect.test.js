// Connecting: credentials, and failures that say what was tried and why
// within the connect timeout, against real servers on 127.0.0.1 (`rpbus up`
// with an authorization block, and with TLS).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, CONNECT_TIMEOUT, RpbusError } from "../src/index.js";
import { repoRoot, startRpbus } from "./fixture.js";

const cert = join(repoRoot, "testdata", "tls", "localhost.pem");
const key = join(repoRoot, "testdata", "tls", "localhost-key.pem");

function conf(text) {
  const path = join(mkdtempSync(join(tmpdir(), "rpbus-js-conf-")), "nats.conf");
  writeFileSync(path, text);
  return path;
}

let auth, token, tls;
before(async () => {
  auth = await startRpbus(["--nats-config", conf("authorization { users: [ { user: services, password: s-pw }, { user: alice, password: a-pw } ] }\n"), "--user", "services", "--password", "s-pw"]);
  token = await startRpbus(["--nats-config", conf("authorization { token: t0k3n }\n"), "--token", "t0k3n"]);
  tls = await startRpbus(["--nats-config", conf(`tls { cert_file: "${cert}", key_file: "${key}" }\n`)]);
});
after(async () => {
  for (const up of [auth, token, tls]) assert.equal(await up?.stop(), 0);
});

async function fails(url, words, options = {}) {
  const t0 = Date.now();
  const err = await connect(url, options).then(
    (rp) => {
      rp.close();
      return null;
    },
    (e) => e,
  );
  const took = (Date.now() - t0) / 1000;
  assert.ok(err instanceof RpbusError && err.code === 503, `connected, or ${err}`);
  // The connect timeout and slack for a loaded machine, as the Go client's test.
  assert.ok(took < CONNECT_TIMEOUT + 2, `told after ${took} s`);
  for (const w of words) assert.ok(err.message.includes(w), `${err.message}\ndoes not say ${w}`);
  assert.ok(!err.message.includes("a-pw") && !err.message.includes("wrong-pw"), err.message);
}

async function freePort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  const port = srv.address().port;
  await new Promise((r) => srv.close(r));
  return port;
}

test("refused and no answer", async () => {
  const url = `nats://127.0.0.1:${await freePort()}`;
  await fails(url, [url, "without credentials", "connection refused"]);
  const sockets = [];
  const silent = net.createServer((s) => sockets.push(s)); // accepts, never speaks
  await new Promise((r) => silent.listen(0, "127.0.0.1", r));
  try {
    await fails(`nats://127.0.0.1:${silent.address().port}`, ["no answer within 2 s"]);
  } finally {
    for (const s of sockets) s.destroy();
    silent.close();
  }
});

test("user and password", async () => {
  await fails(auth.url, ["authorization required"]);
  await fails(auth.url, ['as user "alice"', "authorization failed"], { user: "alice", password: "wrong-pw" });
  const rp = await connect(auth.url, { user: "alice", password: "a-pw" });
  try {
    const tr = await rp.board("sim").scope.single({});
    assert.equal(tr.ch1.length, 16384);
  } finally {
    await rp.close();
  }
  await assert.rejects(connect(auth.url, { user: "alice", token: "x" }), (e) => e.code === 400 && /give one of/.test(e.message));
});

test("token", async () => {
  await fails(token.url, ["with a token", "authorization failed"], { token: "nope" });
  const rp = await connect(token.url, { token: "t0k3n" });
  try {
    assert.equal((await rp.board("sim").info()).board, "sim");
  } finally {
    await rp.close();
  }
});

test("TLS", async () => {
  assert.match(tls.url, /^tls:\/\//);
  await fails(tls.url, ["TLS failed"]);
  const rp = await connect(tls.url, { tls: { caFile: cert } });
  try {
    assert.equal((await rp.board("sim").info()).board, "sim");
  } finally {
    await rp.close();
  }
});
