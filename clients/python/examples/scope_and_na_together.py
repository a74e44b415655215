"""The asyncio requirements' first example: in each of n iterations, ask
the scope and the network analyzer for one curve *at the same time*, and
when both are ready add them up, then go on to the next iteration.

    python scope_and_na_together.py [nats://127.0.0.1:4222] [n]

The original curves had 100 points each; here the scope trace (16384
samples) is averaged down to the network analyzer's POINTS points so that
the two can be summed as in the original ``return c1 + c2``.
"""

import asyncio
import os
import sys

import numpy as np

import rpbus

POINTS = 128  # divides 16384


async def my_coroutine(board: rpbus.Board, n: int) -> np.ndarray:
    c1 = np.zeros(POINTS)
    c2 = np.zeros(POINTS)
    for i in range(n):
        print("launching f")
        f = asyncio.ensure_future(board.scope.single(decimation=64, input1="in1"))
        print("launching g")
        g = asyncio.ensure_future(board.na.single(start_freq=100e3, stop_freq=10e6, points=POINTS, rbw=10e3))
        print("=======")
        trace = await f
        c1 += np.abs(trace.ch1).reshape(POINTS, -1).mean(axis=1)
        sweep = await g
        c2 += np.abs(sweep.response)
        print("f returned")
        print("g returned")
        # Both ran at once: their hardware times overlap.
        overlap = min(trace.ended, sweep.ended) - max(trace.started, sweep.started)
        print(f"iteration {i}: scope and na overlapped for {overlap * 1e3:.1f} ms")
    return c1 + c2


async def main(url: str, n: int) -> None:
    async with await rpbus.connect(url) as rp:
        board = rp.board("sim")
        p = asyncio.ensure_future(my_coroutine(board, n))
        total = await p
        print(f"sum of {n} scope and {n} na curves: {total.shape[0]} points, max {total.max():.3f}")


if __name__ == "__main__":
    url = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("RPBUS_URL", "nats://127.0.0.1:4222")
    asyncio.run(main(url, int(sys.argv[2]) if len(sys.argv) > 2 else 3))
