// `npm run bench`: latency of `await board.scope.single({decimation: 1})`
// from JavaScript, and in the same run the Go client's figure from
// `rpbus bench scope --nats URL --json`, against the same server.
//
//   npm run bench [-- --count N] [-- --rounds R] [-- --nats URL] [-- --json]
//
// The two clients take turns, R rounds of N/R requests each, so that load
// from other processes on the machine hits both alike; the JavaScript
// quantiles pool every round, the Go ones are the median of its rounds.
//
// Without --nats it starts `rpbus up` (building .tools/bin/rpbus when
// needed). The requests run one after another, as a user awaiting traces
// would; the figures are end to end: encode, NATS round trip over TCP
// loopback, the acquisition (16384 x 8 ns = 131 us at decimation 1), the
// service, decode to Float32Arrays.

import { execFile } from "node:child_process";
import os from "node:os";
import { parseArgs, promisify } from "node:util";
import { connect } from "../src/index.js";
import { ensureBinary, startRpbus } from "../tests/fixture.js";

const { values: args } = parseArgs({
  options: {
    count: { type: "string", default: "1000" },
    rounds: { type: "string", default: "4" },
    nats: { type: "string" },
    board: { type: "string", default: "sim" },
    json: { type: "boolean", default: false },
  },
});
const count = Number(args.count);
const rounds = Number(args.rounds);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 100) {
  console.error(`--rounds: ${args.rounds}: want an integer in 1..100`);
  process.exit(2);
}
if (!Number.isInteger(count) || count < 10 * rounds || count > 1e6) {
  console.error(`--count: ${args.count}: want an integer in ${10 * rounds}..1000000 (at least 10 per round)`);
  process.exit(2);
}
const perRound = Math.floor(count / rounds);

/** As `rpbus bench`: the element at index floor(q x (n - 1)) of the sorted latencies. */
function quantile(sorted, q) {
  return sorted[Math.floor(q * (sorted.length - 1))];
}

const settings = { decimation: 1, trigger_source: "immediately" };

let cpuUs = 0; // CPU time (user + system) of this process during the JS rounds

/** n sequential scope.single calls: their latencies in us. */
async function measureJS(board, n) {
  const us = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    const tr = await board.scope.single(settings);
    us.push(Number(process.hrtime.bigint() - t) / 1000);
    if (tr.ch1.length !== 16384 || tr.ch2.length !== 16384) throw new Error(`trace of ${tr.ch1.length} samples`);
  }
  const cpu = process.cpuUsage(cpu0);
  cpuUs += cpu.user + cpu.system;
  return us;
}

function figures(us) {
  const s = Float64Array.from(us).sort();
  return { count: s.length, p50_us: quantile(s, 0.5), p90_us: quantile(s, 0.9), p99_us: quantile(s, 0.99) };
}

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function measureGo(bin, url, n) {
  try {
    const { stdout } = await promisify(execFile)(bin, ["bench", "scope", "--nats", url, "--board", args.board, "--count", String(n), "--json", "--rates=false"], { timeout: 600_000 });
    return JSON.parse(stdout.trim().split("\n").pop());
  } catch (err) {
    return { error: (err.stderr || err.message || String(err)).trim() };
  }
}

const bin = ensureBinary();
const up = args.nats ? null : await startRpbus();
const url = args.nats ?? up.url;
const rp = await connect(url);
let result;
try {
  const board = rp.board(args.board);
  await measureJS(board, Math.min(50, perRound)); // warm-up, as the Go side does
  cpuUs = 0;
  const js = [];
  const go = [];
  const perRoundJS = [];
  for (let r = 0; r < rounds; r++) {
    const us = await measureJS(board, perRound);
    js.push(...us);
    perRoundJS.push(figures(us));
    const g = await measureGo(bin, url, perRound);
    if (g.error) {
      go.length = 0;
      go.error = g.error;
      break;
    }
    go.push(g);
  }
  result = { url, count: js.length, rounds, load_average: os.loadavg()[0], js: figures(js), js_cpu_us_per_call: cpuUs / js.length, js_rounds: perRoundJS };
  if (go.error) result.go = { error: go.error };
  else {
    result.go = { count: go.reduce((a, g) => a + g.count, 0), p50_us: median(go.map((g) => g.p50_us)), p90_us: median(go.map((g) => g.p90_us)), p99_us: median(go.map((g) => g.p99_us)) };
    result.go_rounds = go;
    result.js_minus_go_p50_us = result.js.p50_us - result.go.p50_us;
    result.js_minus_go_p90_us = result.js.p90_us - result.go.p90_us;
  }
} finally {
  await rp.close();
  await up?.stop();
}

if (args.json) {
  console.log(JSON.stringify(result));
} else {
  const f = (v) => (v === undefined ? "       -" : v.toFixed(1).padStart(8));
  const line = (name, r) => console.log(`${name.padEnd(16)}${f(r.p50_us)}  ${f(r.p90_us)}  ${f(r.p99_us)}`);
  console.log(`scope.single, decimation 1, trigger immediately, both channels, ${result.count} sequential requests per client in ${rounds} alternating rounds, ${url}`);
  console.log(`(load average ${result.load_average.toFixed(2)}; acquisition 131.1 us)`);
  console.log(`                  p50 us    p90 us    p99 us`);
  result.js_rounds.forEach((r, i) => {
    line(`  JS round ${i + 1}`, r);
    if (result.go_rounds) line(`  Go round ${i + 1}`, result.go_rounds[i]);
  });
  line("JavaScript", result.js);
  console.log(`  (the JavaScript process used ${result.js_cpu_us_per_call.toFixed(1)} us of CPU per call)`);
  if (result.go.error) console.log(`Go client       (rpbus bench scope failed: ${result.go.error})`);
  else {
    line("Go client", result.go);
    console.log(`JavaScript overhead beyond the Go client: p50 ${result.js_minus_go_p50_us.toFixed(1)} us, p90 ${result.js_minus_go_p90_us.toFixed(1)} us`);
  }
}
