"""Connect, take one scope trace, print what came back.

    rpbus up &                      # NATS on 127.0.0.1:4222, board "sim"
    python quickstart.py [nats://127.0.0.1:4222]
"""

import asyncio
import os
import sys

import numpy as np

import rpbus


async def main(url: str) -> None:
    async with await rpbus.connect(url) as rp:
        board = rp.board("sim")
        # Generator 0 plays 1 MHz on out1; the scope looks at out1 and in1
        # (the simulated DUT: a resonance at 1 MHz between out1 and in1).
        await board.asg0.setup(waveform="sin", frequency=1e6, amplitude=0.5, output_direct="out1", trigger_source="immediately")
        trace = await board.scope.single(duration=1e-3, trigger_source="immediately", input1="out1", input2="in1")
        print(f"trace {trace.id}: {trace.ch1.size} samples per channel, dt {trace.dt * 1e9:.0f} ns, "
              f"decimation {trace.settings.decimation}")
        print(f"out1 rms {np.sqrt(np.mean(np.square(trace.ch1))):.3f} V, in1 rms {np.sqrt(np.mean(np.square(trace.ch2))):.3f} V")
        print(f"times {trace.times[0]:.3g} .. {trace.times[-1]:.3g} s")
        await board.asg0.setup(output_direct="off")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("RPBUS_URL", "nats://127.0.0.1:4222")))
