"""The asyncio requirements' second example: a spectrum analyzer whose
``run_single(avg)`` awaits ``avg`` scope curves in a plain loop and
averages their spectra, sent to the event loop with ``ensure_future``.

    python specan_average.py [nats://127.0.0.1:4222]

It then asks the rpbus spectrum analyzer service for the same (10 traces
power-averaged on the service) and compares where the two find the tone.
"""

import asyncio
import os
import sys

import numpy as np

import rpbus

TONE = 1e6  # Hz, asg0 on out1
DECIMATION = 8  # 15.625 MHz sample rate


class SpecAn:
    """Averages the power spectra of ``avg`` scope traces (Vpk^2 per bin,
    Blackman window)."""

    def __init__(self, scope: rpbus.Scope) -> None:
        self.scope = scope

    async def run_single(self, avg: int) -> tuple[np.ndarray, np.ndarray]:
        n = 16384
        w = np.blackman(n)
        y = np.zeros(n // 2 + 1)
        dt = 0.0
        for _ in range(avg):
            trace = await self.scope.single(decimation=DECIMATION, input1="out1")
            dt = trace.dt
            y += np.abs(np.fft.rfft(trace.ch1 * w) / w.sum() * 2) ** 2
        return np.fft.rfftfreq(n, dt), y / avg


async def main(url: str) -> None:
    async with await rpbus.connect(url) as rp:
        board = rp.board("sim")
        await board.asg0.setup(waveform="sin", frequency=TONE, amplitude=0.5, output_direct="out1", trigger_source="immediately")
        sa = SpecAn(board.scope)
        v = asyncio.ensure_future(sa.run_single(10))  # a future, as in the requirements
        f, y = await v
        k = int(np.argmax(y[1:])) + 1
        print(f"client-side average of 10 scope curves: peak at {f[k] / 1e6:.4f} MHz, {np.sqrt(y[k]):.3f} Vpk")

        spec = await board.specan.single(decimation=DECIMATION, trace_average=10, input1="out1")
        k = int(np.argmax(spec.ch1[1:])) + 1
        print(f"specan service, {spec.traces} traces averaged: peak at {spec.frequencies[k] / 1e6:.4f} MHz, "
              f"{np.sqrt(spec.ch1[k]):.3f} Vpk ({spec.settings.unit}, {spec.settings.window} window)")
        await board.asg0.setup(output_direct="off")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("RPBUS_URL", "nats://127.0.0.1:4222")))
