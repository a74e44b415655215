// Replies under the user's own inbox prefix: a server whose user may read
// only _INBOX_<user>.>, as deploy/'s accounts allow (docs/security.md).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, RpbusError } from "../src/index.js";
import { startRpbus } from "./fixture.js";

const CONF = `
authorization {
  users: [
    { user: services, password: s-pw }
    { user: alice, password: a-pw, permissions: {
        publish: { allow: ["rp.>"] }
        subscribe: { allow: ["_INBOX_alice.>", "rp.*.*.done"] } } }
  ]
}
`;

let up;
before(async () => {
  const path = join(mkdtempSync(join(tmpdir(), "rpbus-js-inbox-")), "nats.conf");
  writeFileSync(path, CONF);
  up = await startRpbus(["--nats-config", path, "--user", "services", "--password", "s-pw"]);
});
after(async () => {
  assert.equal(await up?.stop(), 0);
});

test("a user reads its replies under its own prefix", async () => {
  const rp = await connect(up.url, { user: "alice", password: "a-pw" });
  try {
    const info = await rp.request("rp.sim.hw.info", {});
    assert.equal(info.board, "sim");
    const trace = await rp.board("sim").scope.single({ decimation: 1 });
    assert.equal(trace.ch1.length, 16384);
  } finally {
    await rp.close();
  }
});

test("the shared inbox is refused", async () => {
  const rp = await connect(up.url, { user: "alice", password: "a-pw", inboxPrefix: "_INBOX" });
  try {
    await assert.rejects(rp.request("rp.sim.hw.info", {}, { timeout: 1 }), (err) => err instanceof RpbusError && /Permissions Violation for Subscription to "_INBOX\./.test(err.message));
  } finally {
    await rp.close();
  }
});
