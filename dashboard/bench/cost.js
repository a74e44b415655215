// What an open dashboard costs the other clients: `rpbus bench scope`
// (a Go client: 4 requesters of scope.single at decimation 1, then
// continuous mode) against one `rpbus up`, with no page, with a page open
// and idle (its event strip subscribed to every done event), and with a
// page running scope continuous at decimation 64. The variants take turns,
// ROUNDS times, so that a machine shared with other work loads them alike;
// the figures are medians, and each variant's ratio to "no page".
// The simulated board charges the Zynq's bus time (the default: a trace
// reads 32768 words, 6.6 ms): figures without it hold for no board, so
// the bench refuses to run when the board says its bus time is off.
//
//   node bench/cost.js [rounds] [count]
import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { ensureBinary, openPage, outDir, startBench } from "../tests/fixture.js";

const ROUNDS = Number(process.argv[2] ?? 5);
const COUNT = Number(process.argv[3] ?? 600);

const { up, browser, bus } = await startBench();
const bin = ensureBinary();
console.log(`simulated board with the Zynq's bus time: ${bus.bus_read_s * 1e9} ns a read, ${bus.bus_write_s * 1e9} ns a write; load ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
const loads = [loadavg()];

function benchScope() {
  const r = spawnSync(bin, ["bench", "scope", "--nats", up.nats, "--count", String(COUNT), "--json"], { encoding: "utf8", timeout: 300_000 });
  if (r.status !== 0) throw new Error(`rpbus bench scope: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop());
}

const variants = {
  "no page": async () => null,
  "page open, idle": async () => openPage(browser, up.page),
  "page running scope continuous (decimation 64)": async () => {
    const p = await openPage(browser, up.page);
    await p.page.selectOption("#scope-form [name=timebase]", "decimation");
    await p.page.fill("#scope-form [name=timebase_value]", "64");
    await p.page.click("#scope [data-act=continuous]");
    await p.page.waitForFunction(() => window.rpdash.state.scope.frames >= 5);
    return p;
  },
};

const results = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
try {
  for (let round = 0; round < ROUNDS; round++) {
    // Each round starts with another variant: none always runs first.
    const order = Object.entries(variants);
    for (const [name, open] of [...order.slice(round % order.length), ...order.slice(0, round % order.length)]) {
      const p = await open();
      const f0 = p ? await p.page.evaluate(() => [window.rpdash.state.scope.frames, window.rpdash.state.events.seen]) : null;
      const r = benchScope();
      if (p) {
        const f1 = await p.page.evaluate(() => [window.rpdash.state.scope.frames, window.rpdash.state.events.seen, window.rpdash.state.connected]);
        r.page_frames = f1[0] - f0[0];
        r.page_events = f1[1] - f0[1];
        r.page_connected = f1[2];
        await p.context.close();
      }
      r.load1 = loadavg()[0];
      results[name].push(r);
      console.log(`round ${round + 1} ${name}: sustained ${r.sustained_traces_per_s.toFixed(0)} traces/s, p50 ${r.p50_us.toFixed(0)} us, continuous ${r.continuous_traces_per_s.toFixed(0)} traces/s, load ${r.load1.toFixed(1)}${p ? `, page drew ${r.page_frames} frames, got ${r.page_events} done events` : ""}`);
    }
  }
  loads.push(loadavg());
} finally {
  await browser.close();
  await up.stop();
}

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const summary = {};
const base = Object.keys(variants)[0];
for (const [name, rs] of Object.entries(results)) {
  summary[name] = {
    sustained_traces_per_s: median(rs.map((r) => r.sustained_traces_per_s)),
    // The least disturbed round: on a shared machine the others' load only subtracts.
    best_sustained_traces_per_s: Math.max(...rs.map((r) => r.sustained_traces_per_s)),
    p50_us: median(rs.map((r) => r.p50_us)),
    continuous_traces_per_s: median(rs.map((r) => r.continuous_traces_per_s)),
  };
}
for (const [name, s] of Object.entries(summary)) {
  s.sustained_ratio = s.sustained_traces_per_s / summary[base].sustained_traces_per_s;
  s.p50_ratio = s.p50_us / summary[base].p50_us;
  s.continuous_ratio = s.continuous_traces_per_s / summary[base].continuous_traces_per_s;
  s.best_sustained_ratio = s.best_sustained_traces_per_s / summary[base].best_sustained_traces_per_s;
  console.log(`${name.padEnd(48)} sustained ${s.sustained_traces_per_s.toFixed(0).padStart(5)} traces/s (x${s.sustained_ratio.toFixed(2)}; best round ${s.best_sustained_traces_per_s.toFixed(0)}, x${s.best_sustained_ratio.toFixed(2)}), p50 ${s.p50_us.toFixed(0).padStart(5)} us (x${s.p50_ratio.toFixed(2)}), continuous ${s.continuous_traces_per_s.toFixed(0)} traces/s (x${s.continuous_ratio.toFixed(2)})`);
}
mkdirSync(outDir, { recursive: true });
console.log(`load average at the start ${loads[0].map((l) => l.toFixed(2)).join(" ")}, at the end ${loads[loads.length - 1].map((l) => l.toFixed(2)).join(" ")}`);
writeFileSync(join(outDir, "cost.json"), JSON.stringify({ rounds: ROUNDS, count: COUNT, ...bus, load_start: loads[0], load_end: loads[loads.length - 1], summary, results }, null, 2) + "\n");
