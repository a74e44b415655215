// `npm test`: runs node's test runner over tests/*.test.js with the spec
// reporter and fails when it fails or when no test ran.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const files = readdirSync(join(root, "tests"))
  .filter((f) => f.endsWith(".test.js"))
  .sort()
  .map((f) => join("tests", f));
if (files.length === 0) {
  console.error("npm test: no test files in tests/");
  process.exit(1);
}
// --test-timeout: a hung test file fails instead of hanging CI.
const args = ["--test", "--test-reporter=spec", "--test-timeout=300000", ...process.argv.slice(2), ...files];
const child = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
let out = "";
child.stdout.on("data", (b) => {
  out += b;
  process.stdout.write(b);
});
child.on("exit", (code, signal) => {
  const count = (name) => {
    const m = new RegExp(`^\\S*\\s*${name} (\\d+)\\s*$`, "m").exec(out.replace(/\x1b\[[0-9;]*m/g, ""));
    return m ? Number(m[1]) : 0;
  };
  const tests = count("tests");
  const pass = count("pass");
  if (code !== 0 || signal) process.exit(code || 1);
  if (tests === 0 || pass === 0) {
    console.error(`npm test: no test ran (tests ${tests}, pass ${pass})`);
    process.exit(1);
  }
  process.exit(0);
});
