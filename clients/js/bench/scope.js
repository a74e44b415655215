// `npm run bench`: latency of `await board.scope.single({decimation: 1})`
// from JavaScript, and in the same run the Go client's figure from
// `rpbus bench scope --nats URL --json`, against the same server.
//
//   npm run bench [-- --count N] [-- --nats URL] [-- --json]
//
// Without --nats it starts `rpbus up` (building .tools/bin/rpbus when
// needed). The requests run one after another, as a user awaiting traces
// would; the figures are end to end: encode, NATS round trip over TCP
// loopback, the acquisition (16384 x 8 ns = 131 us at decimation 1), the
// service, decode to Float32Arrays.

import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { parseArgs } from "node:util";
import { connect } from "../src/index.js";
import { ensureBinary, startRpbus } from "../tests/fixture.js";

const { values: args } = parseArgs({
  options: {
    count: { type: "string", default: "1000" },
    nats: { type: "string" },
    board: { type: "string", default: "sim" },
    json: { type: "boolean", default: false },
  },
});
const count = Number(args.count);
if (!Number.isInteger(count) || count < 10 || count > 1e6) {
  console.error(`--count: ${args.count}: want an integer in 10..1000000`);
  process.exit(2);
}

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function measureJS(board) {
  const settings = { decimation: 1, trigger_source: "immediately" };
  for (let i = 0; i < Math.min(50, count / 10); i++) await board.scope.single(settings);
  const us = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const t = process.hrtime.bigint();
    const tr = await board.scope.single(settings);
    us[i] = Number(process.hrtime.bigint() - t) / 1000;
    if (tr.ch1.length !== 16384) throw new Error(`trace of ${tr.ch1.length} samples`);
  }
  us.sort();
  return { count, p50_us: quantile(us, 0.5), p90_us: quantile(us, 0.9), p99_us: quantile(us, 0.99) };
}

async function measureGo(bin, url) {
  try {
    const { stdout } = await promisify(execFile)(bin, ["bench", "scope", "--nats", url, "--board", args.board, "--count", String(count), "--json"], { timeout: 600_000 });
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
  const js = await measureJS(board);
  const go = await measureGo(bin, url);
  result = { url, count, js, go };
  if (!go.error) result.js_minus_go_p50_us = js.p50_us - go.p50_us;
} finally {
  await rp.close();
  await up?.stop();
}

if (args.json) {
  console.log(JSON.stringify(result));
} else {
  const f = (v) => (v === undefined ? "     -" : v.toFixed(1).padStart(8));
  console.log(`scope.single, decimation 1, trigger immediately, both channels, ${count} sequential requests, ${url}`);
  console.log(`              p50 us    p90 us    p99 us`);
  console.log(`JavaScript  ${f(result.js.p50_us)}  ${f(result.js.p90_us)}  ${f(result.js.p99_us)}`);
  if (result.go.error) console.log(`Go client   (rpbus bench scope failed: ${result.go.error})`);
  else {
    console.log(`Go client   ${f(result.go.p50_us)}  ${f(result.go.p90_us)}  ${f(result.go.p99_us)}`);
    console.log(`JavaScript p50 overhead beyond Go: ${result.js_minus_go_p50_us.toFixed(1)} us`);
  }
}
