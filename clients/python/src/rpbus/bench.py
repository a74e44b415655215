"""Latency of ``await board.scope.single(decimation=1)`` from Python, side by
side with the Go client's figure for the same request on the same server.

Run ``python -m rpbus.bench`` (starts its own ``rpbus up``) or
``python -m rpbus.bench --nats nats://127.0.0.1:4222``. Each round measures
the Go client (``rpbus bench scope --nats URL --count N --json``) and then
the Python client, ``N`` requests each after a warm-up of min(50, N/10),
as the Go bench does; percentiles are the sorted sample at
``int(p x (N - 1))``. The figure that matters is the difference of the p50s:
the Python client's overhead beyond Go's (target: at most 1 ms). It also
times the decoding of one 2 x 16384 sample reply (msgpack, numpy
``frombuffer`` and, for samples sent as 16-bit codes, one scaling
multiply into float32) on its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from . import _wire
from .client import connect
from .local import RpbusUp, ensure_binary
from .types import ScopeTrace, from_wire

__all__ = ["main", "measure_python", "measure_go", "quantile"]

SETTINGS: dict[str, Any] = {"decimation": 1, "trigger_source": "immediately"}


def quantile(sorted_us: list[float], p: float) -> float:
    """The Go bench's percentile: the sorted sample at int(p x (n-1))."""
    return sorted_us[int(p * (len(sorted_us) - 1))]


async def measure_python(url: str, count: int, board_name: str = "sim") -> dict[str, Any]:
    """p50/p90/p99 (us) of scope.single at decimation 1 from Python."""
    async with await connect(url) as rp:
        board = rp.board(board_name)
        for _ in range(min(50, count // 10)):
            await board.scope.single(**SETTINGS)
        d = []
        tr = None
        for _ in range(count):
            t0 = time.perf_counter_ns()
            tr = await board.scope.single(**SETTINGS)
            d.append((time.perf_counter_ns() - t0) / 1e3)
        d.sort()
        assert tr is not None
        decode_us, wire_dtype = await _decode_cost(rp.nc, board_name)
        return {
            "count": count,
            "p50_us": quantile(d, 0.5),
            "p90_us": quantile(d, 0.9),
            "p99_us": quantile(d, 0.99),
            "samples": int(tr.ch1.size + tr.ch2.size),
            "dtype": str(tr.ch1.dtype),
            "wire_dtype": wire_dtype,
            "decode_us": decode_us,
        }


async def _decode_cost(nc: Any, board_name: str, n: int = 200) -> tuple[float, str]:
    """Microseconds to turn one trace reply's bytes into a ScopeTrace, and
    the dtype its samples travel in."""
    subject = f"rp.{board_name}.scope.single"
    msg = await nc.request(subject, _wire.pack(SETTINGS), timeout=5, headers=_wire.REQUEST_HEADERS)
    data = msg.data
    t0 = time.perf_counter_ns()
    for _ in range(n):
        tr = from_wire(ScopeTrace, _wire.unpack(data, subject))
    dt = (time.perf_counter_ns() - t0) / 1e3 / n
    assert tr.ch1.size == 16384 and tr.ch2.size == 16384, (tr.ch1.size, tr.ch2.size)
    return dt, str(_wire.unpack(data, subject)["ch1"]["dtype"])


def measure_go(binary: Path, url: str, count: int, board_name: str = "sim") -> dict[str, Any]:
    """The Go client's figure: ``rpbus bench scope --nats URL --json``."""
    r = subprocess.run(
        [str(binary), "bench", "scope", "--nats", url, "--count", str(count), "--board", board_name, "--json", "--rates=false"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if r.returncode != 0:
        raise RuntimeError(f"rpbus bench scope exited {r.returncode}: {r.stderr.strip()}")
    out: dict[str, Any] = json.loads(r.stdout.strip().splitlines()[-1])
    return out


async def run(url: str, count: int, rounds: int, board_name: str, binary: Path | None) -> dict[str, Any]:
    result: dict[str, Any] = {"url": url, "count": count, "rounds": []}
    for _ in range(rounds):
        rnd: dict[str, Any] = {}
        if binary is not None:
            try:
                rnd["go"] = await asyncio.to_thread(measure_go, binary, url, count, board_name)
            except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as e:
                rnd["go_error"] = str(e)
        rnd["python"] = await measure_python(url, count, board_name)
        if "go" in rnd:
            rnd["p50_overhead_us"] = rnd["python"]["p50_us"] - rnd["go"]["p50_us"]
            rnd["p90_overhead_us"] = rnd["python"]["p90_us"] - rnd["go"]["p90_us"]
        result["rounds"].append(rnd)
    over = [r["p50_overhead_us"] for r in result["rounds"] if "p50_overhead_us" in r]
    if over:
        result["p50_overhead_us"] = statistics.median(over)
    return result


def _report(res: dict[str, Any]) -> str:
    lines = [
        f"scope.single, decimation 1, both channels; {res['count']} requests per client and round; {res['url']}"
    ]
    for i, r in enumerate(res["rounds"], 1):
        py = r["python"]
        line = f"round {i:2d}: python p50 {py['p50_us']:7.1f} p90 {py['p90_us']:7.1f} us"
        if "go" in r:
            go = r["go"]
            line += f" | go p50 {go['p50_us']:7.1f} p90 {go['p90_us']:7.1f} us"
            line += f" | python - go p50 {r['p50_overhead_us']:+7.1f} p90 {r['p90_overhead_us']:+7.1f} us"
        else:
            line += f" | go figure unavailable: {r.get('go_error', 'not asked')}"
        lines.append(line)
    py = [r["python"] for r in res["rounds"]]
    med = statistics.median
    lines.append(
        f"median of rounds: python p50 {med(p['p50_us'] for p in py):.1f} us, p90 {med(p['p90_us'] for p in py):.1f} us"
    )
    go = [r["go"] for r in res["rounds"] if "go" in r]
    if go:
        lines.append(
            f"                  go     p50 {med(g['p50_us'] for g in go):.1f} us, p90 {med(g['p90_us'] for g in go):.1f} us"
        )
    last = py[-1]
    lines.append(
        f"decoding one reply ({last['samples']} samples sent as {last['wire_dtype']}, to {last['dtype']}): "
        f"{med(p['decode_us'] for p in py):.1f} us"
    )
    if "p50_overhead_us" in res:
        o = res["p50_overhead_us"]
        verdict = "ok" if o <= 1000 else "OVER"
        lines.append(f"p50 overhead of Python beyond Go (median of rounds): {o:+.1f} us (target <= 1000 us: {verdict})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rpbus.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--nats", default="", help="NATS URL of a running rpbus (default: start rpbus up)")
    ap.add_argument("--count", type=int, default=500, help="requests per client and round (default 500)")
    ap.add_argument("--rounds", type=int, default=10, help="rounds of Go then Python (default 10)")
    ap.add_argument("--board", default="sim")
    ap.add_argument("--rpbus", default="", help="rpbus binary for the Go figure (default: the repository's build)")
    ap.add_argument("--no-go", action="store_true", help="measure the Python client only")
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    a = ap.parse_args(argv)
    if a.count < 10 or a.rounds < 1:
        ap.error("--count must be at least 10 and --rounds at least 1")
    binary: Path | None = None
    if not a.no_go:
        binary = Path(a.rpbus) if a.rpbus else ensure_binary()
    up: RpbusUp | None = None
    url = a.nats
    if not url:
        up = RpbusUp(binary=binary)
        url = up.start()
    try:
        res = asyncio.run(run(url, a.count, a.rounds, a.board, binary))
    finally:
        if up is not None:
            up.stop()
    print(json.dumps(res, default=_np_default) if a.json else _report(res))
    return 0


def _np_default(v: Any) -> Any:
    if isinstance(v, (np.generic,)):
        return v.item()
    raise TypeError(type(v).__name__)


if __name__ == "__main__":
    sys.exit(main())
