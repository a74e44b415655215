"""Run PyRPL's own test suite against rpbus's simulated board.

Each test file gets a fresh board: a new ``rpbus simboard`` on a free
loopback port behind an ``rpbus lanproxy`` that gives it a LAN's latency
(125 us each way by default, as between a PC and a Red Pitaya), and a new
pytest process whose PyRPL talks to it through rpbus_pyrpl (PyRPL's
MonitorClient over TCP). PyRPL runs headless.

Some of PyRPL's tests fail for reasons outside the board: in PyRPL's own
order on a real board too (an earlier test leaves a register set that a
later one does not expect), or by the test machine's scheduling. PyRPL's
own CI, on its board, runs its failures again in a new session (``pytest
--lf``); this runner does the same, but only for the tests rerun.txt
names with the reason: each failing one runs once more, alone, in a new
pytest session on the same board.

The results are compared with known_failures.txt (tests allowed to fail,
each with its reason; empty when everything passes):

- a test that fails (and, if in rerun.txt, fails alone too) and is not
  listed fails this run (a regression);
- a listed test that passes is reported, so the list can shrink.

It prints a table of files and results (docs/simulator.md keeps one) and
exits non-zero on a regression. Usage (scripts/pyrpl-suite wraps it):

    python tests/pyrpl/run.py [--rpbus PATH] [--lan-delay D] [--table FILE] [test_file ...]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent

# The files of PyRPL's suite that test the hardware and its instruments.
FILES = [
    "test_hardware_modules/test_dsp_inputs.py",
    "test_hardware_modules/test_na_iir_pytest.py",
    "test_hardware_modules/test_pid_na_iq.py",
    "test_hardware_modules/test_sampler.py",
    "test_hardware_modules/test_scope.py",
    "test_hardware_modules/test_scope_asg_ams.py",
    "test_hardware_modules/test_trig.py",
    "test_registers.py",
    "test_na.py",
    "test_spectrum_analyzer.py",
    "test_lockbox.py",
    "test_load_save.py",
    "test_validate_and_normalize.py",
]

# PyRPL's load-dependent timing benchmarks, excluded by name: they time
# the client's own loop against fixed limits on the machine running the
# tests, so they say nothing about the board.
EXCLUDED = {
    "test_na.py::TestNA::test_benchmark_nogui": "times a sweep against the client's measured register round trip x 3.1",
    "test_na.py::TestNA::test_benchmark_gui": "the same with the GUI drawing",
    "test_na.py::TestNA::test_stupid_timer": "times 1000 Qt timer events on the test machine",
}


# PyRPL's global configuration for the runs (see run_file).
GLOBAL_CONFIG = """general:
  curvedb: pyrpl
  loglevel: info
test:
  max_communication_time: 0.05
"""


def pyrpl_test_dir():
    # found, not imported: importing PyRPL starts Qt
    import importlib.util

    spec = importlib.util.find_spec("pyrpl")
    if spec is None or spec.origin is None:
        raise SystemExit("PyRPL is not installed in this Python (scripts/setup makes .venv-pyrpl)")
    return Path(spec.origin).resolve().parent / "test"


def listed(name):
    """test id -> reason, from a list file of ours (known_failures.txt, rerun.txt)."""
    known = {}
    for line in (HERE / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        test, _, reason = line.partition("#")
        known[test.strip()] = reason.strip()
    return known


def start_board(rpbus):
    """Starts a simboard on a free loopback port; returns it and host:port."""
    p = subprocess.Popen(
        [rpbus, "simboard", "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    line = p.stdout.readline()  # "simboard: simulated Red Pitaya on 127.0.0.1:PORT (...)"
    try:
        addr = line.split(" on ", 1)[1].split()[0]
    except IndexError:
        p.kill()
        raise SystemExit(f"rpbus simboard did not start: {line!r}")
    return p, addr


def start_lan(rpbus, target, delay):
    """Starts a LAN stand-in in front of target; returns it and its host:port."""
    p = subprocess.Popen(
        [rpbus, "lanproxy", "--listen", "127.0.0.1:0", "--target", target, "--lan-delay", delay],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    line = p.stdout.readline()  # "lanproxy: 127.0.0.1:PORT -> TARGET, DELAY each way, RATE"
    try:
        addr = line.split()[1]
    except IndexError:
        p.kill()
        raise SystemExit(f"rpbus lanproxy did not start: {line!r}")
    return p, addr


def outcomes(junit):
    """test id -> passed/failed/skipped, from pytest's JUnit XML."""
    res = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        test = case.get("classname", "").split(".")[-1] + "::" + case.get("name", "")
        if case.find("failure") is not None or case.find("error") is not None:
            res[test] = "failed"
        elif case.find("skipped") is not None:
            res[test] = "skipped"
        else:
            res.setdefault(test, "passed")
    return res


def run_file(rpbus, tests, rel, workdir, timeout, lan_delay, rerun):
    """Runs one test file on a fresh board; returns {test: outcome}, the
    tests that passed only alone, the seconds taken and the log."""
    board, addr = start_board(rpbus)
    lan = None
    if lan_delay not in ("", "0", "0s"):
        lan, addr = start_lan(rpbus, addr, lan_delay)
    name = rel.replace("/", "_")
    env = dict(
        os.environ,
        RPBUS_SIMBOARD=addr,
        REDPITAYA_HOSTNAME="_FAKE_",
        # Headless. PyRPL converts an environment value with the type of
        # the parameter's default, bool(value), so "False" would mean True:
        # only the empty string turns the GUI off.
        REDPITAYA_GUI="",
        QT_QPA_PLATFORM="offscreen",
        PYRPL_USER_DIR=str(Path(workdir) / ("user-" + name)),
        PYTHONPATH=str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    )
    # PyRPL's session check refuses a board whose average register access
    # takes 5 ms or more: a LAN figure that a loaded CI machine's loopback
    # exceeds now and then. Its own global config raises it to 50 ms.
    config = Path(env["PYRPL_USER_DIR"]) / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "global_config.yml").write_text(GLOBAL_CONFIG)
    log = Path(workdir) / (name + ".log")

    def pytest(junit, select):
        # PyRPL's fixtures live in its test folder's conftest.py: make that
        # folder the root, whatever ini files surround the venv.
        cmd = [sys.executable, "-m", "pytest", "-p", "rpbus_pyrpl", "-p", "no:cacheprovider",
               "--rootdir", str(tests), "--confcutdir", str(tests), "-c", os.devnull,
               "-q", "--junitxml", str(junit)] + select
        try:
            with open(log, "a") as out:
                subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, cwd=workdir)
        except subprocess.TimeoutExpired:
            pass
        return outcomes(junit) if junit.exists() else {}

    t0 = time.monotonic()
    alone = []
    try:
        select = [str(tests / rel)]
        skip = [t.rpartition("::")[2] for t in EXCLUDED if t.partition("::")[0] == Path(rel).name]
        if skip:
            select += ["-k", " and ".join("not " + n for n in skip)]
        res = {Path(rel).name + "::" + k: v for k, v in pytest(Path(workdir) / (name + ".xml"), select).items()}
        # The listed failures once more, each alone in a new session on
        # the same board, as PyRPL's CI reruns its failures.
        for i, test in enumerate(t for t, o in sorted(res.items()) if o == "failed" and t in rerun):
            cls_name = test.split("::", 1)[1]
            again = pytest(Path(workdir) / f"{name}.alone{i}.xml", [str(tests / rel) + "::" + cls_name])
            if again.get(cls_name) == "passed":
                res[test] = "passed"
                alone.append(test)
    finally:
        for p in (lan, board):
            if p is not None:
                p.kill()
                p.wait()
    return res, alone, time.monotonic() - t0, log


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rpbus", default=str(HERE.parent.parent / ".tools" / "bin" / "rpbus"))
    ap.add_argument("--lan-delay", default="125us",
                    help="one-way LAN delay between PyRPL and the board (rpbus lanproxy); 0: loopback only")
    ap.add_argument("--table", help="write the Markdown table of results here")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per file")
    ap.add_argument("files", nargs="*", default=FILES)
    args = ap.parse_args()

    tests = pyrpl_test_dir()
    known = listed("known_failures.txt")
    rerun = listed("rerun.txt")
    rows, regressions, fixed, unexpected, alone_all = [], [], [], [], []
    with tempfile.TemporaryDirectory(prefix="rpbus-pyrpl-") as workdir:
        for rel in args.files:
            res, alone, took, log = run_file(args.rpbus, tests, rel, workdir, args.timeout, args.lan_delay, rerun)
            alone_all += alone
            n = {k: sum(1 for v in res.values() if v == k) for k in ("passed", "failed", "skipped")}
            if not res:
                regressions.append(f"{rel}: no results (crashed or timed out); log:\n{Path(log).read_text()[-3000:]}")
            for test, outcome in sorted(res.items()):
                if outcome == "failed" and test not in known:
                    unexpected.append(test)
                    regressions.append(f"{test}: failed (see {rel}'s log below)")
                elif outcome == "passed" and test in known:
                    fixed.append(test)
            if any(o == "failed" and t not in known for t, o in res.items()):
                regressions.append(Path(log).read_text()[-4000:])
            rows.append((rel, n["passed"], len(alone), n["failed"], n["skipped"], took))
            print(f"{rel}: {n['passed']} passed ({len(alone)} on rerun), {n['failed']} failed, "
                  f"{n['skipped']} skipped in {took:.0f} s", flush=True)

    table = ["| file | passed | of which on rerun | failed | skipped | seconds |", "|---|---|---|---|---|---|"]
    table += [f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]} | {r[5]:.0f} |" for r in rows]
    print("\n".join(table))
    if args.table:
        Path(args.table).write_text("\n".join(table) + "\n")
    if alone_all:
        print("\nPassed alone, after failing in the file's run (rerun.txt says why):\n  " + "\n  ".join(alone_all))
    if fixed:
        print("\nListed in known_failures.txt but passing now (remove them):\n  " + "\n  ".join(fixed))
    total_pass = sum(r[1] for r in rows)
    known_failed = sum(r[3] for r in rows) - len(unexpected)
    print(f"\n{known_failed} known failures (known_failures.txt)")
    print(f"pyrpl-suite: {total_pass} passed, {len(unexpected)} failed")
    if regressions:
        print("\nRegressions:\n" + "\n".join(regressions))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
