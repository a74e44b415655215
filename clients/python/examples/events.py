"""Events as async iterators: network analyzer progress, scope done
events, continuous scope traces with sequence numbers, and cancelling an
acquisition by cancelling its asyncio task.

    python events.py [nats://127.0.0.1:4222]
"""

import asyncio
import os
import sys

import rpbus


async def main(url: str) -> None:
    async with await rpbus.connect(url) as rp:
        board = rp.board("sim")

        # Progress of a sweep while it runs, then its done event.
        sweep_id = "example-sweep"  # our own id: other clients' sweeps publish here too
        async with board.na.progress(id=sweep_id) as progress, board.na.done(id=sweep_id, count=1) as done:
            sweep = asyncio.ensure_future(
                board.na.single(start_freq=500e3, stop_freq=2e6, points=201, rbw=2e3, id=sweep_id)
            )
            # Progress comes periodically; until() ends the loop once the
            # sweep has answered.
            async for p in progress.until(sweep):
                print(f"na {p.id}: {p.done}/{p.total} points, {p.frequency / 1e6:.3f} MHz")
            result = await sweep
            ev = await done.next(timeout=10)
            print(f"na done event for {ev.id} (the reply's id: {result.id})")

        # Continuous mode: traces keep coming with seq 1, 2, 3, ...
        async with board.scope.running(decimation=1, count=5) as traces:
            async for tr in traces:
                print(f"continuous trace seq {tr.seq}: {tr.ch1.size} samples")

        # Cancelling the task cancels the acquisition on the service.
        long = asyncio.ensure_future(board.scope.single(decimation=1024, trace_average=100))
        await asyncio.sleep(0.3)
        long.cancel()
        try:
            await long
        except asyncio.CancelledError:
            print("cancelled the 13 s acquisition after 0.3 s")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("RPBUS_URL", "nats://127.0.0.1:4222")))
