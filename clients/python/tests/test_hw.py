"""The hardware bridge through the Python client: hw.info, hw.txn,
hw.cancel, the generators, errors and cancellation."""

from __future__ import annotations

import asyncio
import logging

import numpy as np
import pytest

import rpbus
from rpbus import read, wait, write

SCOPE = 0x40100000
THRESHOLD = SCOPE + 0x08  # scope ch1 threshold, 14 bit: a harmless scratch register
HYSTERESIS = SCOPE + 0x20
CONTROL = SCOPE + 0x00
NEVER = 1 << 31  # a control bit that never reads 1


async def test_info(board: rpbus.Board) -> None:
    info = await board.info()
    assert isinstance(info, rpbus.HWInfo)
    assert info.board == "sim" and info.backend == "sim"
    assert info.clock == 125e6
    assert info.scope_samples == 16384
    assert info.decimations == [1 << k for k in range(17)]
    assert {"scope", "asg", "iq0"} <= set(info.modules)
    assert info.generators == ["asg0", "asg1"]
    assert isinstance(info.sim_model, dict)
    assert info.design is not None and info.design.name == "PyRPL"


async def test_txn_write_read_round_trip(board: rpbus.Board) -> None:
    r = await board.hw.txn(write(THRESHOLD, 1234), write(HYSTERESIS, 56), read(THRESHOLD, 1), read(HYSTERESIS, 1))
    assert r.modules == ["scope"]
    assert len(r.results) == 4
    assert r.results[2].words.dtype == np.dtype("<u4")
    assert r.results[2].words.tolist() == [1234]
    assert r.results[3].words.tolist() == [56]
    words = await board.hw.read(THRESHOLD, 1)
    assert words.tolist() == [1234]
    await board.hw.write(THRESHOLD, 0)
    assert (await board.hw.read(THRESHOLD)).tolist() == [0]


async def test_16_bit_read_holds_the_low_halves(board: rpbus.Board) -> None:
    buf = SCOPE + 0x10000  # scope ch1 buffer: 14-bit samples in 32-bit words
    r = await board.hw.txn(read(buf, 16384), read(buf, 16384, width=16))
    assert r.results[1].halves.dtype == np.dtype("<u2")
    assert (r.results[0].words & 0xFFFF).tolist() == r.results[1].halves.tolist()
    assert r.started > 0 and r.elapsed >= 0


async def test_wait_op_reports_time_waited(board: rpbus.Board) -> None:
    await board.hw.write(THRESHOLD, 7)
    r = await board.hw.txn(wait(THRESHOLD, 0xFFFF, 7, timeout=1.0))
    assert 0 <= r.results[0].waited < 1.0


async def test_wait_timeout_is_408(board: rpbus.Board) -> None:
    with pytest.raises(rpbus.RequestTimeoutError) as ei:
        await board.hw.txn(wait(CONTROL, NEVER, NEVER, timeout=0.05))
    e = ei.value
    assert e.code == 408 and e.name == "timeout"
    assert isinstance(e, TimeoutError)  # the builtin, so generic handlers catch it
    assert "ops[0]" in e.message
    assert e.subject == "rp.sim.hw.txn"


async def test_bad_op_is_400_naming_the_field(board: rpbus.Board) -> None:
    with pytest.raises(rpbus.InvalidError) as ei:
        await board.hw.txn({"op": "reed", "addr": SCOPE, "n": 1})
    assert ei.value.code == 400
    assert "ops[0].op" in ei.value.message
    assert isinstance(ei.value, ValueError)
    with pytest.raises(rpbus.InvalidError, match="n"):
        await board.hw.txn(read(SCOPE, 0))


async def test_unknown_board_is_404(rp: rpbus.Client) -> None:
    with pytest.raises(rpbus.NotFoundError) as ei:
        await rp.board("nosuchboard").info()
    assert ei.value.code == 404
    assert ei.value.subject == "rp.nosuchboard.hw.info"


async def test_bad_board_name_is_rejected_locally(rp: rpbus.Client) -> None:
    with pytest.raises(rpbus.InvalidError, match="board name"):
        rp.board("a.b")


async def test_generator_setup(board: rpbus.Board) -> None:
    s = await board.asg0.setup(waveform="sin", frequency=1e6, amplitude=0.5, offset=0.0, output_direct="off")
    assert isinstance(s, rpbus.ASGSettings)
    assert s.generator == "asg0" and s.waveform == "sin"
    assert s.frequency == pytest.approx(1e6, rel=1e-6)  # rounded to the 125 MHz / 2^30 step
    assert s.amplitude == pytest.approx(0.5, abs=2**-13)
    # Absent fields keep their value.
    s2 = await board.asg0.setup(amplitude=0.25)
    assert s2.frequency == s.frequency and s2.amplitude == pytest.approx(0.25, abs=2**-13)
    with pytest.raises(rpbus.InvalidError, match="amplitude"):
        await board.asg1.setup(amplitude=2.0)
    with pytest.raises(rpbus.InvalidError, match="waveform"):
        await board.asg1.setup(waveform="triangle")


async def _held(board: rpbus.Board, attempts: int = 20) -> bool:
    """Whether a transaction holds the scope module: a read of it then
    queues past a short client timeout."""
    for _ in range(attempts):
        try:
            await board.hw.txn(read(THRESHOLD), timeout=0.3)
        except rpbus.RequestTimeoutError:
            return True
        await asyncio.sleep(0.02)
    return False


async def test_cancelling_the_task_cancels_the_transaction_on_the_bridge(
    rp: rpbus.Client, board: rpbus.Board, caplog: pytest.LogCaptureFixture
) -> None:
    # A wait that would hold the scope module for 30 s.
    task = asyncio.create_task(board.hw.txn(wait(CONTROL, NEVER, NEVER, timeout=30.0), id="py-test-hold"))
    assert await _held(board)
    with caplog.at_level(logging.DEBUG, logger="rpbus"):
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await rp.wait_cancels()
    assert "abandoned request py-test-hold answered 499 cancelled" in [r.getMessage() for r in caplog.records]
    # The module is free again well before the 30 s wait would end.
    async with asyncio.timeout(5):
        r = await board.hw.txn(read(THRESHOLD), timeout=5)
    assert r.modules == ["scope"]
    # And the bridge no longer knows the transaction.
    assert (await board.hw.cancel("py-test-hold")).cancelled is False


async def test_client_timeout_cancels_on_the_bridge(board: rpbus.Board) -> None:
    with pytest.raises(rpbus.RequestTimeoutError, match="no reply within"):
        await board.hw.txn(wait(CONTROL, NEVER, NEVER, timeout=30.0), timeout=0.2)
    await board.client.wait_cancels()
    async with asyncio.timeout(5):
        await board.hw.read(THRESHOLD)


async def test_many_concurrent_requests(board: rpbus.Board) -> None:
    await board.hw.write(THRESHOLD, 99)
    rs = await asyncio.gather(*(board.hw.read(THRESHOLD) for _ in range(200)))
    assert all(r.tolist() == [99] for r in rs)
