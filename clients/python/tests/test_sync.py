"""The blocking facade, rpbus.sync / rpbus.connect_sync, with real asyncio:
in a script it blocks and returns results; inside a running event loop (a
Jupyter cell, a coroutine) it never blocks the loop and says clearly what
to do instead; from its own loop it refuses at once."""

from __future__ import annotations

import asyncio
import threading

import pytest

import rpbus


def test_a_script_blocks_and_gets_results(rpbus_url: str) -> None:
    with rpbus.connect_sync(rpbus_url) as rp:
        board = rp.board("sim")
        assert board.info().board == "sim"
        applied = board.asg0.setup(waveform="sin", frequency=1e6, amplitude=0.2, output_direct="off")
        assert applied.frequency == pytest.approx(1e6, rel=1e-6)
        tr = board.scope.single(duration=1e-3, input1="asg0")
        assert len(tr.ch1) == 16384 and 0.15 < float(tr.ch1.max()) < 0.25
        with board.scope.done(count=1) as done:
            board.scope.single(id="sync-done")
            assert [ev.id for ev in done] == ["sync-done"]
        with pytest.raises(rpbus.InvalidError, match="rbw"):
            board.na.single(rbw=-5)
    with pytest.raises(rpbus.UnavailableError, match="connection refused"):
        rpbus.sync.connect("nats://127.0.0.1:1")


async def test_inside_a_running_loop_it_never_blocks(rpbus_url: str) -> None:
    # As a Jupyter cell: code that runs while the kernel's loop runs.
    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    beat = asyncio.ensure_future(heartbeat())
    try:
        pending = rpbus.connect_sync(rpbus_url)
        assert isinstance(pending, rpbus.sync.Pending)
        rp = await pending
        board = rp.board("sim")
        call = board.scope.single(duration=0.2)  # 0.2 s of acquisition (decimation 256)
        assert isinstance(call, rpbus.sync.Pending) and "await" in repr(call)
        with pytest.raises(RuntimeError, match="await its result"):
            call.ch1  # noqa: B018: using the result without await
        before = ticks
        tr = await call
        assert len(tr.ch1) == 16384
        # A loop blocked by the call would not tick at all; a loaded
        # machine may wake a 5 ms sleep late, so a few ticks are enough.
        assert ticks - before >= 3, f"the loop ticked {ticks - before} times during a 0.2 s acquisition"
        await asyncio.to_thread(rp.close)  # close() blocks: from a thread
    finally:
        beat.cancel()


def test_from_its_own_loop_it_refuses(rpbus_url: str) -> None:
    rp = rpbus.connect_sync(rpbus_url)
    try:
        board = rp.board("sim")
        got: list[BaseException] = []
        done = threading.Event()

        def inside() -> None:
            try:
                board.info()
            except BaseException as e:  # noqa: BLE001
                got.append(e)
            done.set()

        rp._runner.loop.call_soon_threadsafe(inside)
        assert done.wait(5)
        assert isinstance(got[0], RuntimeError) and "own event loop" in str(got[0])
        assert board.info().board == "sim"  # the facade still works
    finally:
        rp.close()
